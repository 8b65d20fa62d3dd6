"""Psychologist join-in: every present psychologist sees the invitation, the first to accept joins, can leave."""

from __future__ import annotations

from datetime import UTC, datetime

from operators import office_hours
from tests.client import Visitor, start_tchat
from tests.operators.staff import ConsoleClient, console_for, make, visitor_answers_offer
from tests.servers import LiveServer


async def taken_tchat(server: LiveServer, console: ConsoleClient) -> tuple[str, Visitor]:
    started = await start_tchat(server, postal_code="75011")
    visitor = Visitor(server, started["token"])
    await visitor.connect()
    await console.send({"type": "take", "conversation": started["id"]})
    await console.expect("taken", conversation=started["id"])
    await visitor.expect("joined", who="operator")
    return started["id"], visitor


async def test_first_psychologist_to_accept_joins(staff_live: LiveServer) -> None:
    """Both psychologists see the invitation; one joins, the other is told it is gone; everyone sees messages."""
    officer = await make(staff_live, "agent.psy", "operator", "police")
    psy1 = await make(staff_live, "psy.une", "psychologist")
    psy2 = await make(staff_live, "psy.deux", "psychologist")
    console = await console_for(staff_live, officer)
    first, second = await console_for(staff_live, psy1), await console_for(staff_live, psy2)
    conversation, visitor = await taken_tchat(staff_live, console)

    await console.send({"type": "invite_psychologist", "conversation": conversation})
    await visitor_answers_offer(visitor)
    sent = await console.expect("invitation_sent", conversation=conversation)
    assert sent["present"] == 2
    await console.send({"type": "invite_psychologist", "conversation": conversation})
    assert (await console.expect("error", conversation=conversation))["code"] == "invitation_pending"
    seen1 = await first.expect("invitation", conversation=conversation)
    await second.expect("invitation", conversation=conversation)

    await first.send({"type": "accept_invitation", "invitation": seen1["invitation"]})
    await first.expect("taken", conversation=conversation)
    await second.expect("invitation_closed", invitation=seen1["invitation"])
    await second.send({"type": "accept_invitation", "invitation": seen1["invitation"]})
    assert (await second.expect("error"))["code"] == "invitation_gone"
    joined = await visitor.expect("joined", who="psychologist")
    assert joined["message"] == "Une psychologue a rejoint la conversation"
    await console.expect("joined", who="psychologist", conversation=conversation)

    await first.send({"type": "send", "conversation": conversation, "client_id": "p1", "body": "Bonjour, je suis là."})
    await first.expect("ack", client_id="p1")
    assert (await visitor.expect("message", author="psychologist"))["body"] == "Bonjour, je suis là."
    assert (await console.expect("message", author="psychologist"))["body"] == "Bonjour, je suis là."
    await visitor.send({"type": "send", "client_id": "v1", "body": "Merci."})
    assert (await first.expect("message", author="visitor"))["body"] == "Merci."
    await second.send({"type": "send", "conversation": conversation, "client_id": "x", "body": "intrusion"})
    assert (await second.expect("error"))["code"] == "forbidden"

    await first.send({"type": "leave", "conversation": conversation})
    await first.expect("released", conversation=conversation)
    assert (await visitor.expect("left", who="psychologist"))["message"] == "Une psychologue a quitté la conversation"
    await first.send({"type": "send", "conversation": conversation, "client_id": "p2", "body": "encore"})
    assert (await first.expect("error"))["code"] == "forbidden"
    await console.send({"type": "send", "conversation": conversation, "client_id": "o2", "body": "Je reste là."})
    await console.expect("ack", client_id="o2")
    for client in (console, first, second, visitor):
        await client.close()


def test_office_hours_rules() -> None:
    """Office hours are read in Paris time, and outside them the next opening is described in French."""
    slots = office_hours.parse("mon-fri 09:00-18:00; sat 10:00-13:00")
    # Monday 8 June 2026, 07:30 UTC = 09:30 in Paris (summer time).
    assert office_hours.is_open(slots, datetime(2026, 6, 8, 7, 30, tzinfo=UTC))
    assert not office_hours.is_open(slots, datetime(2026, 6, 8, 6, 30, tzinfo=UTC))
    # Saturday 13 June 2026 at 14:00 Paris: next is Monday 9:00.
    saturday = datetime(2026, 6, 13, 12, 0, tzinfo=UTC)
    assert office_hours.describe_next(slots, saturday) == "Une psychologue sera présente lundi à 9 h 00."
    assert office_hours.describe_next(slots, datetime(2026, 6, 12, 17, 0, tzinfo=UTC)) == \
        "Une psychologue sera présente demain à 10 h 00."
    assert office_hours.describe_next((), saturday).startswith("Aucune permanence")
    assert office_hours.is_open(office_hours.parse("mon-sun 00:00-24:00"), saturday)


