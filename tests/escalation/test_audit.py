"""The hash-chained audit log: intact chains verify, any edited, deleted or forged row is named by verify."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from escalation import audit, cli
from escalation.models import AuditEvent


async def _fill(sessions: async_sessionmaker[AsyncSession], count: int) -> None:
    for index in range(count):
        await audit.record(sessions, actor="chef.un", action="test.action", target=f"t{index}",
                           details={"n": index, "texte": "évènement"})


async def test_intact_chain_verifies(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Entries appended one after the other verify; an empty log verifies too."""
    assert (await audit.verify(sessions)).broken_at is None
    await _fill(sessions, 5)
    result = await audit.verify(sessions)
    assert result.broken_at is None and result.checked == 5


async def test_concurrent_writers_keep_one_chain(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Twenty entries written at once still form one dense, valid chain."""
    await asyncio.gather(*(audit.record(sessions, actor="system", action="test.burst", target=str(i))
                           for i in range(20)))
    result = await audit.verify(sessions)
    assert result.broken_at is None and result.checked == 20


async def test_record_inside_a_transaction_rolls_back_with_it(sessions: async_sessionmaker[AsyncSession]) -> None:
    """An entry written in the caller's transaction disappears if that transaction fails."""
    with pytest.raises(RuntimeError):
        async with sessions.begin() as session:
            await audit.record(session, actor="chef.un", action="test.rollback")
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
    result = await audit.verify(sessions)
    expected = 4 if tamper == "delete" else 3  # a deleted entry is noticed at the one that should follow it
    assert result.broken_at == expected and result.checked == 2


async def test_recomputed_hash_still_breaks_the_next_entry(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Someone who edits entry 2 and recomputes its hash is caught at entry 3, whose link no longer matches."""
    await _fill(sessions, 4)
    async with sessions.begin() as session:
        row = await session.get(AuditEvent, 2)
        assert row is not None
        row.details = '{"n":99}'
        row.hash = audit.entry_hash(row.seq, row.at, row.actor, row.action, row.target, row.details, row.prev_hash)
    result = await audit.verify(sessions)
    assert result.broken_at == 3 and "previous" in result.reason


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
