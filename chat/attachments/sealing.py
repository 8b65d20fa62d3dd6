"""Attachments at rest: AES-256-GCM under the configured key, bound to their row and kind.

The associated data names the attachment and whether it is the original or the preview: a ciphertext copied to
another row, or an original passed off as a preview, does not decrypt.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = b"\x01"
_NONCE = 12


class UnsealFailed(Exception):
    """Wrong key, or a ciphertext that was altered or moved to another row."""


def _context(attachment_id: str, kind: str) -> bytes:
    return f"pnav attachment {attachment_id} {kind}".encode()


def seal(key: bytes, plaintext: bytes, attachment_id: str, kind: str) -> bytes:
    nonce = os.urandom(_NONCE)
    return VERSION + nonce + AESGCM(key).encrypt(nonce, plaintext, _context(attachment_id, kind))


def unseal(key: bytes, blob: bytes, attachment_id: str, kind: str) -> bytes:
    if blob[:1] != VERSION or len(blob) < 1 + _NONCE + 16:
        raise UnsealFailed("unknown format")
    try:
        return AESGCM(key).decrypt(blob[1:1 + _NONCE], blob[1 + _NONCE:], _context(attachment_id, kind))
    except InvalidTag:
        raise UnsealFailed("this key does not open this attachment") from None
