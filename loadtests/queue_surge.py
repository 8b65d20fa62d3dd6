"""A surge in the queue (issue 19): N visitors arrive over a window and wait, operators take 20 per second.

Each visitor starts a tchat the real way (``POST /api/v1/conversations``, then ``/ws/visitor`` with ``hello``) in
one queue (Paris, violences conjugales: police); operators' consoles (real signed-in sessions, capacity raised:
the benchmark measures positions, not the fair-load limits) send ``take`` for the oldest waiting tchat at a steady
rate during the arrivals and ``--surge-takes-after`` seconds after the last one. Then nothing moves for
``--surge-settle`` seconds and every visitor still waiting must have been told the place the database gives.

Measured:

- **position latency**: for each take of a tchat ahead of a waiting visitor (time: the take's commit, ``taken_at``
  in the database, same clock), the time until that visitor is told a place at least as good as the true one
  after it (a coalesced update covering several takes counts for each of them). Pairs where the visitor was taken
  itself within ``MISS_AFTER`` seconds are left out; a pair never answered within ``MISS_AFTER`` while the
  visitor still waited is a **missed** update.
- **wrong**: visitors still waiting at the end whose last known place differs from the database's;
  **regressions**: a place told that is worse than one told before (never true in a queue that only moves up);
  **duplicates**: the same place told twice in a row.
- server CPU (user+system, % of one core) over the whole surge, over the arrivals alone, and over the
  ``--surge-takes-after`` seconds after the last arrival (everyone waits, operators take: the steady cost of a long
  queue); RSS before and after, and the bench's own CPU.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import websockets
from websockets.asyncio.client import ClientConnection

from loadtests.harness import OPEN_TIMEOUT, percentile
from loadtests.targets import Target

# A visitor told nothing for this long after a take ahead of them (while still waiting) missed that update.
MISS_AFTER = 5.0
CATEGORY = "domestic_violence"
POSTAL_CODE = "75011"  # Paris 11e: police
CAPACITY = 1_000_000
CONSOLES = 4
RECONNECT_AFTER = 1.0  # seconds a console waits before reconnecting: the page's first retry (RECONNECT_MIN_MS)


@dataclass
class Waiting:
    index: int
    conversation: str = ""
    token: str = ""
    ws: ClientConnection | None = None
    welcome_at: float = 0.0
    told: list[tuple[float, int]] = field(default_factory=list)  # (time.time(), position), welcome first
    joined_at: float | None = None
    closed_at: float | None = None
    failed: str = ""
    retried: bool = False


async def setup_operators(url: str, count: int) -> list[str]:
    """``count`` police operators with a console session each and a capacity the surge never reaches."""
    from chat import store
    from chat.db import create_engine, session_factory, utcnow
    from loadtests.targets import password_hash
    from operators import sessions
    from operators.models import Account, AccountSession

    engine = create_engine(url)
    factory = session_factory(engine)
    now, run, cookies = utcnow(), secrets.token_hex(3), []
    try:
        async with factory.begin() as session:
            for index in range(count):
                account_id = store.new_id()
                session.add(Account(id=account_id, username=f"surge-{run}-{index}", role="operator", force="police",
                                    display_name=f"Surge {index}", password_hash=password_hash(),
                                    totp_secret="A" * 32, totp_last_step=0, disabled=False, failed_logins=0,
                                    created_at=now, capacity=CAPACITY))
                cookie = secrets.token_urlsafe(32)
                cookies.append(cookie)
                session.add(AccountSession(id=sessions.session_id_of(cookie), account_id=account_id,
                                           csrf_secret=secrets.token_urlsafe(16), created_at=now, last_seen_at=now,
                                           expires_at=now + sessions.ABSOLUTE_LIFETIME))
    finally:
        await engine.dispose()
    return cookies


async def _read_visitor(visitor: Waiting) -> None:
    assert visitor.ws is not None
    with contextlib.suppress(websockets.ConnectionClosed):
        async for raw in visitor.ws:
            frame = json.loads(raw)
            kind = frame.get("type")
            if kind == "queue":
                visitor.told.append((time.time(), int(frame["position"])))
            elif kind == "joined" and visitor.joined_at is None:
                visitor.joined_at = time.time()
    visitor.closed_at = time.time()


async def _arrive(visitor: Waiting, http: httpx.AsyncClient, ws_base: str) -> None:
    try:
        body = {"category": CATEGORY, "role": "victim", "postal_code": POSTAL_CODE}
        try:
            response = await http.post("/api/v1/conversations", json=body)
        except (httpx.ReadError, httpx.RemoteProtocolError):
            # A kept-alive connection the server closed as it was reused (its keep-alive timeout): a browser sends
            # the request again on a new connection, so does this visitor, once.
            visitor.retried = True
            response = await http.post("/api/v1/conversations", json=body)
        if response.status_code != 201:
            visitor.failed = f"http {response.status_code}"
            return
        body = response.json()
        visitor.conversation, visitor.token = body["id"], body["token"]
        visitor.ws = await websockets.connect(f"{ws_base}/ws/visitor", compression=None, open_timeout=OPEN_TIMEOUT,
                                              ping_interval=None, max_queue=None)
        await visitor.ws.send(json.dumps({"type": "hello", "token": visitor.token, "after": 0}))
        while True:
            frame = json.loads(await asyncio.wait_for(visitor.ws.recv(), OPEN_TIMEOUT))
            if frame.get("type") == "welcome":
                visitor.welcome_at = time.time()
                if frame.get("position") is not None:
                    visitor.told.append((visitor.welcome_at, int(frame["position"])))
                break
            if frame.get("type") == "error":
                visitor.failed = str(frame.get("code"))
                return
    except (OSError, httpx.HTTPError, websockets.WebSocketException, TimeoutError) as exc:
        visitor.failed = type(exc).__name__


class Console:
    """An operator's console as the page behaves: after the server closes it (a storage error says "try again"),
    it reconnects by itself; a take sent while it is away is lost, as a click would be."""

    def __init__(self, base: str, origin: str, cookie: str) -> None:
        self.base, self.origin, self.cookie = base, origin, cookie
        self.ws: ClientConnection | None = None
        self.runner: asyncio.Task[None] | None = None
        self.closing = False
        self.errors: dict[str, int] = {}
        self.reconnects = 0
        self.snapshots = 0
        self.snapshot_bytes = 0

    async def connect(self) -> None:
        await self._open()
        self.runner = asyncio.ensure_future(self._run())

    async def _open(self) -> None:
        # A long queue's snapshot is bounded now, but the bench also runs older checkouts: no frame size limit.
        self.ws = await websockets.connect(f"{self.base}/ws/operator", compression=None, open_timeout=OPEN_TIMEOUT,
                                           additional_headers={"Cookie": f"pnav_session={self.cookie}",
                                                               "Origin": self.origin},
                                           ping_interval=None, max_size=None, max_queue=None)

    async def _run(self) -> None:
        while not self.closing:
            await self._read()
            while not self.closing:
                await asyncio.sleep(RECONNECT_AFTER)
                with contextlib.suppress(OSError, websockets.WebSocketException, TimeoutError):
                    await self._open()
                    self.reconnects += 1
                    break

    async def _read(self) -> None:
        assert self.ws is not None
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in self.ws:
                if '"queue_state"' in raw[:64]:  # not parsed: only counted
                    self.snapshots += 1
                    self.snapshot_bytes += len(raw)
                    continue
                frame = json.loads(raw)
                if frame.get("type") == "error":
                    code = str(frame.get("code"))
                    self.errors[code] = self.errors.get(code, 0) + 1

    async def take(self, conversation: str) -> None:
        if self.ws is None:
            return
        with contextlib.suppress(websockets.ConnectionClosed):
            await self.ws.send(json.dumps({"type": "take", "conversation": conversation}))

    async def close(self) -> None:
        self.closing = True
        if self.ws is not None:
            with contextlib.suppress(websockets.ConnectionClosed, OSError):
                await self.ws.close()
        if self.runner is not None:
            self.runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.runner


async def _truth(url: str) -> list[tuple[str, float | None, str]]:
    """Every tchat of the surge's queue, in queue order: (id, taken_at, status), from the database."""
    from sqlalchemy import select

    from chat.db import create_engine, session_factory
    from chat.models import Conversation

    def epoch(value: datetime | None) -> float | None:
        if value is None:
            return None
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()

    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            rows = (await session.execute(
                select(Conversation.id, Conversation.taken_at, Conversation.status)
                .where(Conversation.force == "police", Conversation.category == CATEGORY)
                .order_by(Conversation.priority, Conversation.queued_at, Conversation.id))).all()
    finally:
        await engine.dispose()
    return [(row[0], epoch(row[1]), row[2]) for row in rows]


