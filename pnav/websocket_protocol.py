"""uvicorn's sans-I/O WebSocket protocol with less kept per connection, and the WebSocket settings pnav serves with.

pnav holds tens of thousands of mostly idle sockets, so what each one keeps matters (tracemalloc over 400 idle
visitor sockets, BENCHMARKS.md). uvicorn's protocol keeps, for the whole life of a socket, an ``asyncio.Queue`` for
the events the application has not read yet (four deques and an ``asyncio.Event``: ~2.5 KiB), an
``asyncio.Event`` telling whether the transport accepts writes (~0.7 KiB), and the parsed handshake request and
response with their headers (~4 KiB: uvicorn's attributes, and a local of websockets' handshake parser), which
nothing reads once the socket is accepted. This subclass changes only those three; framing, handshake, pings,
closing and every ASGI rule stay uvicorn's and websockets'.

It also aborts a socket whose peer stopped reading. uvicorn's flow control suspends the application's sends while
the transport's write buffer is over its high-water mark, and closes politely on a keepalive timeout; but a polite
close waits for that buffer to drain, which a peer that reads nothing never lets happen: the transport, its buffer
and the application's suspended send (with whatever it holds) would stay for as long as the peer keeps the TCP
connection open. So a transport paused for ``stall_timeout`` seconds in a row, or one closing on a keepalive
timeout with data still unsent, is aborted: its memory is freed at once and the application sees a disconnect.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from typing import Any

import uvicorn
from uvicorn._types import ASGIReceiveEvent, ASGISendEvent
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState
from websockets.http11 import Request
from websockets.protocol import Protocol


class Inbox:
    """What uvicorn puts for the application to ``receive``: a list, and a future only while the application waits.

    One reader at a time (an ASGI application reads its socket from one task); a second concurrent ``get`` is a
    bug and raises instead of leaving the first reader asleep."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: list[ASGIReceiveEvent] = []
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: ASGIReceiveEvent) -> None:
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)

    async def get(self) -> ASGIReceiveEvent:
        while not self._items:
            if self._waiter is not None:
                raise RuntimeError("two tasks are receiving from one WebSocket")
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                self._waiter = None
        return self._items.pop(0)


class Gate:
    """Whether the transport accepts writes (uvicorn's ``writable`` event): a flag, and futures only while the
    transport has paused writing (a client that stopped reading)."""

    __slots__ = ("_open", "_waiters")

    def __init__(self) -> None:
        self._open = True
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._open

    def set(self) -> None:
        self._open = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._open = False

    async def wait(self) -> bool:
        if self._open:
            return True
        waiter = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        await waiter
        return True


