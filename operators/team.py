"""A supervisor at the operator's side: silent monitoring, whispers and « Demander de l'aide ».

- **Monitoring**: a supervisor of the force opens any live tchat read-only (``resume`` on a tchat not followed yet,
  from the live view or an alert); each opening is audited (``conversation.monitored``). The visitor sees nothing of
  it (no ``joined``, no « Lu »); the legal notice tells her that supervisors may read tchats to support operators.
  ``unwatch`` stops following it.
- **Whispers**: ``whisper`` ``{conversation, client_id, body}`` from a supervisor of the force, the operator in
  charge or a joined psychologist, while the tchat is live. Stored in ``whispers`` (never in ``messages``, so no
  visitor replay can read one) and published on ``staff:<conversation>``, a channel only consoles subscribe to; the
  visitor's socket subscribes to ``conv:<conversation>`` and its own queue only. Each whisper sits after the message
  ``after_seq`` in the staff's transcript and is deduplicated by its ``id``.
- **Help**: ``help`` ``{conversation, note?}`` from the operator in charge alerts every supervisor of the force
  (``alert`` with ``kind: "help"``, audited); the operator learns how many supervisors are online (``help_sent``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from audit import trail
from chat import protocol
from chat.db import utcnow
from chat.models import Conversation
from chat.state import ChatState
from operators import presence
from operators.channels import account_channel, staff_channel
from operators.consoles import Console
from operators.models import Account, Whisper
from operators.whispers import whisper_frame

# A whisper is a short note between colleagues, not a second transcript.
MAX_WHISPER_CHARS = 1_000
HELP_MESSAGE = "{name} demande de l'aide sur une conversation."


async def _store(state: ChatState, conversation_id: str, account: Account, body: str, client_id: str) -> (
    Whisper | None
):
    """Commit the whisper after the tchat's current last message; a retried client_id returns the first one."""
    for _attempt in range(2):
        try:
            async with state.sessions.begin() as session:
                found = await session.scalar(select(Whisper).where(Whisper.conversation_id == conversation_id,
                                                                   Whisper.client_id == client_id))
                if found is not None:
                    return found
                last_seq = await session.scalar(select(Conversation.last_seq).where(
                    Conversation.id == conversation_id, Conversation.status == "active"))
                if last_seq is None:
                    return None
                whisper = Whisper(conversation_id=conversation_id, after_seq=last_seq, author_role=account.role,
                                  author_id=account.id, author_name=account.display_name or account.username,
                                  body=body, client_id=client_id, created_at=utcnow())
                session.add(whisper)
                await session.flush()
                return whisper
        except IntegrityError:
            continue  # the same client_id committed meanwhile (a retry racing its first attempt): read it back
    return None


async def whisper(console: Console, fields: dict[str, Any]) -> None:
    client_id = fields.get("client_id")
    body = protocol.clean_text(fields.get("body"), MAX_WHISPER_CHARS)
    conversation_id = fields.get("conversation") if isinstance(fields.get("conversation"), str) else None
    if not isinstance(client_id, str) or not 0 < len(client_id) <= 64:
        await console.error("invalid_field", conversation_id)
        return
    if isinstance(body, protocol.ProtocolError):
        await console.send({**body.frame(), "conversation": conversation_id, "client_id": client_id})
        return
    conversation = await console.conversation(fields, need="read")
    if conversation is None:
        return
    if conversation.status != "active":
        await console.error("conversation_closed", conversation.id)
        return
    stored = await _store(console.state, conversation.id, console.account, body, client_id)
    if stored is None:
        await console.error("conversation_closed", conversation.id)
        return
    frame = whisper_frame(stored)
    await console.state.broker.publish(staff_channel(conversation.id), protocol.dumps(frame))
    await console.send({"type": "ack", "conversation": conversation.id, "client_id": client_id, "whisper": stored.id})
    if conversation.id not in console.attached:
        await console.send(frame)  # a supervisor whispering without following the tchat still sees it written


async def monitored(console: Console, conversation_id: str) -> None:
    """A supervisor opened a tchat: the audit log says who read which tchat, and when."""
    await trail.record(console.state, actor=console.account.username, action="conversation.monitored",
                       target=conversation_id)


async def unwatch(console: Console, fields: dict[str, Any]) -> None:
    conversation = await console.conversation(fields, need="read")
    if conversation is not None and conversation.id in console.attached:
        await console.detach(conversation.id, "unwatched")


async def supervisors_of(state: ChatState, force: str) -> list[str]:
    async with state.sessions() as session:
        return list(await session.scalars(select(Account.id).where(
            Account.role == "supervisor", Account.force == force, Account.disabled.is_(False))))


async def ask_for_help(console: Console, fields: dict[str, Any]) -> None:
    """« Demander de l'aide »: every supervisor of the tchat's force is alerted (and announced) at once."""
    note = protocol.clean_text(fields.get("note", ""), protocol.MAX_NOTE_CHARS, allow_empty=True)
    if isinstance(note, protocol.ProtocolError):
        await console.send(note.frame())
        return
    conversation = await console.conversation(fields, need="manage")
    if conversation is None:
        return
    state, me = console.state, console.account
    await trail.record(state, actor=me.username, action="conversation.help_requested", target=conversation.id)
    alert = protocol.dumps({"type": "alert", "kind": "help", "conversation": conversation.id,
                            "category": conversation.category, "department": conversation.department,
                            "commune": conversation.commune_name, "operator": me.display_name or me.username,
                            "note": note, "message": HELP_MESSAGE.format(name=me.display_name or me.username)})
    for supervisor in await supervisors_of(state, conversation.force):
        await state.broker.publish(account_channel(supervisor), alert)
    online = await presence.online(state.sessions, "supervisor", conversation.force)
    await console.send({"type": "help_sent", "conversation": conversation.id, "present": len(online)})