def analyse(visitors: list[Waiting], truth: list[tuple[str, float | None, str]], end: float) -> dict[str, Any]:
    """Latencies, missed updates, wrong final places, regressions and duplicates (module docstring)."""
    rank_of = {conversation: rank for rank, (conversation, _, _) in enumerate(truth)}
    latencies: list[float] = []
    missed = wrong = regressions = duplicates = 0
    wrong_examples: list[tuple[int, int]] = []
    for visitor in visitors:
        if visitor.conversation not in rank_of or not visitor.told or visitor.closed_at is not None:
            continue  # never welcomed, or its socket was closed (counted as disconnected)
        rank = rank_of[visitor.conversation]
        _, taken_at, status = truth[rank]
        positions = [p for _, p in visitor.told]
        regressions += sum(1 for a, b in itertools.pairwise(positions) if b > a)
        duplicates += sum(1 for a, b in itertools.pairwise(positions) if b == a)
        # The takes of tchats ahead of this one, in commit order.
        ahead = sorted(t for _, t, _ in truth[:rank] if t is not None)
        limit = taken_at if taken_at is not None else end
        for k, change in enumerate(ahead, start=1):
            if change <= visitor.welcome_at or change + MISS_AFTER > limit:
                continue  # the welcome already said it, or the visitor was taken too soon to tell
            expected = rank + 1 - k
            # The first place told at least as good as the true one after this take (before the take, the true
            # place was worse: an earlier frame can only match by being the same read, a clock tick apart).
            seen = next((t for t, p in visitor.told if p <= expected), None)
            if seen is None or seen - change > MISS_AFTER:
                missed += 1
                continue
            latencies.append(max(0.0, seen - change))
        if status == "queued":
            truly = 1 + sum(1 for _, _, other in truth[:rank] if other == "queued")
            if positions[-1] != truly:
                wrong += 1
                if len(wrong_examples) < 5:
                    wrong_examples.append((positions[-1], truly))
    ordered = sorted(latencies)
    return {
        "updates": len(ordered),
        "latency_ms": {"p50": percentile(ordered, 50) * 1000, "p99": percentile(ordered, 99) * 1000,
                       "max": (ordered[-1] * 1000 if ordered else float("nan"))},
        "missed": missed, "wrong": wrong, "wrong_examples": wrong_examples, "regressions": regressions,
        "duplicates": duplicates,
        "untimed_ahead": sum(1 for _, taken, status in truth if taken is None and status != "queued"),
    }