# A peer that reads nothing for this long is gone or hostile (a phone in a tunnel reads again within seconds, and
# the keepalive gives up on a silent one after 20 s + 20 s anyway).
STALL_TIMEOUT = 20.0


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's ``websockets-sansio`` protocol with the ``Inbox`` and ``Gate`` above, the handshake request and
    response dropped once they have served, and stalled peers aborted (``lean_protocol`` sets the delay)."""

    stall_timeout: float = STALL_TIMEOUT
    # Set only while the transport is paused: an idle socket keeps no timer (class default).
    stall_timer: asyncio.TimerHandle | None = None

    def __init__(self, *args: Any, stall_timeout: float = STALL_TIMEOUT, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if stall_timeout != STALL_TIMEOUT:
            self.stall_timeout = stall_timeout
        self.queue = Inbox()  # type: ignore[assignment]
        self.writable = Gate()  # type: ignore[assignment]

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        # The scope has what the application may read of the request (path, headers, client); the response is
        # still needed to accept or refuse the handshake.
        del self.request

    async def send(self, message: ASGISendEvent) -> None:
        await super().send(message)
        if message["type"] == "websocket.accept" and self.handshake_complete and hasattr(self, "response"):
            del self.response
            self._forget_request()

    def pause_writing(self) -> None:
        super().pause_writing()
        if self.stall_timer is None:
            self.stall_timer = self.loop.call_later(self.stall_timeout, self._abort_stalled)

    def resume_writing(self) -> None:
        super().resume_writing()
        self._forget_stall()

    def connection_lost(self, exc: Exception | None) -> None:
        self._forget_stall()
        super().connection_lost(exc)

    def keepalive_timeout(self) -> None:
        super().keepalive_timeout()
        # uvicorn closed the transport: with data still unsent the close would wait for a peer that reads nothing.
        if self.transport.get_write_buffer_size() > 0:
            self.transport.abort()

    def _abort_stalled(self) -> None:
        if "stall_timer" in vars(self):
            del self.stall_timer
        self.transport.abort()  # connection_lost follows: the application's pending send raises, its task ends

    def _forget_stall(self) -> None:
        timer = vars(self).pop("stall_timer", None)
        if timer is not None:
            timer.cancel()

    def _forget_request(self) -> None:
        """websockets' handshake parser holds the parsed request (a local of its generator) for as long as it parses
        frames after it: start a plain frame parser instead, at the same place. The place is the start of a frame:
        a client sends nothing before it has read the 101 response (RFC 6455, 4.1), so nothing is buffered. A
        client that sent early keeps the handshake parser (the swap would lose a frame begun)."""
        if not self.conn.reader.buffer:
            self.conn.parser = Protocol.parse(self.conn)
            next(self.conn.parser)


def lean_protocol(stall_timeout: float = STALL_TIMEOUT) -> Any:
    """The protocol (as uvicorn's ``ws`` argument) with another stall delay (PNAV_SOCKET_STALL_SECONDS; tests use a
    short one). A partial of the class rather than a subclass: ``pnav serve --workers N`` pickles it for each
    worker, and a class made at run time cannot be pickled."""
    if stall_timeout == STALL_TIMEOUT:
        return LeanWebSocketProtocol
    return functools.partial(LeanWebSocketProtocol, stall_timeout=float(stall_timeout))


# The WebSocket settings of every pnav server (the command line's and the tests'), as uvicorn.Config arguments.
WEBSOCKET_SETTINGS: dict[str, Any] = {
    "ws": LeanWebSocketProtocol,
    # Compression costs CPU and memory per socket for short chat frames, and compressed secrets leak length.
    "ws_per_message_deflate": False,
    # The transport refuses frames over 64 KiB outright; below that the protocol answers in French.
    "ws_max_size": 65_536,
    # Pings every 20 s keep NAT/carrier idle timeouts (often 30–60 s on mobile) from dropping sockets and detect
    # dead peers within 40 s.
    "ws_ping_interval": 20.0,
    "ws_ping_timeout": 20.0,
}


def reliance_problems(protocol: type[WebSocketsSansIOProtocol] = LeanWebSocketProtocol) -> list[str]:
    """What the installed uvicorn and websockets lack of what ``LeanWebSocketProtocol`` relies on (empty: all there).

    The subclass reaches below uvicorn's public surface: it replaces two attributes uvicorn's ``__init__`` sets, drops
    two that ``handle_connect`` sets, swaps websockets' frame parser, and relies on uvicorn's ``pause_writing`` (0.52.1)
    for back-pressure and on its keepalive pings (0.44). A version that moved any of them would start and then lose
    back-pressure or pings in silence, so ``pnav serve`` builds one protocol object as uvicorn would and checks."""
    problems: list[str] = []
    for name in ("handle_connect", "send", "pause_writing", "resume_writing", "start_keepalive", "connection_lost",
                 "keepalive_timeout"):
        if not callable(getattr(WebSocketsSansIOProtocol, name, None)):
            problems.append(f"uvicorn's WebSocketsSansIOProtocol has no {name}()")
    if not inspect.isgeneratorfunction(getattr(Protocol, "parse", None)):
        problems.append("websockets.protocol.Protocol.parse is not the frame parser generator pnav restarts")
    loop = asyncio.new_event_loop()
    try:
        config = uvicorn.Config(app=_no_app, lifespan="off", proxy_headers=False, log_config=None,
                                **{**WEBSOCKET_SETTINGS, "ws": protocol})
        config.load()
        plain = WebSocketsSansIOProtocol(config, ServerState(), {}, _loop=loop)
        lean = protocol(config, ServerState(), {}, _loop=loop)
    except Exception as exc:
        loop.close()
        return [*problems, f"uvicorn cannot build pnav's WebSocket protocol ({type(exc).__name__}: {exc})"]
    try:
        return problems + _check(plain, lean)
    finally:
        loop.close()


def _check(plain: WebSocketsSansIOProtocol, lean: Any) -> list[str]:
    problems: list[str] = []
    for name in ("queue", "writable", "conn", "handshake_complete", "ping_interval", "loop"):
        if name not in vars(plain):
            problems.append(f"uvicorn's WebSocketsSansIOProtocol no longer sets self.{name}")
    if getattr(plain, "ping_interval", None) != WEBSOCKET_SETTINGS["ws_ping_interval"]:
        problems.append("uvicorn's WebSocketsSansIOProtocol does not send keepalive pings (uvicorn >= 0.44 does)")
    for name in ("reader", "parser"):
        if not hasattr(getattr(plain, "conn", None), name):
            problems.append(f"websockets' ServerProtocol has no {name} (pnav swaps its parser after the handshake)")
    if not hasattr(getattr(getattr(plain, "conn", None), "reader", None), "buffer"):
        problems.append("websockets' StreamReader has no buffer")
    if not isinstance(getattr(lean, "writable", None), Gate) or not isinstance(getattr(lean, "queue", None), Inbox):
        problems.append("pnav's protocol did not replace uvicorn's queue and writable")
    else:
        lean.pause_writing()
        paused = not lean.writable.is_set()
        timed = lean.stall_timer is not None
        lean.resume_writing()
        if not timed or lean.stall_timer is not None:
            problems.append("pnav's protocol does not time a paused transport (stalled peers would not be aborted)")
        if not paused or not lean.writable.is_set():
            problems.append("uvicorn's WebSocket protocol ignores pause_writing: a client that stops reading would "
                            "grow the server's memory (uvicorn 0.52.1 and later honour it)")
    return problems


async def _no_app(scope: Any, receive: Any, send: Any) -> None:
    """The application of the protocol built for the check: never called (no connection is made)."""
