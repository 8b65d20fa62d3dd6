"""The WebSocket protocol pnav serves with: uvicorn's, keeping less per idle socket, and behaving the same."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from uvicorn.config import Config
from uvicorn.server import ServerState
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import Protocol
from websockets.uri import parse_uri

from pnav.websocket_protocol import Gate, Inbox, LeanWebSocketProtocol
from tests.client import start_tchat
from tests.servers import UNIT, LiveServer


async def test_inbox_hands_events_in_order_to_one_reader() -> None:
    """Events put before or during a get come out in order; a cancelled get leaves the inbox usable."""
    inbox = Inbox()
    inbox.put_nowait({"type": "websocket.connect"})
    assert await inbox.get() == {"type": "websocket.connect"}
    waiting = asyncio.ensure_future(inbox.get())
    await asyncio.sleep(0)
    inbox.put_nowait({"type": "websocket.receive", "text": "a"})
    inbox.put_nowait({"type": "websocket.receive", "text": "b"})
    assert (await waiting)["text"] == "a" and inbox.qsize() == 1
    assert (await inbox.get())["text"] == "b" and inbox.empty()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(inbox.get(), 0.01)
    inbox.put_nowait({"type": "websocket.disconnect", "code": 1000})
    assert (await inbox.get())["type"] == "websocket.disconnect"


async def test_inbox_refuses_a_second_concurrent_reader() -> None:
    """Two tasks reading one socket is a bug: the second fails loudly instead of leaving the first asleep."""
    inbox = Inbox()
    first = asyncio.ensure_future(inbox.get())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError):
        await inbox.get()
    inbox.put_nowait({"type": "websocket.connect"})
    assert (await first)["type"] == "websocket.connect"


async def test_gate_holds_writers_while_closed_and_releases_them_all() -> None:
    """While the transport is paused every writer waits; resuming releases all of them."""
    gate = Gate()
    assert gate.is_set() and await gate.wait()
    gate.clear()
    writers = [asyncio.ensure_future(gate.wait()) for _ in range(3)]
    await asyncio.sleep(0.01 * UNIT)
    assert not any(w.done() for w in writers)
    gate.set()
    assert await asyncio.gather(*writers) == [True, True, True]


def _server_protocols(live: LiveServer) -> list[LeanWebSocketProtocol]:
    return [p for p in live.server.server_state.connections if isinstance(p, LeanWebSocketProtocol)]


class RawVisitor:
    """A WebSocket client over a bare TCP stream, to control exactly which bytes are sent when."""

    def __init__(self, live: LiveServer) -> None:
        self.live = live
        self.client = ClientProtocol(parse_uri(f"{live.ws_base}/ws/visitor"))
        self.request = self.client.connect()
        self.request.headers["Origin"] = live.base
        self.messages: list[dict[str, Any]] = []

    async def open(self, early_frame: str | None = None) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.live.port)
        self.client.send_request(self.request)
        data = b"".join(self.client.data_to_send())
        if early_frame is not None:  # sent with the request, before the 101: what RFC 6455 tells clients not to do
            data += Frame(Opcode.TEXT, early_frame.encode()).serialize(mask=True, extensions=[])
        self.writer.write(data)
        await self.writer.drain()
        while not any(isinstance(e, Response) for e in self._events()):
            self.client.receive_data(await asyncio.wait_for(self.reader.read(65536), 5 * UNIT))

    def _events(self) -> list[object]:
        """What the client parsed so far; text frames are kept for ``expect``."""
        events = self.client.events_received()
        self.messages += [json.loads(e.data) for e in events if isinstance(e, Frame) and e.opcode is Opcode.TEXT]
        return list(events)

    async def say(self, frame: dict[str, Any]) -> None:
        self.client.send_text(json.dumps(frame).encode())
        self.writer.write(b"".join(self.client.data_to_send()))
        await self.writer.drain()

    async def expect(self, kind: str) -> dict[str, Any]:
        while True:
            self._events()
            for frame in self.messages:
                if frame["type"] == kind:
                    self.messages.remove(frame)
                    return frame
            self.client.receive_data(await asyncio.wait_for(self.reader.read(65536), 5 * UNIT))

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


async def test_an_accepted_socket_keeps_no_handshake(live: LiveServer) -> None:
    """Once accepted, the server side holds neither the handshake request nor its response, and chats normally."""
    tchat = await start_tchat(live)
    visitor = RawVisitor(live)
    await visitor.open()
    await visitor.say({"type": "hello", "token": tchat["token"]})
    await visitor.expect("welcome")
    [protocol] = _server_protocols(live)
    assert not hasattr(protocol, "request") and not hasattr(protocol, "response")
    assert protocol.conn.parser.gi_code is Protocol.parse.__code__  # the frame parser, not the handshake's
    await visitor.say({"type": "send", "body": "Bonjour", "client_id": "c1"})
    assert (await visitor.expect("ack"))["seq"] == 1
    await visitor.close()


class Transport(asyncio.Transport):
    """Collects what the protocol writes: enough transport for a sans-I/O check of the handshake alone."""

    def __init__(self) -> None:
        super().__init__()
        self.written = b""
        self.closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += bytes(data)

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 5000) if name in ("sockname", "peername") else default

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


@pytest.mark.parametrize("early", [False, True])
async def test_bytes_of_a_frame_sent_before_the_accept_are_not_lost(early: bool) -> None:
    """A frame begun before the handshake is accepted (TCP may deliver its first bytes early) still arrives whole;
    when nothing came early the frame parser replaces the handshake parser."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        return None

    config = Config(app, ws_ping_interval=None)
    config.load()
    protocol = LeanWebSocketProtocol(config=config, server_state=ServerState(), app_state={})
    protocol.run_asgi = lambda: asyncio.sleep(0)  # type: ignore[method-assign]  # the test plays the application
    protocol.connection_made(Transport())
    client = ClientProtocol(parse_uri("ws://127.0.0.1:5000/ws/visitor"))
    client.send_request(client.connect())
    frame = Frame(Opcode.TEXT, b'{"type":"hello"}').serialize(mask=True, extensions=[])
    protocol.data_received(b"".join(client.data_to_send()))  # what uvicorn's HTTP layer hands over on upgrade
    if early:
        protocol.data_received(frame[:3])
    await protocol.send({"type": "websocket.accept"})
    assert (protocol.conn.parser.gi_code is Protocol.parse.__code__) is not early
    protocol.data_received(frame[3:] if early else frame)
    assert await protocol.receive() == {"type": "websocket.connect"}
    assert await protocol.receive() == {"type": "websocket.receive", "text": '{"type":"hello"}'}


