"""Attachment settings, read once from ``Settings.extra`` (``PNAV_ATTACHMENT…``): the sealing key and the limits.

Production refuses to start without ``PNAV_ATTACHMENT_KEY`` (checked when the lifespan has opened the state, like the
escalation secrets); development generates one under the var directory; the test environment uses a fixed key, so
that every test server of a run (several processes on one database) opens what another sealed.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass, field

from chat.settings import VAR_DIR, ConfigurationError, Settings, key_setting
from chat.state import ChatState

log = logging.getLogger("pnav.attachments")

EXTENSION = "chat.attachments"
DEV_KEY = VAR_DIR / "dev-attachment.key"
_TEST_KEY = hashlib.sha256(b"pnav test attachment key: never used outside PNAV_ENV=test").digest()

# 10 MiB per file: a phone screenshot weighs 0.2–3 MB, a 12–48 MP photo 3–8 MB as JPEG, a PDF of a few scanned pages
# a few MB; past that it is a video or an archive, which a tchat is not the place for. nginx allows this much (plus
# the form's envelope) on the upload paths only (deploy/nginx.conf).
MAX_BYTES = 10 * 1024 * 1024
# 30 files per tchat (files added from /suivi included): a person harassed online may bring dozens of screenshots;
# 30 covers a long thread while one tchat cannot become a file store (30 × 10 MiB at most).
FILES_PER_TCHAT = 30
# 50 million pixels: the largest phone cameras make 48–50 MP photos; a decoded image costs 3–4 bytes a pixel, so this
# bounds one decode to about 200 MB. A 20,000 × 20,000 "decompression bomb" (400 MP from a few hundred KB of PNG)
# is refused from its header, before anything is decoded.
MAX_PIXELS = 50_000_000
# 20 uploads a minute per source address: a person choosing twenty screenshots at once sends them in a row; a script
# filling the database is stopped after 20 and gets one more every 3 s.
UPLOADS_PER_MINUTE = 20
# Uploads read at the same time by one process: each holds up to MAX_BYTES in memory while it arrives (the bytes are
# never spooled to disk in clear), so 16 bound that memory to 160 MiB; the 17th is asked to retry in a moment.
CONCURRENT_UPLOADS = 16
# Images decoded at the same time by one process: one decode may take ~200 MB (see MAX_PIXELS) and a core for a
# second; one at a time keeps a burst of large photos from exhausting the machine, the others wait their turn.
CONCURRENT_DECODES = 1


@dataclass
class AttachmentConfig:
    key: bytes = field(repr=False)  # never in a repr (tracebacks, debug logs)
    max_bytes: int = MAX_BYTES
    files_per_tchat: int = FILES_PER_TCHAT
    max_pixels: int = MAX_PIXELS
    uploads_per_minute: int = UPLOADS_PER_MINUTE
    # Per-process gates, made once in the process's event loop (see CONCURRENT_UPLOADS and CONCURRENT_DECODES).
    reading: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(CONCURRENT_UPLOADS), repr=False)
    decoding: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(CONCURRENT_DECODES), repr=False)


def _key(settings: Settings) -> bytes:
    return key_setting(settings, "PNAV_ATTACHMENT_KEY", dev_file=DEV_KEY, test_key=_TEST_KEY)


def _count(settings: Settings, name: str, default: int, *, zero_allowed: bool = False) -> int:
    raw = settings.extra.get(name, "")
    if not raw:
        return default
    if not raw.isdigit() or (int(raw) == 0 and not zero_allowed):
        raise ConfigurationError(f"{name} must be a positive integer, not {raw!r}")
    return int(raw)


def load(settings: Settings) -> AttachmentConfig:
    """Read and check the attachment settings; raises ConfigurationError with a one-line reason."""
    testing = settings.environment == "test"
    return AttachmentConfig(
        key=_key(settings),
        max_bytes=_count(settings, "PNAV_ATTACHMENT_MAX_BYTES", MAX_BYTES),
        files_per_tchat=_count(settings, "PNAV_ATTACHMENTS_PER_TCHAT", FILES_PER_TCHAT),
        max_pixels=_count(settings, "PNAV_ATTACHMENT_MAX_PIXELS", MAX_PIXELS),
        # Off in the test environment (like the other per-source limits) unless a test asks for it; 0 switches off.
        uploads_per_minute=_count(settings, "PNAV_ATTACHMENTS_PER_MINUTE_PER_SOURCE", 0 if testing else
                                  UPLOADS_PER_MINUTE, zero_allowed=True),
    )


def of(state: ChatState) -> AttachmentConfig:
    """This process's configuration, loaded on first use (the start-up check loads it before any request)."""
    return state.extension(EXTENSION, lambda: load(state.settings))
