"""One anonymous visitor cannot hurt anyone else: replays, reads and silence cost the server little and bounded.

The server runs as `pnav serve` in its own process (its memory is measured, not the test's), on SQLite and the
in-process broker, with a 2,000-message tchat (8 MB of text) and stalled sockets aborted after 2 s instead of 20.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import psutil
import pytest
import websockets
from sqlalchemy import insert, update

from chat.db import create_cli_engine, utcnow
from chat.models import Conversation, Message
from tests.client import Visitor, start_tchat
from tests.conftest import migrated
from tests.faults.processes import App
from tests.faults.results import Row, record
from tests.servers import UNIT, LiveServer

MESSAGES = 2_000
BODY = 4_000  # characters: the longest message a visitor may send
STALL = 2  # PNAV_SOCKET_STALL_SECONDS of the server under test
RESUMES = 5 * 40
STUCK = 10
READS = 5_000
tried: dict[str, Any] = {}


class Served:
    """`pnav serve` as a test server: ``LiveServer``'s addresses for the clients, the process for its memory."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.base, self.ws_base, self.port = app.base, app.ws_base, app.port


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("hostile-visitor")
    url = migrated(f"sqlite+aiosqlite:///{folder / 'pnav.sqlite3'}")
    app = App(url, "memory://", folder, PNAV_SOCKET_STALL_SECONDS=str(STALL),
              PNAV_SOCKETS_PER_TCHAT=str(STUCK + 2)).spawn().wait_ready()
    yield Served(app)
    app.stop()


async def _long_tchat(served: Served) -> dict[str, Any]:
    """A tchat holding MESSAGES operator messages of BODY characters, written straight into the database."""
    tchat = await start_tchat(served)  # type: ignore[arg-type]  # same addresses as a LiveServer
    engine = create_cli_engine(served.app.env["PNAV_DATABASE_URL"])
    try:
        async with engine.begin() as connection:
            now = utcnow()
            await connection.execute(insert(Message), [
                {"conversation_id": tchat["id"], "seq": seq, "author": "operator", "kind": "text",
                 "body": f"{seq:05d} " + "x" * (BODY - 6), "client_id": None, "created_at": now}
                for seq in range(1, MESSAGES + 1)
            ])
            await connection.execute(update(Conversation).where(Conversation.id == tchat["id"])
                                     .values(last_seq=MESSAGES))
    finally:
        await engine.dispose()
    return tchat


class Peak:
    """The server's resident memory, sampled every 20 ms in a thread while the block runs."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.before = self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> Peak:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth_mib(self) -> float:
        return (self.peak - self.before) / 2**20


def _pid(served: Served) -> int:
    assert served.app.process is not None
    return served.app.process.pid


async def _warm_up(served: Served, token: str) -> None:
    """One full replay read to the end, so that what the measure sees is what more replays add."""
    visitor = Visitor(served, token)  # type: ignore[arg-type]
    await visitor.connect()
    await visitor.expect("message", timeout=30, seq=MESSAGES)
    await visitor.close()


async def test_resume_flood_is_rate_limited_and_streamed(served: Served) -> None:
    """200 ``resume after:0`` frames in a burst on a 2,000-message tchat: French rate_limited errors for most, the
    accepted ones replayed page by page, and the server's memory grows by less than 5 MiB."""
    tchat = await _long_tchat(served)
    await _warm_up(served, tchat["token"])
    visitor = Visitor(served, tchat["token"])  # type: ignore[arg-type]
    await visitor.connect(after=MESSAGES)
    replayed = errors = 0
    with Peak(_pid(served)) as memory:
        for _ in range(RESUMES):
            await visitor.send({"type": "resume", "after": 0})
        while True:
            try:
                frame = await visitor.recv(2)
            except TimeoutError:
                break
            if frame["type"] == "message":
                replayed += 1
            elif frame["type"] == "error":
                assert frame["code"] == "rate_limited" and "patientez" in frame["message"], frame
                errors += 1
        visitor.frames.clear()
    await visitor.close()
    replays = replayed / MESSAGES
    assert errors >= 1 and 1 <= replays <= 3, (errors, replayed)
    assert memory.growth_mib < 5, f"the server grew by {memory.growth_mib:.1f} MiB"
    tried.update(resumes=RESUMES, replays=replays, resume_errors=errors, resume_growth=memory.growth_mib)


