"""Encryption at rest: contact details under a server key (AES-256-GCM), addresses sealed to an offline X25519 key.

Sealing is ECIES: an ephemeral X25519 key agrees a secret with the offline public key, HKDF-SHA256 derives an
AES-256-GCM key, and the ciphertext carries the ephemeral public key. The server only ever holds the public key,
so neither the server nor anyone with its database and configuration can open a sealed address.
Both schemes bind the ciphertext to its row (``context`` as associated data): a value copied to another row fails.
"""

from __future__ import annotations

import functools
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

CONTACT_VERSION = b"\x01"
SEAL_VERSION = b"\x01"
_NONCE = 12
_X25519 = 32
_SEAL_INFO = b"pnav sealed identity v1"


class DecryptionFailed(Exception):
    """Wrong key, or a ciphertext that was altered or moved to another row."""


def encrypt_contact(key: bytes, plaintext: bytes, context: str) -> bytes:
    nonce = os.urandom(_NONCE)
    return CONTACT_VERSION + nonce + AESGCM(key).encrypt(nonce, plaintext, context.encode())


def decrypt_contact(key: bytes, blob: bytes, context: str) -> bytes:
    if blob[:1] != CONTACT_VERSION:
        raise DecryptionFailed("unknown format")
    nonce, body = blob[1:1 + _NONCE], blob[1 + _NONCE:]
    try:
        return AESGCM(key).decrypt(nonce, body, context.encode())
    except InvalidTag:
        raise DecryptionFailed("contact details cannot be decrypted with this key") from None


def generate_keypair() -> tuple[bytes, bytes]:
    """A new sealing key pair as (private PEM, public PEM)."""
    private = X25519PrivateKey.generate()
    private_pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
    public_pem = private.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    return private_pem, public_pem


@functools.lru_cache(maxsize=8)  # the same configured key at every connection: parse the PEM once
def load_public_key(pem: bytes) -> X25519PublicKey:
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, X25519PublicKey):
        raise ValueError("not an X25519 public key")
    return key


def load_private_key(pem: bytes) -> X25519PrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, X25519PrivateKey):
        raise ValueError("not an X25519 private key")
    return key


@functools.lru_cache(maxsize=8)
def key_id(public_pem: bytes) -> str:
    """A short fingerprint of the public key, stored with each sealed value to tell which key opens it."""
    raw = load_public_key(public_pem).public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _derive(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=ephemeral + recipient, info=_SEAL_INFO).derive(shared)


def seal(public_pem: bytes, plaintext: bytes, context: str) -> bytes:
    recipient = load_public_key(public_pem)
    ephemeral = X25519PrivateKey.generate()
    ephemeral_raw = ephemeral.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    recipient_raw = recipient.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    key = _derive(ephemeral.exchange(recipient), ephemeral_raw, recipient_raw)
    nonce = os.urandom(_NONCE)
    return SEAL_VERSION + ephemeral_raw + nonce + AESGCM(key).encrypt(nonce, plaintext, context.encode())


def unseal(private_pem: bytes, blob: bytes, context: str) -> bytes:
    if blob[:1] != SEAL_VERSION or len(blob) < 1 + _X25519 + _NONCE + 16:
        raise DecryptionFailed("unknown format")
    private = load_private_key(private_pem)
    ephemeral_raw = blob[1:1 + _X25519]
    nonce = blob[1 + _X25519:1 + _X25519 + _NONCE]
    body = blob[1 + _X25519 + _NONCE:]
    recipient_raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    shared = private.exchange(X25519PublicKey.from_public_bytes(ephemeral_raw))
    try:
        return AESGCM(_derive(shared, ephemeral_raw, recipient_raw)).decrypt(nonce, body, context.encode())
    except InvalidTag:
        raise DecryptionFailed("this private key does not open this sealed value") from None
