"""The keyed audit chain: intact chains verify, any edited, deleted or forged row is named by verify, and an edit
whose chain is recomputed without the key (plain SHA-256, or HMAC under another key) is caught."""

from __future__ import annotations

import asyncio
import base64

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audit import cli, keys, trail
from audit.models import AuditEvent


async def _fill(sessions: async_sessionmaker[AsyncSession], count: int) -> None:
    for index in range(count):
        await trail.record(sessions, actor="chef.un", action="test.action", target=f"t{index}",
                           details={"n": index, "texte": "évènement"})


async def test_intact_chain_verifies(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Entries appended one after the other verify; an empty log verifies too."""
    assert (await trail.verify(sessions)).broken_at is None
    await _fill(sessions, 5)
    result = await trail.verify(sessions)
    assert result.broken_at is None and result.checked == 5


async def test_concurrent_writers_keep_one_chain(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Twenty entries written at once still form one dense, valid chain."""
    await asyncio.gather(*(trail.record(sessions, actor="system", action="test.burst", target=str(i))
                           for i in range(20)))
    result = await trail.verify(sessions)
    assert result.broken_at is None and result.checked == 20


async def test_record_inside_a_transaction_rolls_back_with_it(sessions: async_sessionmaker[AsyncSession]) -> None:
    """An entry written in the caller's transaction disappears if that transaction fails."""
    with pytest.raises(RuntimeError):
        async with sessions.begin() as session:
            await trail.record(session, actor="chef.un", action="test.rollback")
            raise RuntimeError("the action failed")
    async with sessions() as session:
        assert await session.scalar(select(AuditEvent.seq)) is None


@pytest.mark.parametrize("tamper", ["details", "actor", "delete"])
async def test_tampering_is_named(sessions: async_sessionmaker[AsyncSession], tamper: str) -> None:
    """Editing the details or the actor of entry 3, or deleting it, makes verify fail at entry 3."""
    await _fill(sessions, 6)
    async with sessions.begin() as session:
        if tamper == "delete":
            await session.execute(delete(AuditEvent).where(AuditEvent.seq == 3))
        else:
            await session.execute(update(AuditEvent).where(AuditEvent.seq == 3).values({tamper: "falsifié"}))
    result = await trail.verify(sessions)
    expected = 4 if tamper == "delete" else 3  # a deleted entry is noticed at the one that should follow it
    assert result.broken_at == expected and result.checked == 2


async def test_recomputed_link_without_the_key_is_caught(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Someone who edits entry 2 and recomputes its link is caught at entry 3, whose link no longer matches."""
    await _fill(sessions, 4)
    async with sessions.begin() as session:
        row = await session.get(AuditEvent, 2)
        assert row is not None
        row.details = '{"n":99}'
        row.hash = trail.legacy_hash(row.seq, row.at, row.actor, row.action, row.target, row.details, row.prev_hash)
    result = await trail.verify(sessions)
    assert result.broken_at == 2 and "MAC" in result.reason


@pytest.mark.parametrize("forger_key", [None, b"k" * 32], ids=["plain-sha256", "another-key"])
async def test_edit_and_rechain_everything_after_it_fails(sessions: async_sessionmaker[AsyncSession],
                                                          forger_key: bytes | None) -> None:
    """The database administrator's attack: edit entry 3, then recompute the whole chain from it to the head — with
    plain SHA-256 (what the old chain was) or with a key of their own. Links are consistent, MACs are not."""
    await _fill(sessions, 6)
    async with sessions.begin() as session:
        rows = list(await session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
        rows[2].details = '{"n":2,"texte":"rien de grave"}'
        prev = rows[1].hash
        for row in rows[2:]:
            fields = (row.seq, row.at, row.actor, row.action, row.target, row.details, prev)
            row.prev_hash = prev
            row.hash = trail.legacy_hash(*fields) if forger_key is None else trail.entry_mac(forger_key, *fields)
            prev = row.hash
            await session.flush()
    result = await trail.verify(sessions)
    assert result.broken_at == 3 and result.checked == 2 and "MAC" in result.reason


async def test_the_key_is_needed(sessions: async_sessionmaker[AsyncSession]) -> None:
    """A session factory without the key cannot append (nor verify): the chain is never written unkeyed."""
    from chat.db import session_factory

    bare = session_factory(sessions.kw["bind"])
    with pytest.raises(RuntimeError, match="audit key"):
        await trail.record(bare, actor="chef.un", action="test.unkeyed")
    with pytest.raises(RuntimeError, match="audit key"):
        await trail.verify(bare)
    assert keys.of_factory(sessions) == keys.TEST_KEY


def test_production_requires_the_key() -> None:
    """PNAV_AUDIT_KEY is required in production and must be 32 bytes; the test environment's key is fixed."""
    from chat.settings import ConfigurationError, Settings

    with pytest.raises(ConfigurationError, match="PNAV_AUDIT_KEY is required"):
        keys.load(Settings(environment="production", secret_key="s" * 40))
    with pytest.raises(ConfigurationError, match="32 bytes"):
        keys.load(Settings(environment="production", extra={"PNAV_AUDIT_KEY": "short"}))
    good = base64.urlsafe_b64encode(b"a" * 32).decode()
    assert keys.load(Settings(environment="production", extra={"PNAV_AUDIT_KEY": good})) == b"a" * 32
    assert keys.load(Settings(environment="test")) == keys.TEST_KEY


async def test_cli_verify_names_the_broken_entry(sessions: async_sessionmaker[AsyncSession], db_url: str,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """``pnav audit verify`` exits 0 on an intact log and 1 naming the entry after tampering."""
    await _fill(sessions, 3)
    monkeypatch.setenv("PNAV_DATABASE_URL", db_url)
    assert await asyncio.to_thread(cli.main_audit, ["verify"]) == 0
    assert "3 entries" in capsys.readouterr().out
    async with sessions.begin() as session:
        await session.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(target="autre"))
    assert await asyncio.to_thread(cli.main_audit, ["verify"]) == 1
    assert "broken at entry 2" in capsys.readouterr().err
