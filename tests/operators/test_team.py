"""A supervisor at the operator's side (issue 21, part 3): silent monitoring (audited), whispers that never reach the
visitor — live, on resume after 0, after a reconnect — and « Demander de l'aide »."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from audit.models import AuditEvent
from chat import conversations
from tests.client import Visitor
from tests.operators.staff import ConsoleClient, console_for, make
from tests.operators.test_psychologist import taken_tchat
from tests.servers import LiveServer

SECRET_WORDS = "Ne lui dites pas encore : vérifiez l'adresse avant de proposer le signalement."


async def audit_rows(server: LiveServer, action: str) -> list[tuple[str, str]]:
    async def read(state: Any) -> list[tuple[str, str]]:
        async with state.sessions() as session:
            rows = await session.execute(select(AuditEvent.actor, AuditEvent.target)
                                         .where(AuditEvent.action == action).order_by(AuditEvent.seq))
            return [(r[0], r[1]) for r in rows]

    return await server.call(read)


async def drain_until_message(visitor: Visitor, body: str) -> list[dict[str, Any]]:
    """Every frame the visitor receives up to the message ``body`` (inclusive)."""
    seen = []
    while True:
        frame = await visitor.recv(5)
        seen.append(frame)
        if frame["type"] == "message" and frame.get("body") == body:
            return seen


def leaks(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in frames if f["type"] == "whisper" or SECRET_WORDS in json.dumps(f, ensure_ascii=False)]


async def test_whispers_reach_staff_and_never_the_visitor(staff_live: LiveServer) -> None:
    """A supervisor opens the tchat silently (audited) and whispers; the operator reads it live and after a reload,
    in place; the visitor never receives it: not live, not on resume after 0, not after reconnecting, and her
    sequence numbers stay dense."""
    officer = await make(staff_live, "agent.op", "operator", "police")
    chief = await make(staff_live, "chef.police", "supervisor", "police")
    operator = await console_for(staff_live, officer)
    conversation, visitor = await taken_tchat(staff_live, operator)
    await operator.send({"type": "send", "conversation": conversation, "client_id": "o1", "body": "Bonjour."})
    hello_seq = (await operator.expect("ack", client_id="o1"))["seq"]

    supervisor = await console_for(staff_live, chief)
    await supervisor.send({"type": "resume", "conversation": conversation, "after": 0})
    await supervisor.expect("taken", conversation=conversation)
    assert (await supervisor.expect("message", conversation=conversation))["body"] == "Bonjour."
    await supervisor.send({"type": "whisper", "conversation": conversation, "client_id": "w1", "body": SECRET_WORDS})
    ack = await supervisor.expect("ack", client_id="w1")
    await supervisor.send({"type": "whisper", "conversation": conversation, "client_id": "w1", "body": SECRET_WORDS})
    assert (await supervisor.expect("ack", client_id="w1"))["whisper"] == ack["whisper"]  # a retry: one whisper
    heard = await operator.expect("whisper", conversation=conversation)
    assert (heard["body"], heard["author"], heard["after_seq"], heard["author_name"]) == (
        SECRET_WORDS, "supervisor", hello_seq, "Chef.Police")
    await operator.send({"type": "whisper", "conversation": conversation, "client_id": "w2", "body": "Bien reçu."})
    assert (await supervisor.expect("whisper", conversation=conversation, client_id="w2"))["author"] == "operator"
    await operator.send({"type": "send", "conversation": conversation, "client_id": "o2", "body": "Je reviens."})

    live = await drain_until_message(visitor, "Je reviens.")
    await visitor.send({"type": "resume", "after": 0})
    resumed = await drain_until_message(visitor, "Je reviens.")
    seqs = [f["seq"] for f in resumed if isinstance(f.get("seq"), int) and f["type"] != "read"]
    assert seqs == list(range(1, len(seqs) + 1))  # dense: no whisper took a number in her transcript
    await visitor.close()
    again = Visitor(staff_live, visitor.token)
    await again.connect(after=0)
    reconnected = await drain_until_message(again, "Je reviens.")
    assert leaks(visitor.frames) == [] and leaks(live + resumed + reconnected + again.frames) == []

    reloaded = ConsoleClient(staff_live, operator.cookie)
    await reloaded.connect()
    await reloaded.expect("message", conversation=conversation, body="Je reviens.")
    replayed = await reloaded.expect("whisper", conversation=conversation, client_id="w1")
    assert replayed["id"] == ack["whisper"] and replayed["after_seq"] == hello_seq
    transcript = await staff_live.call(lambda state: conversations.transcript(state, conversation))
    assert SECRET_WORDS not in json.dumps(transcript, ensure_ascii=False)
    assert await audit_rows(staff_live, "conversation.monitored") == [("chef.police", conversation)]
    for client in (operator, supervisor, again, reloaded):
        await client.close()


async def test_other_force_supervisor_is_refused_and_help_reaches_the_force(staff_live: LiveServer) -> None:
    """A gendarmerie supervisor can neither open nor whisper into a police tchat; « Demander de l'aide » alerts the
    police supervisors only, tells the operator how many are online, and is audited."""
    officer = await make(staff_live, "agent.op", "operator", "police")
    police_chief = await make(staff_live, "chef.police", "supervisor", "police")
    other_chief = await make(staff_live, "chef.gendarmerie", "supervisor", "gendarmerie")
    operator = await console_for(staff_live, officer)
    conversation, visitor = await taken_tchat(staff_live, operator)
    police = await console_for(staff_live, police_chief)
    other = await console_for(staff_live, other_chief)
    for frame in ({"type": "resume", "conversation": conversation, "after": 0},
                  {"type": "whisper", "conversation": conversation, "client_id": "x", "body": "Bonjour"}):
        await other.send(frame)
        assert (await other.expect("error", conversation=conversation))["code"] == "forbidden"
    await operator.send({"type": "help", "conversation": conversation, "note": "La personne parle de se faire mal."})
    sent = await operator.expect("help_sent", conversation=conversation)
    assert sent["present"] == 1
    alert = await police.expect("alert", conversation=conversation)
    assert alert["kind"] == "help" and alert["message"] == "Agent.Op demande de l'aide sur une conversation."
    assert await other.quiet("alert")
    assert await audit_rows(staff_live, "conversation.help_requested") == [("agent.op", conversation)]
    assert await audit_rows(staff_live, "conversation.monitored") == []
    live = (await police.expect("supervision"))["live"]
    assert [item["conversation"] for item in live] == [conversation]
    for client in (operator, police, other, visitor):
        await client.close()
