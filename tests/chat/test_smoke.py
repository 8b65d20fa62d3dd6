"""End-to-end smoke of the visitor protocol on each stack."""

from __future__ import annotations

from chat import conversations
from tests.client import Visitor, start_tchat
from tests.servers import LiveServer


async def test_visitor_and_operator_exchange(live: LiveServer) -> None:
    """A visitor starts a tchat, an operator takes it (an event with its own seq), and messages flow both ways with
    dense seqs."""
    tchat = await start_tchat(live)
    assert tchat["force"] == "police"
    visitor = Visitor(live, tchat["token"])
    welcome = await visitor.connect()
    assert welcome["status"] == "queued" and welcome["position"] == 1
    await visitor.send({"type": "send", "client_id": "c1", "body": "Bonjour"})
    ack = await visitor.expect("ack")
    assert ack == {"type": "ack", "client_id": "c1", "seq": 1}
    assert await live.call(lambda s: conversations.take(s, tchat["id"], "op1", "police"))
    joined = await visitor.expect("joined", who="operator")
    assert (joined["seq"], joined["force"]) == (2, "police")
    await live.call(lambda s: conversations.post(s, tchat["id"], author="operator", body="Je vous écoute."))
    message = await visitor.expect("message", seq=3)
    assert message["author"] == "operator" and message["body"] == "Je vous écoute."
    await visitor.close()
