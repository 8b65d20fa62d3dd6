"""A visitor client that behaves like the browser one under faults: reconnects to any server, resumes by seq,
resends an unacknowledged message with the same client_id until it is acknowledged."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from typing import Any

import httpx
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from tests.servers import UNIT

RETRYABLE = {"storage_unavailable", "rate_limited"}


async def start_tchat(base: str, postal_code: str = "75011", *, local_address: str | None = None,
                      attempts: int = 20) -> dict[str, Any]:
    """Create a tchat; a 5xx or a dropped connection is retried like the start page does."""
    transport = httpx.AsyncHTTPTransport(local_address=local_address) if local_address else None
    async with httpx.AsyncClient(base_url=base, transport=transport, timeout=10 * UNIT) as http:
        for _ in range(attempts):
            with contextlib.suppress(httpx.HTTPError):
                response = await http.post("/api/v1/conversations", json={
                    "category": "domestic_violence", "role": "victim", "postal_code": postal_code})
                if response.status_code == 201:
                    data: dict[str, Any] = response.json()
                    return data
            await asyncio.sleep(0.25 * UNIT)
    raise RuntimeError("could not start a tchat")


class ResilientVisitor:
    def __init__(self, token: str, bases: list[str], first: int = 0, local_address: str | None = None) -> None:
        self.token, self.bases, self.server = token, bases, first
        self.local_address = local_address
        self.last_seq = 0
        self.seen: list[int] = []  # every message seq received, in order, across reconnections
        self.acks: dict[str, int] = {}
        self.errors: Counter[str] = Counter()
        self.error_messages: dict[str, str] = {}
        self.connections = 0
        self.position: int | None = None  # place in the queue, from welcome and queue frames
        # Seconds from each send attempt to its answer (ack or error); None: no answer before the client gave up.
        self.answer_times: list[float | None] = []
        # Acks received for client ids this client had not (yet) seen acknowledged: a false ack would show here.
        self.acked_while: list[tuple[str, float]] = []
        self.ws: ClientConnection | None = None
        self.ready = asyncio.Event()
        self.closing = False
        self.fatal: str | None = None
        self._waiters: dict[str, asyncio.Future[tuple[str, Any]]] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def close(self) -> None:
        self.closing = True
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    @property
    def duplicates(self) -> int:
        return sum(n - 1 for n in Counter(self.seen).values() if n > 1)

    async def _connect(self) -> ClientConnection:
        delay = 0.05
        while True:
            base = self.bases[self.server % len(self.bases)]
            local = (self.local_address, 0) if self.local_address else None
            try:
                ws = await websockets.connect(f"{base}/ws/visitor", compression=None, open_timeout=5 * UNIT,
                                              ping_interval=None, close_timeout=1 * UNIT, local_addr=local)
                await ws.send(json.dumps({"type": "hello", "token": self.token, "after": self.last_seq}))
                while True:
                    frame = json.loads(await asyncio.wait_for(ws.recv(), 10 * UNIT))
                    if frame["type"] == "welcome":
                        self.position = frame.get("position")
                        return ws
                    if frame["type"] == "error" and frame.get("code") == "invalid_token":
                        self.fatal = "invalid_token"
                        raise RuntimeError("the server refused the token")
                    self._on_frame(frame)
            except (OSError, TimeoutError, ConnectionClosed, InvalidHandshake, InvalidStatus):
                # The server is gone or refuses for now: try the next one, backing off like the browser client.
                self.server += 1
                await asyncio.sleep(delay * UNIT)
                delay = min(delay * 2, 1.0)

    async def _run(self) -> None:
        while not self.closing:
            ws = await self._connect()
            self.ws, self.connections = ws, self.connections + 1
            self.ready.set()
            try:
                async for raw in ws:
                    self._on_frame(json.loads(raw))
            except ConnectionClosed:
                pass
            self.ready.clear()
            self.ws = None
            for waiter in self._waiters.values():
                if not waiter.done():
                    waiter.set_result(("lost", None))

    def _on_frame(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "message":
            seq = int(frame["seq"])
            self.seen.append(seq)
            self.last_seq = max(self.last_seq, seq)
        elif kind == "queue":
            self.position = int(frame["position"])
        elif kind == "ack":
            self._resolve(frame["client_id"], ("ack", int(frame["seq"])))
        elif kind == "error":
            code = str(frame.get("code"))
            self.errors[code] += 1
            self.error_messages[code] = str(frame.get("message"))
            if frame.get("client_id"):
                self._resolve(frame["client_id"], ("error", frame))

    def _resolve(self, client_id: str, result: tuple[str, Any]) -> None:
        waiter = self._waiters.get(client_id)
        if waiter is not None and not waiter.done():
            waiter.set_result(result)

    async def send(self, client_id: str, body: str) -> int:
        """Send until acknowledged; returns the seq. Retries reuse the client_id, as the browser's outbox does."""
        while True:
            await asyncio.wait_for(self.ready.wait(), 60 * UNIT)
            ws = self.ws
            if ws is None:
                continue
            waiter: asyncio.Future[tuple[str, Any]] = asyncio.get_running_loop().create_future()
            self._waiters[client_id] = waiter
            loop = asyncio.get_running_loop()
            asked = loop.time()
            try:
                await ws.send(json.dumps({"type": "send", "client_id": client_id, "body": body}, ensure_ascii=False))
                kind, value = await asyncio.wait_for(waiter, 10 * UNIT)
                self.answer_times.append(loop.time() - asked)
            except (ConnectionClosed, TimeoutError):
                kind, value = "lost", None
                self.answer_times.append(None)
            finally:
                self._waiters.pop(client_id, None)
            if kind == "ack":
                self.acks[client_id] = value
                self.acked_while.append((client_id, loop.time()))
                return int(value)
            if kind == "error":
                if value.get("code") not in RETRYABLE:
                    raise AssertionError(f"send refused: {value}")
                assert value.get("code") != "storage_unavailable" or value.get("retry") is True
                await asyncio.sleep((1.0 if value.get("code") == "rate_limited" else 0.5) * UNIT)

    async def wait_seq(self, seq: int, timeout: float) -> None:
        """Wait until this visitor has seen every message up to ``seq``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.last_seq < seq:
            if loop.time() > deadline:
                raise TimeoutError(f"saw up to {self.last_seq}, expected {seq}")
            await asyncio.sleep(0.05 * UNIT)