async def queue_surge(target: Target, count: int, window: float, take_rate: float, takes_after: float,
                      settle: float) -> dict[str, Any]:
    """The surge on a started pnav target (module docstring); returns the figures."""
    assert target.database_url is not None
    cookies = await setup_operators(target.database_url, CONSOLES)
    base = target.ws_bases[0]
    http_base = target.origin(0)
    consoles = [Console(base, http_base, cookie) for cookie in cookies]
    for console in consoles:
        await console.connect()
    await asyncio.sleep(1.0)
    visitors = [Waiting(index) for index in range(count)]
    readers: list[asyncio.Task[None]] = []
    cpu0, rss0, wall0 = target.cpu_seconds(), target.rss(), time.time()
    bench_cpu0 = time.process_time()
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    takes_sent = 0
    marks: dict[str, tuple[float, float]] = {}  # phase end → (time, server CPU seconds)
    async with httpx.AsyncClient(base_url=http_base, limits=limits, timeout=OPEN_TIMEOUT) as http:

        async def arrivals() -> None:
            pending: list[asyncio.Task[None]] = []
            for visitor in visitors:
                due = wall0 + visitor.index * window / count
                await asyncio.sleep(max(0.0, due - time.time()))
                pending.append(asyncio.ensure_future(_arrive(visitor, http, base)))

                def started(task: asyncio.Task[None], v: Waiting = visitor) -> None:
                    if v.ws is not None and not v.failed:
                        readers.append(asyncio.ensure_future(_read_visitor(v)))

                pending[-1].add_done_callback(started)
            await asyncio.gather(*pending)
            marks["arrived"] = (time.time(), target.cpu_seconds())

        async def takes() -> None:
            nonlocal takes_sent
            cursor, tick = 0, 0
            # Operators keep taking ``takes_after`` seconds after the last arrival, however long the arrivals took
            # (a load generator sharing the server's cores stretches them): that stretch is the "everyone waits"
            # phase, measured on its own.
            while "arrived" not in marks or time.time() < marks["arrived"][0] + takes_after:
                tick += 1
                await asyncio.sleep(max(0.0, wall0 + tick / take_rate - time.time()))
                # The oldest tchat this bench knows to be waiting (arrival order); none yet: skip this tick.
                while cursor < count and visitors[cursor].failed:
                    cursor += 1
                if cursor >= count or not visitors[cursor].welcome_at:
                    continue
                await consoles[takes_sent % len(consoles)].take(visitors[cursor].conversation)
                cursor += 1
                takes_sent += 1

        await asyncio.gather(arrivals(), takes())
    surge_end, cpu_surge = time.time(), target.cpu_seconds()
    arrived_at, cpu_arrived = marks["arrived"]
    await asyncio.sleep(settle)
    cpu1, rss1, wall1 = target.cpu_seconds(), target.rss(), time.time()
    bench_cpu = time.process_time() - bench_cpu0
    truth = await _truth(target.database_url)
    figures = analyse(visitors, truth, wall1)
    waiting_end = sum(1 for _, _, status in truth if status == "queued")
    for visitor in visitors:
        if visitor.ws is not None:
            with contextlib.suppress(websockets.ConnectionClosed, OSError):
                await visitor.ws.close()
    for reader in readers:
        reader.cancel()
    for console in consoles:
        await console.close()
    disconnected = sum(1 for v in visitors if v.closed_at is not None and v.closed_at < wall1)
    failures: dict[str, int] = {}
    for visitor in visitors:
        if visitor.failed:
            failures[visitor.failed] = failures.get(visitor.failed, 0) + 1
    return {
        "visitors": count, "window_s": window, "take_rate": take_rate, "takes_sent": takes_sent,
        "taken": sum(1 for _, taken, _ in truth if taken is not None), "waiting_at_end": waiting_end,
        "peak_waiting": max(0, count - takes_sent), "failures": failures, "disconnected": disconnected,
        "arrivals_retried": sum(1 for v in visitors if v.retried),
        "server_cpu_pct": 100 * (cpu_surge - cpu0) / (surge_end - wall0), "surge_s": surge_end - wall0,
        "arrivals_s": arrived_at - wall0, "server_cpu_pct_arrivals": 100 * (cpu_arrived - cpu0) / (arrived_at - wall0),
        "server_cpu_pct_waiting": 100 * (cpu_surge - cpu_arrived) / (surge_end - arrived_at),
        "server_cpu_pct_settle": 100 * (cpu1 - cpu_surge) / (wall1 - surge_end),
        "rss_mib_before": rss0 / 2**20, "rss_mib_after": rss1 / 2**20,
        "bench_cpu_pct": 100 * bench_cpu / (wall1 - wall0),
        "console_snapshots": sum(c.snapshots for c in consoles),
        "console_snapshot_mib": sum(c.snapshot_bytes for c in consoles) / 2**20,
        "console_errors": {k: sum(c.errors.get(k, 0) for c in consoles) for c in consoles for k in c.errors},
        "console_reconnects": sum(c.reconnects for c in consoles),
        **figures,
    }
