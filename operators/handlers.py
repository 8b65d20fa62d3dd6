"""The built-in operator console frames: take, send, typing, read, resume, close, transfer, invitations, leave."""

from __future__ import annotations

from typing import Any

from chat import conversations, protocol, store
from chat.models import UNLOCATED
from operators import closing, offers, team
from operators.channels import account_channel
from operators.consoles import Console
from operators.models import OUTCOMES
from operators.stats.labels import SUBTYPES, valid_subtype


async def take(console: Console, fields: dict[str, Any]) -> None:
    conversation_id = fields.get("conversation")
    if not isinstance(conversation_id, str) or not conversation_id.isalnum() or len(conversation_id) > 64:
        await console.error("invalid_field")
        return
    conversation = await store.get(console.state.sessions, conversation_id)
    if conversation is None:
        await console.error("unknown_conversation", conversation_id)
        return
    force = console.account.force
    if not force or conversation.force not in (force, UNLOCATED):  # sans localisation: either force takes it
        await console.error("forbidden", conversation_id)
        return
    # The atomic conditional update decides between operators racing for the same tchat, under the lock of this
    # operator's row that keeps them within their capacity (operators.offers).
    outcome, capacity = await offers.take(console.state, conversation_id, console.account, force)
    if outcome != "taken":
        await console.error(outcome, conversation_id, capacity=capacity)
        return
    # Every tab of this operator follows the tchat (this one included): they all receive ``attach``.
    await console.state.broker.publish(account_channel(console.account.id),
                                       protocol.dumps({"type": "attach", "conversation": conversation_id}))


async def send(console: Console, fields: dict[str, Any]) -> None:
    parsed = protocol.validate(fields, max_chars=console.state.settings.max_message_chars)
    if isinstance(parsed, protocol.ProtocolError):
        await console.send({**parsed.frame(), "conversation": fields.get("conversation")})
        return
    assert isinstance(parsed, protocol.Send)
    conversation = await console.conversation(fields, need="write")
    if conversation is None:
        return
    appended = await conversations.post(console.state, conversation.id, author=console.account.role,
                                        author_id=console.account.id, body=parsed.body, client_id=parsed.client_id)
    await console.send({"type": "ack", "conversation": conversation.id, "client_id": parsed.client_id,
                        "seq": appended.message.seq})


async def typing(console: Console, fields: dict[str, Any]) -> None:
    conversation = await console.conversation(fields, need="write")
    if conversation is not None:
        await conversations.publish(console.state, conversation.id, {"type": "typing", "who": console.account.role})


def _number(fields: dict[str, Any], key: str) -> int | None:
    value = fields.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 2**31:
        return None
    return value


async def read(console: Console, fields: dict[str, Any]) -> None:
    seq = _number(fields, "seq")
    if seq is None:
        await console.error("invalid_field")
        return
    conversation = await console.conversation(fields, need="read")
    if conversation is not None and console.account.role != "supervisor":
        # The visitor may show « Lu » under their messages; a supervisor watching is not a reader of the tchat.
        await conversations.publish(console.state, conversation.id,
                                    {"type": "read", "who": console.account.role, "seq": seq})


async def resume(console: Console, fields: dict[str, Any]) -> None:
    after = _number(fields, "after")
    if after is None:
        await console.error("invalid_field")
        return
    conversation = await console.conversation(fields, need="read")
    if conversation is None:
        return
    if conversation.id not in console.attached:
        # Not followed yet (a supervisor opening a tchat from the live view or an alert): summary and whole
        # transcript, then live frames; a supervisor's opening is audited (silent monitoring).
        if console.account.role == "supervisor":
            await team.monitored(console, conversation.id)
        await console.attach(conversation.id)
        return
    await console.replay(conversation.id, after)


async def close(console: Console, fields: dict[str, Any]) -> None:
    outcome = fields.get("outcome")
    if outcome not in OUTCOMES:
        await console.error("invalid_outcome", fields.get("conversation") if isinstance(fields.get("conversation"),
                                                                                       str) else None)
        return
    note = protocol.clean_text(fields.get("note", ""), protocol.MAX_NOTE_CHARS, allow_empty=True)
    if isinstance(note, protocol.ProtocolError):
        await console.send(note.frame())
        return
    subtype = fields.get("subtype")
    if subtype not in (None, "") and subtype not in SUBTYPES:
        await console.error("invalid_field", fields.get("conversation") if isinstance(fields.get("conversation"),
                                                                                      str) else None)
        return
    conversation = await console.conversation(fields, need="manage")
    if conversation is None:
        return
    # Category 3 only (cyber-harcèlement, cybersexisme…): for the other tchats a subtype is ignored.
    if not await closing.close(console.state, conversation, console.account.id, str(outcome), note,
                               subtype=valid_subtype(conversation.category, subtype)):
        await console.error("conversation_closed", conversation.id)

