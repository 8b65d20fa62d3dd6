"""The client side of the benchmark: visitor and operator sockets speaking pnav's frames, and a recorder that turns
timestamps carried in message bodies into delivery latencies (sender and receiver share one clock: this process).

Every message body is ``"<client_id> <perf_counter at send>"``; the peer that receives it records the latency,
the sender records the ack. Loss is an acked message that never reached the peer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

# Opening handshakes wait at most 30 s: under a connect storm the server accepts in bursts, never this slowly.
OPEN_TIMEOUT = 30.0
# How many sockets are being opened at once: enough to fill the server's accept queue, not so many that the
# benchmark process spends its time in handshakes it cannot read yet.
CONNECT_CONCURRENCY = 200


def percentile(ordered: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list (exact, no interpolation)."""
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary_ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"count": len(ordered), "p50": percentile(ordered, 50) * 1000, "p95": percentile(ordered, 95) * 1000,
            "p99": percentile(ordered, 99) * 1000, "max": (ordered[-1] * 1000 if ordered else float("nan"))}


@dataclass
class Recorder:
    sent: dict[str, float] = field(default_factory=dict)
    acked: set[str] = field(default_factory=set)
    delivered: set[str] = field(default_factory=set)
    latencies: list[float] = field(default_factory=list)
    by_author: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    waiters: dict[str, asyncio.Future[None]] = field(default_factory=dict)
    recording: bool = True

    def on_body(self, body: str, author: str) -> None:
        client_id, _, stamp = body.partition(" ")
        if client_id in self.delivered or client_id not in self.sent:
            return  # a replay of something already seen, or a message of an earlier phase
        self.delivered.add(client_id)
        if self.recording:
            latency = time.perf_counter() - float(stamp)
            self.latencies.append(latency)
            self.by_author.setdefault(author, []).append(latency)
        waiter = self.waiters.pop(client_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def on_error(self, frame: dict[str, Any]) -> None:
        code = str(frame.get("code"))
        self.errors[code] = self.errors.get(code, 0) + 1

    def lost(self) -> list[str]:
        return [c for c in self.acked if c not in self.delivered]

    def reset(self) -> None:
        self.sent.clear()
        self.acked.clear()
        self.delivered.clear()
        self.latencies.clear()
        self.by_author.clear()
        self.errors.clear()


class Side:
    """One socket of a pair; ``peer_author`` is whose messages it measures."""

    peer_author = ""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.ws: ClientConnection | None = None
        self.reader: asyncio.Task[None] | None = None
        self.last_seq: dict[str, int] = {}

    async def _read(self) -> None:
        assert self.ws is not None
        recorder = self.recorder
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in self.ws:
                frame = json.loads(raw)
                kind = frame.get("type")
                if kind == "message":
                    conversation = frame.get("conversation", "")
                    if frame["seq"] > self.last_seq.get(conversation, 0):
                        self.last_seq[conversation] = frame["seq"]
                    if frame["author"] == self.peer_author:
                        recorder.on_body(frame["body"], frame["author"])
                elif kind == "ack":
                    recorder.acked.add(frame["client_id"])
                elif kind == "error":
                    recorder.on_error(frame)

    def _stamp(self, client_id: str) -> str:
        now = time.perf_counter()
        self.recorder.sent[client_id] = now
        return f"{client_id} {now:.6f}"

    async def _send(self, frame: dict[str, Any]) -> None:
        """Send a frame; a socket the server closed counts as an error (``send_failed``), not a crash."""
        try:
            if self.ws is None:
                raise websockets.ConnectionClosedOK(None, None)
            await self.ws.send(json.dumps(frame))
        except websockets.ConnectionClosed:
            self.recorder.on_error({"code": "send_failed"})
            self.recorder.sent.pop(str(frame.get("client_id")), None)

    async def close(self, abort: bool = False) -> None:
        if self.ws is None:
            return
        if abort:
            self.ws.transport.abort()
        else:
            with contextlib.suppress(websockets.ConnectionClosed, OSError):
                await self.ws.close()
        if self.reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self.reader
        self.ws = None


async def _connect(url: str, headers: dict[str, str] | None = None) -> ClientConnection:
    return await websockets.connect(url, additional_headers=headers, compression=None, open_timeout=OPEN_TIMEOUT,
                                    ping_interval=None, max_size=65_536, max_queue=None)


async def _expect(ws: ClientConnection, kind: str) -> dict[str, Any]:
    while True:
        frame: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), OPEN_TIMEOUT))
        if frame.get("type") == kind:
            return frame
        if frame.get("type") == "error":
            raise RuntimeError(f"{kind} expected, got error {frame.get('code')}")


class Visitor(Side):
    peer_author = "operator"

    def __init__(self, recorder: Recorder, base: str, token: str) -> None:
        super().__init__(recorder)
        self.base, self.token = base, token

    async def connect(self) -> float:
        """Open, hello with the last seq seen, wait for welcome; returns how long that took."""
        started = time.perf_counter()
        self.ws = await _connect(f"{self.base}/ws/visitor")
        after = max(self.last_seq.values(), default=0)
        await self.ws.send(json.dumps({"type": "hello", "token": self.token, "after": after}))
        await _expect(self.ws, "welcome")
        self.reader = asyncio.ensure_future(self._read())
        return time.perf_counter() - started

    async def say(self, client_id: str) -> None:
        await self._send({"type": "send", "client_id": client_id, "body": self._stamp(client_id)})


class Operator(Side):
    peer_author = "visitor"

    def __init__(self, recorder: Recorder, base: str, origin: str, cookie: str, conversations: list[str]) -> None:
        super().__init__(recorder)
        self.base, self.origin, self.cookie, self.conversations = base, origin, cookie, conversations

    async def connect(self) -> None:
        headers = {"Cookie": f"pnav_session={self.cookie}", "Origin": self.origin}
        self.ws = await _connect(f"{self.base}/ws/operator", headers)
        await _expect(self.ws, "welcome")
        self.reader = asyncio.ensure_future(self._read())
        for conversation in self.conversations:
            # pnav already follows the tchats this operator took; the relay learns them from ``resume``.
            await self.ws.send(json.dumps({"type": "resume", "conversation": conversation, "after": 0}))

    async def say(self, conversation: str, client_id: str) -> None:
        await self._send({"type": "send", "conversation": conversation, "client_id": client_id,
                          "body": self._stamp(client_id)})


async def bounded(coroutines: list[Any], limit: int = CONNECT_CONCURRENCY) -> list[Any]:
    """Run coroutines with at most ``limit`` at a time; exceptions are returned, not raised."""
    semaphore = asyncio.Semaphore(limit)

    async def one(coroutine: Any) -> Any:
        async with semaphore:
            return await coroutine

    return await asyncio.gather(*(one(c) for c in coroutines), return_exceptions=True)


async def wait_delivered(recorder: Recorder, seconds: float) -> None:
    """Wait until every acked message reached its peer, or ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not recorder.lost() and len(recorder.acked) >= len(recorder.sent) - sum(recorder.errors.values()):
            return
        await asyncio.sleep(0.05)
