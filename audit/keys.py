"""``PNAV_AUDIT_KEY``: the key of the audit chain's HMAC, read once from the settings and bound to a session factory.

The key is what makes the chain tamper-evident against someone who can write to the database: without it, an edited
entry cannot be given a valid MAC, nor can the entries after it. It is never stored in the database. Production
refuses to start without it; development generates one under the var directory (like the other development secrets);
the test environment uses a fixed key, so that every test server and command of a run checks what another wrote.

The key travels with the session factory (``sessions.kw["info"]``, readable from any of its sessions as
``session.info``): ``trail.record(session, …)`` finds it inside the caller's transaction without a module-level
global, and two apps built in one process each keep their own.
"""

from __future__ import annotations

import base64
import hashlib
import secrets

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat.settings import VAR_DIR, ConfigurationError, Settings

INFO_KEY = "pnav.audit_key"
DEV_KEY = VAR_DIR / "dev-audit.key"
TEST_KEY = hashlib.sha256(b"pnav test audit key: never used outside PNAV_ENV=test").digest()
HINT = "python3 -c 'import base64,os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())'"


def load(settings: Settings) -> bytes:
    """The 32-byte key: ``PNAV_AUDIT_KEY`` (URL-safe base64), required in production."""
    raw = settings.extra.get("PNAV_AUDIT_KEY", "")
    if raw:
        try:
            key = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        except ValueError:
            key = b""
        if len(key) != 32:
            raise ConfigurationError(f"PNAV_AUDIT_KEY must be 32 bytes in URL-safe base64 ({HINT})")
        return key
    if settings.environment == "production":
        raise ConfigurationError("PNAV_AUDIT_KEY is required in production (32 random bytes, URL-safe base64; "
                                 "pnav escalation keygen prints one) — keep a copy off the database host")
    if settings.environment == "test":
        return TEST_KEY
    if not DEV_KEY.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        DEV_KEY.write_text(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
        DEV_KEY.chmod(0o600)
    return base64.urlsafe_b64decode(DEV_KEY.read_text().strip())


def bind(sessions: async_sessionmaker[AsyncSession], key: bytes) -> async_sessionmaker[AsyncSession]:
    """Make ``key`` the audit key of every session ``sessions`` opens; returns ``sessions``."""
    info = dict(sessions.kw.get("info") or {})
    info[INFO_KEY] = key
    sessions.configure(info=info)
    return sessions


def of_factory(sessions: async_sessionmaker[AsyncSession]) -> bytes:
    key = (sessions.kw.get("info") or {}).get(INFO_KEY)
    if not isinstance(key, bytes):
        raise RuntimeError("no audit key bound to this session factory (audit.keys.bind)")
    return key


def of(session: AsyncSession) -> bytes:
    key = session.info.get(INFO_KEY)
    if not isinstance(key, bytes):
        raise RuntimeError("no audit key bound to this session's factory (audit.keys.bind)")
    return key