def test_bad_office_hours_are_refused() -> None:
    """A malformed PNAV_PSYCHOLOGIST_HOURS is a configuration error, not a silent closed schedule."""
    import pytest

    for spec in ("mon-fri 9:00-18:00", "lun 09:00-18:00", "fri-mon 09:00-18:00", "mon 18:00-09:00"):
        with pytest.raises(office_hours.ScheduleError):
            office_hours.parse(spec)


async def test_unanswered_invitation_can_be_renewed(staff_live: LiveServer) -> None:
    """An invitation nobody accepted for a while may be sent again: the old one closes, a new one goes out."""
    from datetime import timedelta
    from typing import Any

    from sqlalchemy import update

    from chat.db import utcnow
    from operators.invitations import ASK_AGAIN_AFTER
    from operators.models import Invitation

    officer = await make(staff_live, "agent.relance", "operator", "police")
    psy = await make(staff_live, "psy.relance", "psychologist")
    console, watcher = await console_for(staff_live, officer), await console_for(staff_live, psy)
    conversation, visitor = await taken_tchat(staff_live, console)
    await console.send({"type": "invite_psychologist", "conversation": conversation})
    await visitor_answers_offer(visitor)
    old = await watcher.expect("invitation", conversation=conversation)

    async def age(state: Any) -> None:
        async with state.sessions.begin() as session:
            await session.execute(update(Invitation).values(created_at=utcnow() - ASK_AGAIN_AFTER - timedelta(1)))

    await staff_live.call(age)
    await console.send({"type": "invite_psychologist", "conversation": conversation})
    await watcher.expect("invitation_closed", invitation=old["invitation"])
    await visitor_answers_offer(visitor)
    await console.expect("invitation_sent", conversation=conversation)
    new = await watcher.expect("invitation", conversation=conversation)
    assert new["invitation"] != old["invitation"]
    for client in (console, watcher, visitor):
        await client.close()


async def test_visitor_is_asked_before_a_psychologist_joins(staff_live: LiveServer) -> None:
    """The visitor gets the question first; a « no » sends nothing to the psychologists, the question survives a
    reconnect until answered, an answer counts once, and a « yes » invites them."""
    officer = await make(staff_live, "agent.question", "operator", "police")
    psy = await make(staff_live, "psy.question", "psychologist")
    console = await console_for(staff_live, officer)
    assert next(f for f in console.frames if f["type"] == "welcome")["psychologists"]["present"] == 0
    watcher = await console_for(staff_live, psy)
    assert (await console.expect("psychologists"))["present"] == 1  # told when the psychologist's console opens
    conversation, visitor = await taken_tchat(staff_live, console)

    await console.send({"type": "invite_psychologist", "conversation": conversation})
    offer = await visitor.expect("psychologist_offer")
    assert offer["message"] == "Une psychologue peut se joindre à la conversation. D'accord ?"
    await console.expect("psychologist_offer", conversation=conversation)
    await visitor.send({"type": "psychologist_answer", "invitation": offer["invitation"], "accept": False})
    answer = await console.expect("psychologist_answer", conversation=conversation)
    assert answer["accepted"] is False
    await visitor.send({"type": "psychologist_answer", "invitation": offer["invitation"], "accept": True})
    assert (await visitor.expect("error"))["code"] == "offer_gone"
    assert await watcher.quiet("invitation", 0.5)

    # Refused, not pending: the operator may ask again at once; the question waits through a reconnect.
    await console.send({"type": "invite_psychologist", "conversation": conversation})
    again = await visitor.expect("psychologist_offer")
    await visitor.close()
    visitor = Visitor(staff_live, visitor.token)
    await visitor.connect()
    # After the reconnect the transcript replays the first question and its « no », then the one still waiting.
    assert (await visitor.expect("psychologist_answer"))["accepted"] is False
    assert (await visitor.expect("psychologist_offer"))["invitation"] == again["invitation"]
    await visitor.send({"type": "psychologist_answer", "invitation": again["invitation"], "accept": "oui"})
    assert (await visitor.expect("error"))["code"] == "invalid_field"
    await visitor.send({"type": "psychologist_answer", "invitation": again["invitation"], "accept": True})
    assert (await console.expect("psychologist_answer", conversation=conversation))["accepted"] is True
    assert (await console.expect("invitation_sent", conversation=conversation))["present"] == 1
    assert (await watcher.expect("invitation", conversation=conversation))["invitation"] == again["invitation"]
    for client in (console, watcher, visitor):
        await client.close()
