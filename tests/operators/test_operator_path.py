"""The first operator path end to end: sign in with TOTP, see the queue, take, chat both ways, close."""

from __future__ import annotations

from tests.client import Visitor, start_tchat
from tests.operators.staff import console_for, make
from tests.servers import LiveServer


async def test_operator_takes_chats_and_closes(live: LiveServer) -> None:
    """An operator sees a new tchat of their force in the queue, takes it, chats both ways and closes it."""
    officer = await make(live, "agent.police", "operator", "police")
    console = await console_for(live, officer)
    started = await start_tchat(live, postal_code="75011", category="domestic_violence")
    assert started["force"] == "police"
    queued = await console.expect("queue_state", category="domestic_violence")
    while not queued["items"]:
        queued = await console.expect("queue_state", category="domestic_violence")
    assert queued["items"][0]["id"] == started["id"]

    visitor = Visitor(live, started["token"])
    await visitor.connect()
    await visitor.send({"type": "send", "client_id": "v1", "body": "Bonjour, j'ai besoin d'aide."})
    await visitor.expect("ack", client_id="v1")

    await console.send({"type": "take", "conversation": started["id"]})
    taken = await console.expect("taken", conversation=started["id"])
    assert taken["status"] == "active" and taken["category"] == "domestic_violence"
    first = await console.expect("message", conversation=started["id"])
    assert first["body"] == "Bonjour, j'ai besoin d'aide." and first["author"] == "visitor"
    joined = await visitor.expect("joined")
    assert joined["who"] == "operator"

    await console.send({"type": "send", "conversation": started["id"], "client_id": "o1", "body": "Je vous écoute."})
    ack = await console.expect("ack", conversation=started["id"], client_id="o1")
    reply = await visitor.expect("message", seq=ack["seq"])
    assert reply["author"] == "operator" and reply["body"] == "Je vous écoute."

    await visitor.send({"type": "typing"})
    assert (await console.expect("typing", conversation=started["id"]))["who"] == "visitor"
    await console.send({"type": "typing", "conversation": started["id"]})
    assert (await visitor.expect("typing"))["who"] == "operator"

    await console.send({"type": "close", "conversation": started["id"], "outcome": "information_given",
                        "note": "Orientée vers le 3919."})
    closed = await console.expect("closed", conversation=started["id"])
    assert closed["status"] == "closed"
    await visitor.expect("closed")

    async def outcome(state: object) -> tuple[str | None, str | None]:
        from chat import store

        conversation = await store.get(state.sessions, started["id"])  # type: ignore[attr-defined]
        assert conversation is not None
        return conversation.status, conversation.outcome

    assert await live.call(outcome) == ("closed", "information_given")
    await visitor.close()
    await console.close()


async def test_reconnecting_console_gets_transcript(live: LiveServer) -> None:
    """A console that reconnects receives its live tchats and their transcript again (resume from the start)."""
    officer = await make(live, "agent.reco", "operator", "police")
    console = await console_for(live, officer)
    started = await start_tchat(live, postal_code="75011")
    visitor = Visitor(live, started["token"])
    await visitor.connect()
    await visitor.send({"type": "send", "client_id": "v1", "body": "Premier message"})
    await visitor.expect("ack")
    await console.send({"type": "take", "conversation": started["id"]})
    await console.expect("taken", conversation=started["id"])
    await console.close()

    await visitor.send({"type": "send", "client_id": "v2", "body": "Pendant la coupure"})
    await visitor.expect("ack", client_id="v2")
    again = await console_for(live, officer)
    await again.expect("taken", conversation=started["id"])
    bodies = [(await again.expect("message", conversation=started["id"]))["body"] for _ in range(2)]
    assert bodies == ["Premier message", "Pendant la coupure"]
    await again.send({"type": "resume", "conversation": started["id"], "after": 2})  # 2: the operator's join
    assert (await again.expect("message", conversation=started["id"]))["seq"] == 3
    await visitor.close()
    await again.close()
