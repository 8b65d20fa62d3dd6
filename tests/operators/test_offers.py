"""Fair load (issue 21, part 2): capacity, the offer mode, lapses, absence, and offers across two processes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from audit.models import AuditEvent
from chat.db import utcnow
from chat.models import Conversation
from operators import offers
from operators.models import Account, Offer
from tests.client import start_tchat
from tests.conftest import settings_for, wipe
from tests.operators.conftest import ALWAYS_OPEN
from tests.operators.staff import ConsoleClient, console_for, make
from tests.servers import UNIT, LiveServer


async def set_capacity(server: LiveServer, capacity: int) -> None:
    async def run(state: Any) -> None:
        async with state.sessions.begin() as session:
            await session.execute(update(Account).where(Account.role == "operator").values(capacity=capacity))

    await server.call(run)


async def offer_mode(server: LiveServer, force: str = "police") -> ConsoleClient:
    chief = await make(server, f"chef.{force}", "supervisor", force)
    supervisor = await console_for(server, chief)
    await supervisor.send({"type": "set_mode", "mode": "offer"})
    assert (await supervisor.expect("routing_mode"))["mode"] == "offer"
    return supervisor


async def expire_open_offers(server: LiveServer) -> None:
    async def run(state: Any) -> None:
        async with state.sessions.begin() as session:
            await session.execute(update(Offer).where(Offer.status == "open")
                                  .values(expires_at=utcnow() - timedelta(seconds=1)))

    await server.call(run)


async def audited(server: LiveServer, action: str) -> list[tuple[str, str]]:
    async def run(state: Any) -> list[tuple[str, str]]:
        async with state.sessions() as session:
            rows = await session.execute(select(AuditEvent.actor, AuditEvent.target).where(AuditEvent.action == action)
                                         .order_by(AuditEvent.seq))
            return [(r[0], r[1]) for r in rows]

    return await server.call(run)


async def test_three_operators_of_capacity_two_and_ten_tchats(staff_live: LiveServer) -> None:
    """Ten tchats arrive for three operators of capacity 2: the oldest are offered first, each accepted offer
    becomes a take, nobody goes over capacity, the last four wait; a close frees a place for the next oldest."""
    people = [await make(staff_live, f"agent.{n}", "operator", "police") for n in range(3)]
    await set_capacity(staff_live, 2)
    consoles = [await console_for(staff_live, person) for person in people]
    supervisor = await offer_mode(staff_live)
    started = [(await start_tchat(staff_live, postal_code="75011", category="domestic_violence"))["id"]
               for _ in range(10)]
    accepted: dict[str, list[str]] = {p.username: [] for p in people}

    async def work(console: ConsoleClient, name: str) -> None:
        while len(accepted[name]) < 2:
            offer = await console.expect("offer", 10)
            await console.send({"type": "accept_offer", "offer": offer["offer"]})
            await console.expect("taken", 10, conversation=offer["conversation"])
            accepted[name].append(offer["conversation"])

    await asyncio.gather(*(work(c, p.username) for c, p in zip(consoles, people, strict=True)))
    assert sorted(c for taken in accepted.values() for c in taken) == sorted(started[:6])
    made = [target for _actor, target in await audited(staff_live, "offer.made")]
    assert made == started[:6]  # offered strictly oldest first
    await asyncio.sleep(2.5 * UNIT)  # two sweeps: nobody has room, nothing more is offered
    for console in consoles:
        assert not [f for f in console.frames if f["type"] == "offer" and f["conversation"] in started[6:]]

    async def loads(state: Any) -> dict[str, int]:
        async with state.sessions() as session:
            rows = await session.execute(select(Conversation.assigned_to, func.count()).where(
                Conversation.status == "active").group_by(Conversation.assigned_to))
            return {r[0]: r[1] for r in rows}

    assert sorted((await staff_live.call(loads)).values()) == [2, 2, 2]
    first = consoles[0]
    await first.send({"type": "close", "conversation": accepted[people[0].username][0], "outcome": "other"})
    nxt = await first.expect("offer", 10)
    assert nxt["conversation"] == started[6] and nxt["seconds"] == 30
    for client in (*consoles, supervisor):
        await client.close()


async def test_a_lapsed_offer_goes_to_the_next_and_three_lapses_mean_absent(staff_live: LiveServer) -> None:
    """Not accepted in time, an offer goes to the other operator; an operator who lets three lapse in a row is set
    absent (told, audited) and offered nothing until available again."""
    one = await make(staff_live, "agent.un", "operator", "police")
    two = await make(staff_live, "agent.deux", "operator", "police")
    first, second = await console_for(staff_live, one), await console_for(staff_live, two)
    supervisor = await offer_mode(staff_live)
    tchat = (await start_tchat(staff_live, postal_code="75011"))["id"]
    by_name = {"agent.un": first, "agent.deux": second}
    winner = (await audited_first_offer(staff_live))
    other = "agent.deux" if winner == "agent.un" else "agent.un"
    mine = await by_name[winner].expect("offer", conversation=tchat)
    await by_name[other].send({"type": "accept_offer", "offer": mine["offer"]})  # not theirs to accept
    assert (await by_name[other].expect("error"))["code"] == "offer_gone"
    await expire_open_offers(staff_live)
    assert (await by_name[winner].expect("offer_gone", 5))["reason"] == "lapsed"
    assert (await by_name[other].expect("offer", 5))["conversation"] == tchat

    # The other operator goes on a break: their offer is withdrawn and comes back to the first, who lets it lapse
    # until absent (three in a row).
    await by_name[other].send({"type": "set_status", "status": "paused"})
    assert (await by_name[other].expect("offer_gone", 5))["reason"] == "withdrawn"
    for _ in range(2):
        await by_name[winner].expect("offer", 5, conversation=tchat)
        await expire_open_offers(staff_live)
        await by_name[winner].expect("offer_gone", 5)
    status = await by_name[winner].expect("status", 5)
    assert (status["status"], status["reason"]) == ("absent", "lapses")
    assert await by_name[winner].quiet("offer", 2.5)
    assert ("system", winner) in await audited(staff_live, "operator.status_changed")
    assert await audited(staff_live, "offer.lapsed") == [(winner, tchat)] * 3
    await by_name[winner].send({"type": "set_status", "status": "available"})
    assert (await by_name[winner].expect("offer", 5))["conversation"] == tchat
    for client in (first, second, supervisor):
        await client.close()


async def audited_first_offer(server: LiveServer) -> str:
    """The operator the first offer went to, from the audit log (waits for the sweeper)."""
    for _ in range(50):
        async def run(state: Any) -> str | None:
            async with state.sessions() as session:
                row = (await session.execute(select(Account.username).join(Offer, Offer.account_id == Account.id)
                                             .where(Offer.status == "open"))).first()
                return row[0] if row else None

        found = await server.call(run)
        if found:
            return found
        await asyncio.sleep(0.1 * UNIT)
    raise AssertionError("no offer made")


async def test_capacity_in_pick_mode_and_no_take_in_offer_mode(staff_live: LiveServer) -> None:
    """At capacity a take is refused in French, and so is a transfer to a colleague at capacity; in offer mode a
    manual take is refused (the tchats are offered)."""
    one = await make(staff_live, "agent.un", "operator", "police")
    two = await make(staff_live, "agent.deux", "operator", "police")
    await set_capacity(staff_live, 1)
    first, second = await console_for(staff_live, one), await console_for(staff_live, two)
    tchats = [(await start_tchat(staff_live, postal_code="75011"))["id"] for _ in range(3)]
    await first.send({"type": "take", "conversation": tchats[0]})
    await first.expect("taken", conversation=tchats[0])
    await first.send({"type": "take", "conversation": tchats[1]})
    refused = await first.expect("error", conversation=tchats[1])
    assert refused["code"] == "at_capacity" and "(1)" in refused["message"]
    await second.send({"type": "take", "conversation": tchats[1]})
    await second.expect("taken", conversation=tchats[1])
    await first.send({"type": "transfer", "conversation": tchats[0], "to_operator": "agent.deux"})
    assert (await first.expect("error", conversation=tchats[0]))["code"] == "target_at_capacity"
    supervisor = await offer_mode(staff_live)
    await set_capacity(staff_live, 5)
    await first.expect("offer", 5, conversation=tchats[2])  # offered, not taken
    await second.send({"type": "take", "conversation": tchats[2]})
    assert (await second.expect("error", conversation=tchats[2]))["code"] == "offer_mode"
    assert await audited(staff_live, "routing.mode_changed") == [("chef.police", "police")]
    for client in (first, second, supervisor):
        await client.close()


@pytest.fixture(scope="module")
def second_process(postgres_url: str, redis_url: str) -> Iterator[LiveServer]:
    server = LiveServer(settings_for(postgres_url, redis_url, extra=ALWAYS_OPEN)).start()
    yield server
    server.stop()


async def test_two_processes_never_offer_one_tchat_to_two_operators(
        staff_servers: dict[str, tuple[LiveServer, str]], second_process: LiveServer) -> None:
    """Two processes on one PostgreSQL and Redis, both sweeping every second and dispatching at once on demand: every
    open offer is for a different tchat and a different operator, and the oldest tchats are the ones offered."""
    first, url = staff_servers["postgresql-redis"]
    await wipe(url)
    people = [await make(first, f"agent.{n}", "operator", "police") for n in range(4)]
    await set_capacity(first, 3)
    consoles = [await console_for(first if n % 2 else second_process, p) for n, p in enumerate(people)]
    supervisor = await offer_mode(first)
    started = [(await start_tchat(second_process, postal_code="75011"))["id"] for _ in range(8)]

    async def open_offers(state: Any) -> list[tuple[str, str]]:
        async with state.sessions() as session:
            return [(r[0], r[1]) for r in await session.execute(
                select(Offer.conversation_id, Offer.account_id).where(Offer.status == "open"))]

    for round_ in range(3):
        async def withdraw(state: Any) -> None:
            async with state.sessions.begin() as session:
                await session.execute(update(Offer).where(Offer.status == "open").values(status="withdrawn"))

        if round_:
            await first.call(withdraw)
        await asyncio.gather(*(server.call(lambda state: offers.dispatch(state, "police"))
                               for server in (first, second_process) for _ in range(10)))
        current = await first.call(open_offers)
        assert len(current) == 4
        assert len({c for c, _a in current}) == 4 and len({a for _c, a in current}) == 4
        assert {c for c, _a in current} == set(started[:4])
    seen: dict[str, set[str]] = {}
    for console in consoles:
        await console.quiet("no frame has this type", 1.0)  # read what arrived: every offer each operator was sent
    for console, person in zip(consoles, people, strict=True):
        for frame in console.frames:
            if frame["type"] == "offer":
                seen.setdefault(frame["offer"], set()).add(person.username)
    assert seen and all(len(names) == 1 for names in seen.values())
    for client in (*consoles, supervisor):
        await client.close()
