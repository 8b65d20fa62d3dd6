"""Signalement progress in the statistics: counted by current step and by every step reached, per force."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from escalation.models import Proposal, Signalement, StatusEvent
from operators.stats import signalements, tables
from operators.stats.period import Period
from tests.stats.month import Tchat, store

PERIOD = Period(date(2026, 4, 1), date(2026, 4, 30))
HISTORIES = {  # signalement → its steps, in order
    "s1": ("transmitted",),
    "s2": ("transmitted", "acknowledged"),
    "s3": ("transmitted", "acknowledged", "contact_made", "complaint_filed"),
    "s4": ("transmitted", "acknowledged", "contact_made", "closed"),
}


async def _seed(sessions: async_sessionmaker[AsyncSession]) -> None:
    at = datetime(2026, 4, 10, 12, tzinfo=UTC)
    tchats = [Tchat(f"c{n}", "police" if n < 3 else "gendarmerie", "sexual_violence", None, "75", "closed", False,
                    False, "complaint_oriented", at, at, at, at + timedelta(minutes=30), 0) for n in range(4)]
    await store(sessions, tchats)
    async with sessions.begin() as session:
        for n, (sid, steps) in enumerate(HISTORIES.items()):
            session.add(Proposal(id=f"p{n}", conversation_id=f"c{n}", proposed_by="op", summary="faits",
                                 service_id="svc", consent_version="v1", state="consented"))
            await session.flush()
            session.add(Signalement(
                id=sid, conversation_id=f"c{n}", proposal_id=f"p{n}", service_id="svc", force=tchats[n].force,
                category="sexual_violence", insee="75111", commune_name="Paris", department="75", proposed_by="op",
                summary="faits", consent_version="v1", consented_at=at, status=steps[-1]))
            await session.flush()
            for step in steps:
                session.add(StatusEvent(signalement_id=sid, status=step, at=at))


async def test_signalements_by_step(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Each step counts the signalements now there and those that ever reached it; a force sees only its own."""
    await _seed(sessions)
    found = await signalements.progress(sessions, PERIOD)
    assert found is not None and found.total == 4
    assert found.current == {"transmitted": 1, "acknowledged": 1, "complaint_filed": 1, "closed": 1}
    assert found.reached == {"transmitted": 4, "acknowledged": 3, "contact_made": 2, "complaint_filed": 1,
                             "closed": 1}
    police = await signalements.progress(sessions, PERIOD, "police")
    assert police is not None and police.total == 3 and police.reached["contact_made"] == 1
    table = tables.signalements(found)
    assert table.rows[0] == ["Transmis au service local", 4, 1]
    assert table.rows[-1] == ["Total transmis", 4, 4]


async def test_attachments_received_and_transmitted(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Files are counted by kind and source, received and handed to a service, per force; purged ones still count."""
    from chat.attachments.models import Attachment
    from escalation.models import SignalementAttachment
    from operators.stats import attachments

    await _seed(sessions)
    at = datetime(2026, 4, 10, 12, 5, tzinfo=UTC)
    files = [("a1", "c0", "image/png", "tchat"), ("a2", "c0", "application/pdf", "tchat"),
             ("a3", "c1", "image/jpeg", "followup"), ("a4", "c3", "image/webp", "tchat")]
    async with sessions.begin() as session:
        for attachment_id, conversation_id, media_type, source in files:
            session.add(Attachment(id=attachment_id, conversation_id=conversation_id, source=source, author="visitor",
                                   name="" if attachment_id == "a4" else "capture.png", size=1000,
                                   media_type=media_type, sha256="", received_at=at,
                                   purged_at=at if attachment_id == "a4" else None))
        await session.flush()
        session.add(SignalementAttachment(signalement_id="s1", attachment_id="a2", source="consent", added_at=at))
        session.add(SignalementAttachment(signalement_id="s2", attachment_id="a3", source="followup", added_at=at))
    found = await attachments.counts(sessions, PERIOD)
    assert found.received == {("image", "tchat"): 2, ("pdf", "tchat"): 1, ("image", "followup"): 1}
    assert found.transmitted == {"pdf": 1, "image": 1}
    police = await attachments.counts(sessions, PERIOD, "police")
    assert sum(police.received.values()) == 3
    table = tables.attachments(found)
    assert table.rows == [["Captures d'écran et photos", 2, 1, 1], ["Documents PDF", 1, 0, 1], ["Total", 3, 1, 2]]
