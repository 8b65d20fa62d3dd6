"""Redis restarted and PostgreSQL stopped under two and one `pnav serve` processes."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable

import pytest

from tests.faults.checks import Tally, compare, seed_tchats, stored_messages
from tests.faults.processes import App, Postgres, Redis
from tests.faults.results import Row, record
from tests.faults.visitors import ResilientVisitor
from tests.servers import UNIT

pytestmark = pytest.mark.slow

TCHATS = 40
MESSAGES = 8
# The outage: ten seconds without the database, long enough for every pooled connection to fail.
OUTAGE = 10 * UNIT


async def _writer(visitor: ResilientVisitor, index: int, prefix: str) -> None:
    rng = random.Random(index)
    for n in range(MESSAGES):
        await visitor.send(f"{prefix}{index}-{n}", f"Message {n} : je n'ose pas rentrer chez moi.")
        await asyncio.sleep(rng.uniform(0.2, 0.6) * UNIT)


async def test_redis_restart(apps: Callable[..., list[App]], fault_pg: Postgres, fault_redis: Redis) -> None:
    """Redis killed and restarted mid-run: live delivery comes back by itself, resume fills the gap, nothing lost."""
    started = time.monotonic()
    a, b = apps(2)
    tchats = await seed_tchats(fault_pg.url, TCHATS)
    writers = [ResilientVisitor(t["token"], [a.ws_base]) for t in tchats]
    readers = [ResilientVisitor(t["token"], [b.ws_base]) for t in tchats]
    for visitor in (*writers, *readers):
        visitor.start()
    await asyncio.wait_for(asyncio.gather(*(v.ready.wait() for v in (*writers, *readers))), 60 * UNIT)

    sending = asyncio.gather(*(_writer(w, i, "r") for i, w in enumerate(writers)))
    await asyncio.sleep(1 * UNIT)
    fault_redis.kill()
    await asyncio.sleep(2 * UNIT)
    fault_redis.start()
    await asyncio.wait_for(sending, 90 * UNIT)
    for writer, reader in zip(writers, readers, strict=True):
        await reader.wait_seq(max(writer.acks.values()), 30 * UNIT)

    # After the restart a new message reaches the reader live, without any reconnection of its own.
    await writers[0].send("after-restart", "Vous êtes toujours là ?")
    await readers[0].wait_seq(writers[0].acks["after-restart"], 10 * UNIT)
    stored = await stored_messages(fault_pg.url)
    tally = Tally()
    for tchat, writer, reader in zip(tchats, writers, readers, strict=True):
        compare(tchat["id"], writer, [reader], stored.get(tchat["id"], {}), tally)
    reconnections = sum(v.connections - 1 for v in (*writers, *readers))
    for visitor in (*writers, *readers):
        await visitor.close()
    assert await _healthy(a) and await _healthy(b)
    assert tally.problems == [] and tally.lost == 0
    record(Row(
        key="2-redis", fault="Redis tué (kill -9) puis relancé 2 s plus tard",
        load=f"{TCHATS} tchats, {2 * TCHATS} sockets sur 2 processus (écrivain sur A, lecteur sur B)",
        inputs=f"{MESSAGES} messages par tchat pendant la panne ; {reconnections} reconnexions de clients",
        acknowledged=tally.acknowledged, delivered=tally.delivered, lost=tally.lost,
        result="rien de perdu : la diffusion reprend seule, les trous sont comblés depuis la base",
        seconds=round(time.monotonic() - started, 1),
    ))


async def test_postgres_stopped(apps: Callable[..., list[App]], fault_pg: Postgres) -> None:
    """Ten seconds without PostgreSQL: French retry errors and never an ack, 503, then exactly one message each."""
    started = time.monotonic()
    (app,) = apps(1)
    tchats = await seed_tchats(fault_pg.url, 10)
    writers = [ResilientVisitor(t["token"], [app.ws_base]) for t in tchats]
    for writer in writers:
        writer.start()
    await asyncio.wait_for(asyncio.gather(*(w.ready.wait() for w in writers)), 30 * UNIT)
    for i, writer in enumerate(writers):
        await writer.send(f"before-{i}", "Bonjour, j'ai besoin d'aide.")

    fault_pg.stop()
    try:
        sends = [asyncio.ensure_future(w.send(f"during-{i}", "Il est rentré, il crie.")) for i, w in enumerate(writers)]
        await asyncio.sleep(OUTAGE / 2)
        health_during = app.health()
        await asyncio.sleep(OUTAGE / 2)
        acked_during = sum(1 for i, w in enumerate(writers) if f"during-{i}" in w.acks)
        refused = sum(w.errors["storage_unavailable"] for w in writers)
        messages = {m for w in writers for code, m in w.error_messages.items() if code == "storage_unavailable"}
        alive = app.alive
    finally:
        fault_pg.start()
    await asyncio.wait_for(asyncio.gather(*sends), 60 * UNIT)
    assert alive and health_during == 503 and acked_during == 0
    assert refused >= len(writers) and all("renvoyé automatiquement" in m for m in messages)

    deadline = time.monotonic() + 30 * UNIT
    while not app.healthy():
        assert time.monotonic() < deadline, "pnav did not recover after PostgreSQL came back"
        await asyncio.sleep(0.2 * UNIT)
    stored = await stored_messages(fault_pg.url)
    tally = Tally()
    for tchat, writer in zip(tchats, writers, strict=True):
        await writer.wait_seq(max(writer.acks.values()), 10 * UNIT)
        compare(tchat["id"], writer, [], stored.get(tchat["id"], {}), tally)
        assert sorted(stored.get(tchat["id"], {})) == sorted(["before-" + tchat_index(writers, writer),
                                                              "during-" + tchat_index(writers, writer)])
    for writer in writers:
        await writer.close()
    assert tally.problems == [] and tally.lost == 0
    record(Row(
        key="3-postgres", fault="PostgreSQL arrêté 10 s (pg_ctl stop -m fast) puis relancé",
        load="10 tchats connectés à 1 processus",
        inputs=f"1 message par tchat pendant la panne, renvoyé avec le même client_id ; {refused} refus "
               f"« storage_unavailable » en français, 0 acquittement pendant la panne, /healthz 503",
        acknowledged=tally.acknowledged, delivered=tally.delivered, lost=tally.lost,
        result="rien de perdu ni doublé : un seul message par client_id après le retour de la base",
        seconds=round(time.monotonic() - started, 1),
    ))


async def _healthy(app: App) -> bool:
    """/healthz says 200 again within a few seconds (the broker's own reconnection runs in the background)."""
    for _ in range(20):
        if app.healthy():
            return True
        await asyncio.sleep(0.25 * UNIT)
    return False


def tchat_index(writers: list[ResilientVisitor], writer: ResilientVisitor) -> str:
    return str(writers.index(writer))
