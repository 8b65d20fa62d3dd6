"""uvicorn's sans-I/O WebSocket protocol with less kept per connection, and the WebSocket settings pnav serves with.

pnav holds tens of thousands of mostly idle sockets, so what each one keeps matters (tracemalloc over 400 idle
visitor sockets, BENCHMARKS.md). uvicorn's protocol keeps, for the whole life of a socket, an ``asyncio.Queue`` for
the events the application has not read yet (four deques and an ``asyncio.Event``: ~2.5 KiB), an
``asyncio.Event`` telling whether the transport accepts writes (~0.7 KiB), and the parsed handshake request and
response with their headers (~4 KiB: uvicorn's attributes, and a local of websockets' handshake parser), which
nothing reads once the socket is accepted. This subclass changes only those three; framing, handshake, pings,
closing and every ASGI rule stay uvicorn's and websockets'.
"""

from __future__ import annotations

import asyncio
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


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's ``websockets-sansio`` protocol with the ``Inbox`` and ``Gate`` above, and the handshake request and
    response dropped once they have served."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
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

    def _forget_request(self) -> None:
        """websockets' handshake parser holds the parsed request (a local of its generator) for as long as it parses
        frames after it: start a plain frame parser instead, at the same place. The place is the start of a frame:
        a client sends nothing before it has read the 101 response (RFC 6455, 4.1), so nothing is buffered. A
        client that sent early keeps the handshake parser (the swap would lose a frame begun)."""
        if not self.conn.reader.buffer:
            self.conn.parser = Protocol.parse(self.conn)
            next(self.conn.parser)


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
    for name in ("handle_connect", "send", "pause_writing", "resume_writing", "start_keepalive", "connection_lost"):
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
        return [*problems, f"uvicorn cannot build pnav's WebSocket protocol ({type(exc).__name__}: {exc})"]
    finally:
        loop.close()
    for name in ("queue", "writable", "conn", "handshake_complete", "ping_interval"):
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
        lean.resume_writing()
        if not paused or not lean.writable.is_set():
            problems.append("uvicorn's WebSocket protocol ignores pause_writing: a client that stops reading would "
                            "grow the server's memory (uvicorn 0.52.1 and later honour it)")
    return problems


async def _no_app(scope: Any, receive: Any, send: Any) -> None:
    """The application of the protocol built for the check: never called (no connection is made)."""
