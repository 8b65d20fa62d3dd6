"""``audit_0001`` re-keys an existing SHA-256 chain once (after checking it), records the old head, and refuses to
re-key a chain that is already broken; its downgrade gives back the plain chain."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import asyncpg
import pytest
from alembic import command
from sqlalchemy import insert, select, update

from audit import keys, trail
from audit.models import AuditEvent
from chat.db import create_cli_engine, session_factory, utcnow
from pnav.migrate import alembic_config, upgrade_async


async def _fresh(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'old.sqlite3'}"
    base: str = request.getfixturevalue("postgres_url")
    connection = await asyncpg.connect(base.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await connection.execute("DROP DATABASE IF EXISTS pnav_rekey WITH (FORCE)")
        await connection.execute("CREATE DATABASE pnav_rekey")
    finally:
        await connection.close()
    return base.rsplit("/", 1)[0] + "/pnav_rekey"


@pytest.fixture(params=["sqlite", "postgresql"])
async def old_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database at the schema before ``audit_0001`` holding five entries of the old, unkeyed chain."""
    url = await _fresh(request, tmp_path)
    config = alembic_config(url)
    for target in ("core@head", "operators@head", "escalation@head"):
        await asyncio.to_thread(command.upgrade, config, target)
    engine = create_cli_engine(url)
    try:
        async with engine.begin() as connection:
            prev = trail.GENESIS
            for seq in range(1, 6):
                at, details = utcnow(), trail.canonical({"n": seq})
                link = trail.legacy_hash(seq, at, "chef.un", "test.old", f"t{seq}", details, prev)
                await connection.execute(insert(AuditEvent).values(seq=seq, at=at, actor="chef.un", action="test.old",
                                                                   target=f"t{seq}", details=details, prev_hash=prev,
                                                                   hash=link))
                prev = link
    finally:
        await engine.dispose()
    return url


async def test_old_chain_is_rekeyed_once(old_database: str) -> None:
    engine = create_cli_engine(old_database)
    sessions = keys.bind(session_factory(engine), keys.TEST_KEY)
    try:
        async with sessions() as session:
            legacy_head = await session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == 5))
        assert (await trail.verify(sessions)).broken_at == 1  # unkeyed: not a valid chain any more
        assert "audit_0001" in await upgrade_async(old_database)
        result = await trail.verify(sessions)
        assert result.broken_at is None and result.checked == 6
        async with sessions() as session:
            last = await session.get(AuditEvent, 6)
        assert last is not None and last.action == "audit.rekeyed" and last.actor == "migration"
        assert json.loads(last.details) == {"entries": 5, "legacy_head": legacy_head}
        await trail.record(sessions, actor="chef.un", action="test.new")
        assert (await trail.verify(sessions)).checked == 7
        await asyncio.to_thread(command.downgrade, alembic_config(old_database), "audit@base")
        async with sessions() as session:
            assert await session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == 5)) == legacy_head
    finally:
        await engine.dispose()


@pytest.mark.parametrize("old_database", ["sqlite"], indirect=True)
async def test_a_broken_old_chain_is_not_rekeyed(old_database: str) -> None:
    """Re-keying a tampered chain would launder it: the migration stops and names the entry."""
    engine = create_cli_engine(old_database)
    try:
        async with engine.begin() as connection:
            await connection.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(target="autre"))
    finally:
        await engine.dispose()
    with pytest.raises(RuntimeError, match="already broken at entry 3"):
        await upgrade_async(old_database)
