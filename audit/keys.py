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

import hashlib

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat.settings import VAR_DIR, Settings, key_setting

INFO_KEY = "pnav.audit_key"
DEV_KEY = VAR_DIR / "dev-audit.key"
TEST_KEY = hashlib.sha256(b"pnav test audit key: never used outside PNAV_ENV=test").digest()


def load(settings: Settings) -> bytes:
    """The 32-byte key: ``PNAV_AUDIT_KEY`` (URL-safe base64), required in production."""
    return key_setting(settings, "PNAV_AUDIT_KEY", dev_file=DEV_KEY, test_key=TEST_KEY,
                       production_hint=" — keep a copy off the database host")


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