class StuckTransport(Transport):
    """A transport whose peer reads nothing: it records an abort, and says how much is still unsent."""

    def __init__(self) -> None:
        super().__init__()
        self.aborted = False
        self.unsent = 0

    def abort(self) -> None:
        self.aborted = self.closing = True

    def get_write_buffer_size(self) -> int:
        return self.unsent


async def _accepted(transport: Transport, stall_timeout: float) -> LeanWebSocketProtocol:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        return None

    config = Config(app, ws_ping_interval=None)
    config.load()
    protocol = LeanWebSocketProtocol(config=config, server_state=ServerState(), app_state={},
                                     stall_timeout=stall_timeout)
    protocol.run_asgi = lambda: asyncio.sleep(0)  # type: ignore[method-assign]  # the test plays the application
    protocol.connection_made(transport)
    client = ClientProtocol(parse_uri("ws://127.0.0.1:5000/ws/visitor"))
    client.send_request(client.connect())
    protocol.data_received(b"".join(client.data_to_send()))
    await protocol.send({"type": "websocket.accept"})
    return protocol


async def test_a_transport_paused_for_the_stall_delay_is_aborted() -> None:
    """Paused (the peer stopped reading) then resumed within the delay: kept; paused for the whole delay: aborted,
    not closed politely (a polite close would wait for a buffer that never drains)."""
    transport = StuckTransport()
    protocol = await _accepted(transport, stall_timeout=0.2)
    protocol.pause_writing()
    await asyncio.sleep(0.05)
    protocol.resume_writing()
    await asyncio.sleep(0.3)
    assert not transport.aborted and protocol.stall_timer is None
    protocol.pause_writing()
    await asyncio.sleep(0.4)
    assert transport.aborted


async def test_a_keepalive_timeout_with_data_unsent_aborts() -> None:
    """uvicorn closes on a keepalive timeout; with data still unsent the transport is aborted at once."""
    for unsent, aborted in ((0, False), (70_000, True)):
        transport = StuckTransport()
        protocol = await _accepted(transport, stall_timeout=20)
        transport.unsent = unsent
        protocol.keepalive_timeout()
        assert transport.closing and transport.aborted is aborted
