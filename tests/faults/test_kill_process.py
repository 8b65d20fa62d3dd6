"""kill -9 one of two `pnav serve` processes while tchats exchange messages across them."""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Callable

import pytest

from tests.faults.checks import Tally, compare, seed_tchats, stored_messages
from tests.faults.processes import App, Postgres
from tests.faults.results import Row, record
from tests.faults.visitors import ResilientVisitor
from tests.servers import UNIT

# Two sockets per tchat (writer on one process, reader on the other). The issue asks for 200 tchats: on the two
# shared cores of CI that takes about a minute (400 handshakes, then a herd of 200 reconnecting to the survivor),
# so `make test` holds 100 and PNAV_FAULT_TCHATS=200 runs the full count (SECURITY.md's figures say which ran).
TCHATS = int(os.environ.get("PNAV_FAULT_TCHATS", "100"))
MESSAGES = 5
RAMP = 25

pytestmark = pytest.mark.slow


async def _writer(visitor: ResilientVisitor, index: int) -> None:
    rng = random.Random(index)
    for n in range(MESSAGES):
        await visitor.send(f"k{index}-{n}", f"Message {n} du tchat {index} : il m'a menacée hier soir.")
        await asyncio.sleep(rng.uniform(0.3, 0.9) * UNIT)


async def test_kill_one_of_two_processes(apps: Callable[..., list[App]], fault_pg: Postgres) -> None:
    """Every acknowledged message is in the database and reaches every reader exactly once after a kill -9."""
    started = time.monotonic()
    a, b = apps(2)
    bases = [a.ws_base, b.ws_base]
    tchats = await seed_tchats(fault_pg.url, TCHATS)
    writers = [ResilientVisitor(t["token"], bases, first=i % 2) for i, t in enumerate(tchats)]
    readers = [ResilientVisitor(t["token"], bases, first=(i + 1) % 2) for i, t in enumerate(tchats)]
    everyone = [*writers, *readers]
    for start in range(0, len(everyone), RAMP):  # people arrive over time, not all in the same millisecond
        for visitor in everyone[start:start + RAMP]:
            visitor.start()
        await asyncio.wait_for(asyncio.gather(*(v.ready.wait() for v in everyone[start:start + RAMP])), 60 * UNIT)

    sending = asyncio.gather(*(_writer(w, i) for i, w in enumerate(writers)))
    await asyncio.sleep(1.5 * UNIT)
    acked_before_kill = sum(len(w.acks) for w in writers)
    a.kill()
    await asyncio.wait_for(sending, 90 * UNIT)
    assert b.alive and b.healthy()

    for writer, reader in zip(writers, readers, strict=True):
        final = max(writer.acks.values())
        await asyncio.gather(writer.wait_seq(final, 30 * UNIT), reader.wait_seq(final, 30 * UNIT))
    stored = await stored_messages(fault_pg.url)
    tally = Tally()
    for tchat, writer, reader in zip(tchats, writers, readers, strict=True):
        compare(tchat["id"], writer, [reader], stored.get(tchat["id"], {}), tally)
    reconnected = sum(1 for v in (*writers, *readers) if v.connections > 1)
    for visitor in (*writers, *readers):
        await visitor.close()

    assert acked_before_kill > 0 and reconnected >= TCHATS // 2
    assert tally.problems == [] and tally.lost == 0
    assert tally.acknowledged == TCHATS * MESSAGES
    record(Row(
        key="1-kill", fault="kill -9 d'un des deux processus pnav en plein échange",
        load=f"{TCHATS} tchats, {2 * TCHATS} sockets sur 2 processus, PostgreSQL + Redis",
        inputs=f"{MESSAGES} messages par tchat ; {acked_before_kill} acquittés avant le kill ; "
               f"{reconnected} sockets reconnectées au survivant",
        acknowledged=tally.acknowledged, delivered=tally.delivered, lost=tally.lost,
        result="rien de perdu : chaque message acquitté est en base et lu une fois par chaque lecteur",
        seconds=round(time.monotonic() - started, 1),
    ))
