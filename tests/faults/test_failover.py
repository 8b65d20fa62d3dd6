"""Past one machine: the PostgreSQL primary is lost and its synchronous standby promoted; the Redis master is
lost and Sentinel promotes its replica. pnav follows both without a restart, and nothing acknowledged is lost."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import migrated, wipe
from tests.faults.checks import Tally, compare, seed_tchats, stored_messages
from tests.faults.processes import App, Postgres, PostgresPair, Redis, SentinelGroup
from tests.faults.results import Row, record
from tests.faults.visitors import ResilientVisitor
from tests.servers import UNIT

pytestmark = pytest.mark.slow


@pytest.fixture
def pg_pair() -> Iterator[PostgresPair]:
    pair = PostgresPair()
    try:
        pair.start(migrated)
        yield pair
    finally:
        pair.close()


@pytest.fixture
def sentinels() -> Iterator[SentinelGroup]:
    group = SentinelGroup()
    try:
        group.start()
        yield group
    finally:
        group.close()


@pytest.fixture
async def spawned(tmp_path: Path) -> AsyncIterator[list[App]]:
    started: list[App] = []
    yield started
    for app in started:
        app.stop()


def _serve(started: list[App], count: int, database_url: str, redis_url: str, tmp_path: Path) -> list[App]:
    apps = [App(database_url, redis_url, tmp_path).spawn() for _ in range(count)]
    started.extend(apps)
    return [app.wait_ready() for app in apps]


async def _exchange(writers: list[ResilientVisitor], prefix: str, messages: int) -> None:
    async def one(index: int, writer: ResilientVisitor) -> None:
        rng = random.Random(index)
        for n in range(messages):
            await writer.send(f"{prefix}{index}-{n}", f"Message {n} : il a recommencé hier soir.")
            await asyncio.sleep(rng.uniform(0.2, 0.5) * UNIT)

    await asyncio.gather(*(one(i, w) for i, w in enumerate(writers)))


async def test_postgres_failover(pg_pair: PostgresPair, fault_redis: Redis, spawned: list[App],
                                 tmp_path: Path) -> None:
    """The primary is SIGKILLed mid-stream and the synchronous standby promoted: every acked message is on the new
    primary once and reached its reader once, no false ack, and the two pnav processes needed no restart."""
    started = time.monotonic()
    count, messages = 50, 8
    a, b = _serve(spawned, 2, pg_pair.url, fault_redis.url, tmp_path)
    tchats = await seed_tchats(pg_pair.primary.url, count)
    writers = [ResilientVisitor(t["token"], [a.ws_base]) for t in tchats]
    readers = [ResilientVisitor(t["token"], [b.ws_base]) for t in tchats]
    for visitor in (*writers, *readers):
        visitor.start()
    await asyncio.wait_for(asyncio.gather(*(v.ready.wait() for v in (*writers, *readers))), 60 * UNIT)

    sending = asyncio.ensure_future(_exchange(writers, "p", messages))
    await asyncio.sleep(1.5 * UNIT)
    acked_before = sum(len(w.acks) for w in writers)
    pg_pair.primary.kill9()
    killed_at = time.monotonic()
    await asyncio.sleep(1 * UNIT)  # the time an operator or Patroni takes to decide; pnav answers meanwhile
    await asyncio.to_thread(pg_pair.standby.promote)
    promoted_at = time.monotonic()
    await asyncio.wait_for(sending, 120 * UNIT)
    for writer, reader in zip(writers, readers, strict=True):
        await reader.wait_seq(max(writer.acks.values()), 30 * UNIT)

    stored = await stored_messages(pg_pair.standby.url)
    tally = Tally()
    for tchat, writer, reader in zip(tchats, writers, readers, strict=True):
        compare(tchat["id"], writer, [reader], stored.get(tchat["id"], {}), tally)
    refused = sum(w.errors["storage_unavailable"] for w in writers)
    reconnections = sum(v.connections - 1 for v in (*writers, *readers))
    # From the loss of the primary to the first ack after the promotion (acks right after the kill were commits
    # the standby had already confirmed).
    recovered = min(at for w in writers for _, at in w.acked_while if at > promoted_at) - killed_at
    for visitor in (*writers, *readers):
        await visitor.close()
    assert a.alive and b.alive, "a pnav process died"
    assert a.healthy() and b.healthy()
    assert tally.acknowledged == count * messages and tally.problems == [] and tally.lost == 0, tally.problems[:5]
    assert pg_pair.standby.sql("SELECT pg_is_in_recovery()") == "f"
    record(Row(
        key="3c-postgres-failover",
        fault="PostgreSQL primaire tué (SIGKILL de tous ses processus), secours synchrone promu 1 s plus tard "
              "(pg_ctl promote) ; URL multi-hôtes target_session_attrs=read-write",
        load=f"{count} tchats, {2 * count} sockets sur 2 processus pnav (écrivain sur A, lecteur sur B), Redis",
        inputs=f"{count * messages} messages dont {count * messages - acked_before} après la panne ; {refused} refus "
               f"« storage_unavailable » renvoyés avec le même client_id ; {reconnections} reconnexions ; "
               f"promotion {promoted_at - killed_at:.1f} s après la perte du primaire, premier acquittement "
               f"après la promotion à {recovered:.1f} s",
        acknowledged=tally.acknowledged, delivered=tally.delivered, lost=tally.lost,
        result="chaque message acquitté est une fois dans le nouveau primaire et chez son lecteur ; aucun faux "
               "acquittement ; pnav n'a pas redémarré",
        seconds=round(time.monotonic() - started, 1),
    ))


async def _leave(base: str, token: str) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=10 * UNIT) as http:
        response = await http.post("/api/v1/conversations/leave", json={"token": token})
        assert response.status_code == 204


async def test_sentinel_failover(sentinels: SentinelGroup, fault_pg: Postgres, spawned: list[App],
                                 tmp_path: Path) -> None:
    """The Redis master is killed and Sentinel promotes the replica: publishes, presence and both subscribers
    follow it by themselves; live delivery and queue positions resume with nothing lost and no duplicate."""
    started = time.monotonic()
    await wipe(fault_pg.url)
    count, messages = 20, 8
    a, b = _serve(spawned, 2, fault_pg.url, sentinels.url, tmp_path)
    old_master = sentinels.master_port()
    tchats = await seed_tchats(fault_pg.url, count)
    writers = [ResilientVisitor(t["token"], [a.ws_base]) for t in tchats]
    readers = [ResilientVisitor(t["token"], [b.ws_base]) for t in tchats]
    for visitor in (*writers, *readers):
        visitor.start()
    await asyncio.wait_for(asyncio.gather(*(v.ready.wait() for v in (*writers, *readers))), 60 * UNIT)
    positions_before = [r.position for r in readers]

    sending = asyncio.ensure_future(_exchange(writers, "s", messages))
    await asyncio.sleep(1 * UNIT)
    sentinels.master.kill()
    killed_at = time.monotonic()
    await asyncio.wait_for(sending, 120 * UNIT)
    deadline = time.monotonic() + 30 * UNIT
    while sentinels.master_port() == old_master:
        assert time.monotonic() < deadline, "Sentinel did not promote the replica"
        await asyncio.sleep(0.2 * UNIT)
    promoted_after = time.monotonic() - killed_at
    for writer, reader in zip(writers, readers, strict=True):
        await reader.wait_seq(max(writer.acks.values()), 30 * UNIT)

    # Live again through the new master: a message from A reaches B's reader, and the first tchat leaving the
    # queue (through A) moves every other one up by one place on B's sockets.
    deadline = time.monotonic() + 30 * UNIT
    while not (a.healthy() and b.healthy()):
        assert time.monotonic() < deadline, "/healthz did not come back after the failover"
        await asyncio.sleep(0.25 * UNIT)
    await writers[1].send("after-failover", "Vous êtes toujours là ?")
    await readers[1].wait_seq(writers[1].acks["after-failover"], 10 * UNIT)
    await _leave(a.base, tchats[0]["token"])
    deadline = time.monotonic() + 10 * UNIT
    while [r.position for r in readers[1:]] != [p - 1 for p in positions_before[1:] if p is not None]:
        assert time.monotonic() < deadline, f"positions {[r.position for r in readers]} from {positions_before}"
        await asyncio.sleep(0.1 * UNIT)

    stored = await stored_messages(fault_pg.url)
    tally = Tally()
    for tchat, writer, reader in zip(tchats, writers, readers, strict=True):
        compare(tchat["id"], writer, [reader], stored.get(tchat["id"], {}), tally)
    reconnections = sum(v.connections - 1 for v in (*writers, *readers))
    for visitor in (*writers, *readers):
        await visitor.close()
    assert a.alive and b.alive
    assert tally.problems == [] and tally.lost == 0, tally.problems[:5]
    for app in (a, b):  # each subscriber found the promoted replica through Sentinel by itself
        assert "redis subscriber reconnected" in app.log_path.read_text()
    record(Row(
        key="2c-redis-sentinel-failover",
        fault="maître Redis tué (kill -9), Sentinel (3 sentinelles, quorum 2) promeut le réplica ; "
              "PNAV_REDIS_URL=redis+sentinel://…",
        load=f"{count} tchats en file, {2 * count} sockets sur 2 processus (écrivain sur A, lecteur sur B)",
        inputs=f"{count * messages + 1} messages pendant et après la bascule ; nouveau maître connu "
               f"{promoted_after:.1f} s après la perte ; {reconnections} reconnexions de clients ; positions en "
               "file mises à jour sur B après un départ sur A",
        acknowledged=tally.acknowledged, delivered=tally.delivered, lost=tally.lost,
        result="la diffusion et les positions reprennent seules par le nouveau maître, rien de perdu ni doublé",
        seconds=round(time.monotonic() - started, 1),
    ))
