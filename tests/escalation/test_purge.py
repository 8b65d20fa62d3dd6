"""Retention: what is past its time goes, the counts reach the audit log, statistics stay."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audit.models import AuditEvent
from chat.db import utcnow
from chat.models import Conversation, Message
from chat.settings import ConfigurationError, Settings
from chat.state import ChatState
from escalation import cli, config, purge
from escalation.models import LiftingRequest, SealedIdentity, Signalement, StatusEvent
from operators import accounts
from tests.escalation.rows import CONFIG, sealed, signalement, tchat


async def test_purge_deletes_what_is_past_retention_and_keeps_statistics(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    """Old closed tchats lose their messages and token, old sealed addresses and old closed signalements' contact
    details go; recent, open and still-needed ones stay; the conversation rows keep their statistical columns."""
    old = await tchat(sessions, closed_days_ago=100)
    recent = await tchat(sessions, closed_days_ago=10)
    live = await tchat(sessions, closed_days_ago=None)
    for conversation_id in (old, recent, live):
        await sealed(sessions, conversation_id, days_ago=40)
    await sealed(sessions, recent, days_ago=1)
    held = await tchat(sessions, closed_days_ago=None)
    await sealed(sessions, held, days_ago=40)
    chief = await accounts.create(sessions, "chef.un", "x" * 16, role="supervisor", force="police")
    async with sessions.begin() as session:
        session.add(LiftingRequest(id="req1", conversation_id=held, force="police", parquet="P", magistrate="M",
                                   reference="R", authorised_at=utcnow(), filed_by=chief.account.id, state="filed"))
    old_signalement = await signalement(sessions, old, closed_days_ago=400)
    open_signalement = await signalement(sessions, recent, closed_days_ago=None)
    async with sessions.begin() as session:  # the local service's notes on steps (issue 16)
        for signalement_id in (old_signalement, open_signalement):
            session.add(StatusEvent(signalement_id=signalement_id, status="unreachable", note_ciphertext=b"sealed"))

    purged = await purge.run(sessions, CONFIG)
    # Three rows each for the closed tchats: two messages and the ``left`` event of the close.
    assert purged == purge.Purged(conversations=1, messages=3, sealed_identities=3, signalements=1)

    async with sessions() as session:
        remaining = dict((await session.execute(select(Message.conversation_id, func.count())
                                                .group_by(Message.conversation_id))).all())
        assert old not in remaining and remaining[recent] == 3 and remaining[live] == 2
        row = await session.get(Conversation, old)
        assert row is not None and row.token_hash.startswith(purge.PURGED_MARKER)
        assert (row.category, row.force, row.department, row.status, row.outcome) == (
            "domestic_violence", "police", "75", "closed", "complaint_oriented")
        still_sealed = dict((await session.execute(select(SealedIdentity.conversation_id, func.count())
                                             .group_by(SealedIdentity.conversation_id))).all())
        assert still_sealed == {recent: 1, held: 1}
        gone = await session.get(Signalement, old_signalement)
        kept = await session.get(Signalement, open_signalement)
        assert gone is not None and gone.contact_ciphertext is None and gone.summary == "" and gone.purged_at
        assert gone.followup_hash is None and gone.category == "domestic_violence"
        assert kept is not None and kept.contact_ciphertext is not None
        notes = dict((await session.execute(select(StatusEvent.signalement_id, StatusEvent.note_ciphertext)
                                            .where(StatusEvent.status == "unreachable"))).all())
        assert notes == {old_signalement: None, open_signalement: b"sealed"}
        entry = await session.scalar(select(AuditEvent).where(AuditEvent.action == "retention.purge"))
        assert entry is not None and json.loads(entry.details)["messages"] == 3

    again = await purge.run(sessions, CONFIG)
    assert again == purge.Purged(0, 0, 0, 0)


async def test_purge_command(sessions: async_sessionmaker[AsyncSession], db_url: str,
                             monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """``pnav purge`` runs one pass with the configured retention and prints the counts."""
    await tchat(sessions, closed_days_ago=10)
    monkeypatch.setenv("PNAV_DATABASE_URL", db_url)
    monkeypatch.setenv("PNAV_ENV", "test")
    monkeypatch.setenv("PNAV_RETENTION_CONVERSATION_DAYS", "5")
    assert await asyncio.to_thread(cli.main_purge, []) == 0
    assert "purged: 1 conversations (3 messages)" in capsys.readouterr().out
    monkeypatch.setenv("PNAV_RETENTION_CONVERSATION_DAYS", "zero")
    assert await asyncio.to_thread(cli.main_purge, []) == 2
    assert "PNAV_RETENTION_CONVERSATION_DAYS" in capsys.readouterr().err


async def test_attachments_go_with_their_tchat_unless_a_signalement_holds_them(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    """A purged tchat's files lose their sealed bytes, name and digest; a file handed over with a signalement stays
    until that signalement is purged; type, size and dates stay for statistics."""
    from datetime import timedelta

    from sqlalchemy import update

    from chat.attachments import checks
    from chat.attachments import store as attachments
    from chat.attachments.models import Attachment, AttachmentBlob
    from escalation.models import SignalementAttachment
    from tests.evidence import pdf_document, photo_with_metadata

    key = b"k" * 32
    conversation = await tchat(sessions, closed_days_ago=None)
    files = []
    for n, data in enumerate((photo_with_metadata(64, 48), pdf_document())):
        added = await attachments.add_to_tchat(sessions, key, conversation, checks.check(data, 10**6), f"f{n}", None,
                                               30)
        files.append(added.attachment.id)
    async with sessions.begin() as session:
        await session.execute(update(Conversation).where(Conversation.id == conversation)
                              .values(status="closed", closed_at=utcnow() - timedelta(days=100)))
    kept_for = await signalement(sessions, conversation, closed_days_ago=None)
    async with sessions.begin() as session:
        session.add(SignalementAttachment(signalement_id=kept_for, attachment_id=files[1], source="consent"))

    first = await purge.run(sessions, CONFIG)
    assert first.conversations == 1 and first.attachments == 1

    async def state() -> dict[str, tuple[str, str, int, bool, int]]:
        async with sessions() as session:
            rows = (await session.execute(select(Attachment.id, Attachment.name, Attachment.sha256, Attachment.size,
                                                 Attachment.purged_at.is_not(None)))).all()
            blobs = dict((await session.execute(select(AttachmentBlob.attachment_id, func.count())
                                                .group_by(AttachmentBlob.attachment_id))).all())
            return {r[0]: (r[1], r[2], r[3], r[4], blobs.get(r[0], 0)) for r in rows}

    after = await state()
    assert after[files[0]][:2] == ("", "") and after[files[0]][3:] == (True, 0) and after[files[0]][2] > 0
    assert after[files[1]][0] == "document-2.pdf" and after[files[1]][3:] == (False, 1)

    async with sessions.begin() as session:
        await session.execute(update(Signalement).where(Signalement.id == kept_for)
                              .values(status="closed", closed_at=utcnow() - timedelta(days=400)))
    second = await purge.run(sessions, CONFIG)
    assert second.signalements == 1 and second.attachments == 1
    assert (await state())[files[1]][3:] == (True, 0)


async def test_in_process_purge_can_be_left_to_a_timer(sessions: async_sessionmaker[AsyncSession]) -> None:
    """``PNAV_PURGE_IN_PROCESS=off``: the server's background purge returns at once, without purging anything;
    ``on`` (the default) waits for its first pass; anything else is refused at start."""
    def state_with(value: str) -> ChatState:
        state = ChatState.__new__(ChatState)  # only its extensions are read before the first pass
        state.extensions = {config.EXTENSION: config.load(Settings(environment="test",
                                                                   extra={"PNAV_PURGE_IN_PROCESS": value}))}
        return state

    old = await tchat(sessions, closed_days_ago=100)
    await asyncio.wait_for(purge.daily_purge(state_with("off")), timeout=1)
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Message)
                                    .where(Message.conversation_id == old)) == 3
    waiting = asyncio.ensure_future(purge.daily_purge(state_with("on")))
    await asyncio.sleep(0.1)
    assert not waiting.done()  # asleep until its first pass
    waiting.cancel()
    with pytest.raises(ConfigurationError):
        state_with("yes")