def _tiny_socket(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    return sock


def _visitor_sockets(served: Served) -> float:
    metrics = httpx.get(f"{served.base}/metrics", timeout=5 * UNIT).text
    for line in metrics.splitlines():
        if line.startswith('pnav_sockets_open{kind="visitor"}'):
            return float(line.split()[-1])
    raise AssertionError("pnav_sockets_open{kind=\"visitor\"} not in /metrics")


async def test_a_socket_that_reads_nothing_is_bounded_then_aborted(served: Served) -> None:
    """Ten sockets say hello with ``after: 0`` on a 2,000-message tchat, then read nothing (4 KiB receive
    buffer): each holds at most a page of the transcript while it is stuck, and each is aborted STALL seconds
    after its transport stopped draining (it would otherwise stay as long as the peer keeps it open)."""
    tchat = await _long_tchat(served)
    await _warm_up(served, tchat["token"])
    stuck = []
    with Peak(_pid(served)) as memory:
        for _ in range(STUCK):
            ws = await websockets.connect(f"{served.ws_base}/ws/visitor", sock=_tiny_socket(served.port),
                                          compression=None, ping_interval=None, max_queue=1)
            await ws.send(json.dumps({"type": "hello", "token": tchat["token"], "after": 0}))
            stuck.append(ws)
        assert _visitor_sockets(served) == STUCK
        await asyncio.sleep(1.0)  # every replay has filled its socket's buffers by now
        started = time.monotonic()
        while _visitor_sockets(served) > 0:
            assert time.monotonic() - started < (STALL + 8) * UNIT, "stalled sockets were not aborted"
            await asyncio.sleep(0.2)
        aborted_after = time.monotonic() - started + 1.0
    assert memory.growth_mib < STUCK * 0.5, f"{STUCK} stuck sockets took {memory.growth_mib:.1f} MiB"
    for ws in stuck:
        ws.transport.abort()
    # The server still serves: a new visitor gets the whole transcript.
    await _warm_up(served, tchat["token"])
    tried.update(stuck=STUCK, stuck_growth=memory.growth_mib, aborted_after=aborted_after)


async def test_read_flood_does_not_reach_the_console(plain: LiveServer) -> None:
    """5,000 ``read`` frames in a burst: the operator's console stays connected and hears a few of them (the
    latest seq wins, at most twice a second), then the next message."""
    from chat import conversations
    from tests.operators.staff import console_for, make

    staff = await make(plain, "lecteur", "operator", "police")
    console = await console_for(plain, staff)
    tchat = await start_tchat(plain)
    await console.send({"type": "take", "conversation": tchat["id"]})
    await console.expect("taken", conversation=tchat["id"])
    visitor = Visitor(plain, tchat["token"])
    await visitor.connect()
    await plain.call(lambda s: conversations.post(s, tchat["id"], author="operator", body="Bonjour"))
    await visitor.expect("message", body="Bonjour")
    assert visitor.ws is not None
    for seq in range(READS):
        await visitor.ws.send(json.dumps({"type": "read", "seq": seq % 3 + 1}))
    await visitor.ws.send(json.dumps({"type": "read", "seq": 2}))
    await asyncio.sleep(1.0 * UNIT)
    await visitor.send({"type": "send", "client_id": "apres", "body": "Toujours là ?"})
    await console.expect("message", timeout=10, client_id="apres")
    reads = [f for f in console.frames if f["type"] == "read" and f.get("conversation") == tchat["id"]]
    assert 1 <= len(reads) <= 10, len(reads)
    assert reads[-1]["seq"] == 2  # the latest read wins
    await visitor.close()
    await console.close()
    tried.update(reads=READS + 1, reads_heard=len(reads))
    record(Row(
        key="5-hostile-visitor", fault="un visiteur hostile (relectures, lectures, socket muette)",
        load=f"1 processus pnav serve, SQLite + courtier mémoire ; un tchat de {MESSAGES} messages de {BODY} "
             f"caractères ({MESSAGES * BODY / 1e6:.0f} Mo) ; socket abandonnée après {STALL} s sans lecture "
             "(20 s par défaut)",
        inputs=f"{tried.get('resumes', 0)} « resume after:0 » en rafale : {tried.get('replays', 0):.0f} servie(s) "
               "page par page, les autres refusées (« rate_limited » en français, une réponse par seconde au plus : "
               f"{tried.get('resume_errors', 0)} ici), mémoire du serveur +{tried.get('resume_growth', 0):.1f} Mio ; "
               f"{tried.get('stuck', 0)} sockets "
               f"qui ne lisent plus rien après « after: 0 » : mémoire +{tried.get('stuck_growth', 0):.1f} Mio, "
               f"coupées en {tried.get('aborted_after', 0):.1f} s ; {READS + 1} trames « read » : "
               f"{len(reads)} transmises à la console, qui reste connectée",
        acknowledged=RESUMES + tried.get("stuck", 0) + READS + 1,
        delivered=RESUMES + tried.get("stuck", 0) + READS + 1, lost=0,
        result="mémoire bornée par socket, relectures limitées et diffusées au rythme du client, socket muette "
               "coupée, console préservée",
    ))
