"""Transfers: to another operator with a note, or back to the queue of the other force."""

from __future__ import annotations

from tests.operators.staff import console_for, make
from tests.operators.test_psychologist import taken_tchat
from tests.servers import LiveServer


async def test_transfer_to_a_colleague(staff_live: LiveServer) -> None:
    """The colleague gets the tchat with its transcript and the note; the first operator loses access."""
    alice = await make(staff_live, "alice", "operator", "police")
    bob = await make(staff_live, "bob", "operator", "police")
    a, b = await console_for(staff_live, alice), await console_for(staff_live, bob)
    conversation, visitor = await taken_tchat(staff_live, a)
    await visitor.send({"type": "send", "client_id": "v1", "body": "Je suis à Paris."})
    await a.expect("message", conversation=conversation)

    await a.send({"type": "transfer", "conversation": conversation, "to_operator": "bob", "note": "Fin de service."})
    await a.expect("released", conversation=conversation, reason="transferred")
    taken = await b.expect("taken", conversation=conversation)
    assert taken["transferred_from"] == "Alice" and taken["transfers"][0]["note"] == "Fin de service."
    assert (await b.expect("message", conversation=conversation))["body"] == "Je suis à Paris."
    notice = await visitor.expect("message", author="system")
    assert "prend la suite" in notice["body"]

    await a.send({"type": "send", "conversation": conversation, "client_id": "a2", "body": "encore moi"})
    assert (await a.expect("error"))["code"] == "forbidden"
    await b.send({"type": "send", "conversation": conversation, "client_id": "b1",
                  "body": "Bonjour, je prends le relais."})
    await b.expect("ack", client_id="b1")
    assert (await visitor.expect("message", author="operator"))["body"] == "Bonjour, je prends le relais."
    for client in (a, b, visitor):
        await client.close()


async def test_transfer_to_the_other_force(staff_live: LiveServer) -> None:
    """Sent to the gendarmerie, the tchat leaves the police operator and waits in the gendarmerie queue."""
    police = await make(staff_live, "agent.p", "operator", "police")
    gendarme = await make(staff_live, "gendarme.g", "operator", "gendarmerie")
    p, g = await console_for(staff_live, police), await console_for(staff_live, gendarme)
    conversation, visitor = await taken_tchat(staff_live, p)
    await p.send({"type": "transfer", "conversation": conversation, "to_force": "gendarmerie",
                  "note": "La commune relève de la brigade."})
    await p.expect("released", conversation=conversation)
    while True:
        queue = await g.expect("queue_state", category="sexual_violence")
        if queue["items"]:
            break
    assert queue["items"][0]["id"] == conversation
    await g.send({"type": "take", "conversation": conversation})
    taken = await g.expect("taken", conversation=conversation)
    assert taken["force"] == "gendarmerie" and taken["transfers"][0]["note"] == "La commune relève de la brigade."
    # Stored events first (the operator left, the tchat went back to a queue), then the system message.
    assert (await visitor.expect("transferred"))["force"] == "gendarmerie"
    assert (await visitor.expect("queue"))["position"] == 1  # the visitor follows the gendarmerie queue now
    assert "gendarmerie nationale" in (await visitor.expect("message", author="system"))["body"]
    for client in (p, g, visitor):
        await client.close()


async def test_transfer_targets_are_checked(staff_live: LiveServer) -> None:
    """Unknown users, psychologists and oneself are not valid transfer targets."""
    alice = await make(staff_live, "alice2", "operator", "police")
    await make(staff_live, "psy.t", "psychologist")
    a = await console_for(staff_live, alice)
    conversation, visitor = await taken_tchat(staff_live, a)
    for target in ("nobody", "psy.t", "alice2"):
        await a.send({"type": "transfer", "conversation": conversation, "to_operator": target})
        assert (await a.expect("error", conversation=conversation))["code"] == "invalid_target"
    await a.send({"type": "transfer", "conversation": conversation, "to_force": "police"})
    assert (await a.expect("error", conversation=conversation))["code"] == "invalid_target"
    await visitor.close()
    await a.close()

