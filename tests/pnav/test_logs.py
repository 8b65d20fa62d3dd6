"""The logs carry no address, tracebacks included, and a visitor who goes away is not an error of the server."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import os
import socket
import struct
import threading
from collections.abc import Iterator

import httpx
import pytest

from chat import conversations
from pnav.logs import RedactAddresses, redact
from tests.conftest import settings_for
from tests.servers import UNIT, LiveServer

MASK = "[adresse masquée]"
TCHAT = {"category": "sexual_violence", "role": "victim", "postal_code": "75011"}
ADDRESSES = [
    "2001:db8::1", "2001:db8::17", "fe80::1ff:fe23:4567:890a", "2001:db8:85a3::8a2e:370:7334", "::ffff:192.0.2.1",
    "::1", "fe80::1%eth0", "2001:DB8:0:0:0:0:0:1", "203.0.113.9",
]
# How addresses appear in library messages: bracketed with a port, after a colon, before punctuation.
SHAPES = ["peer {}", "[{}]:443", "reset by {}.", "addr={}, retrying", "client:{}", "({}): refused"]


@pytest.mark.parametrize("address", ADDRESSES)
def test_every_written_form_is_masked_whole(address: str) -> None:
    """Compressed IPv6 loses its tail too (2001:db8::1 used to come out as ``2001:db8[…]`` + nothing, or keep
    its last groups), whatever surrounds it."""
    for shape in SHAPES:
        line = shape.format(address)
        cleaned = redact(line)
        assert MASK in cleaned, line
        for group in {g for g in address.replace("%", ":").replace(".", ":").split(":") if len(g) > 1}:
            assert group.lower() not in cleaned.lower().replace(MASK.lower(), ""), (line, cleaned)


def test_times_and_ratios_stay_readable() -> None:
    for text in ("at 12:30:45", "12:30:45.123 took 3:2", "version 1.2"):
        assert redact(text) == text


def _formatted(record_exc: BaseException, message: str = "request failed") -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactAddresses())
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("pnav.test.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        try:
            raise record_exc
        except type(record_exc):
            logger.exception(message)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def test_tracebacks_are_redacted() -> None:
    """An exception's text (exc_info) often names the peer: the traceback written to the log does not."""
    out = _formatted(ConnectionResetError("connection reset by 2001:db8::7 (port 51234)"))
    assert "Traceback" in out and "ConnectionResetError" in out
    assert "2001:db8" not in out and "::7" not in out and MASK in out
    nested = _formatted(OSError("from 203.0.113.9"), "from [2001:db8::abcd]:443")
    assert "203.0.113" not in nested and "2001:db8" not in nested and "abcd" not in nested


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('gone') / 'pnav.sqlite3'}"
    live = LiveServer(settings_for(url, "memory://")).start()
    yield live
    live.stop()


def _raw_socket(port: int, frames: tuple[str, ...], read_handshake: bool) -> None:
    """A visitor that sends its handshake (and maybe frames), then resets the connection (SO_LINGER 0)."""
    sock = socket.create_connection(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET /ws/visitor HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    if read_handshake:
        received = b""
        while b"\r\n\r\n" not in received:
            received += sock.recv(4096)
    for frame in frames:
        data, mask = frame.encode(), os.urandom(4)
        length = bytes([0x80 | len(data)]) if len(data) < 126 else bytes([0x80 | 126]) + struct.pack("!H", len(data))
        sock.sendall(bytes([0x81]) + length + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


async def test_a_visitor_going_away_is_not_an_error(server: LiveServer, caplog: pytest.LogCaptureFixture) -> None:
    """Sockets reset before the handshake's answer, right after a hello (valid or not) and in the middle of a
    replay: the server logs nothing at warning level or above (no storage error, no traceback)."""
    caplog.set_level(logging.WARNING)
    async with httpx.AsyncClient(base_url=server.base, timeout=30 * UNIT) as http:  # a fresh server's first tchat
        created = await http.post("/api/v1/conversations", json=TCHAT)
    assert created.status_code == 201, created.text
    tchat = created.json()
    for _ in range(40):
        await server.call(lambda s: conversations.post(s, tchat["id"], author="operator", body="x" * 2000))
    hello = json.dumps({"type": "hello", "token": tchat["token"], "after": 0})
    wrong = json.dumps({"type": "hello", "token": "pas-un-jeton", "after": 0})
    for _ in range(10):
        for frames, read in (((), False), ((wrong,), True), ((hello,), True),
                             ((hello, json.dumps({"type": "resume", "after": 0})), True)):
            await asyncio.to_thread(_raw_socket, server.port, frames, read)
        await asyncio.sleep(0.02 * UNIT)
    await asyncio.sleep(1.0 * UNIT)
    logged = [f"{r.levelname} {r.name}: {r.getMessage()}" for r in caplog.records
              if r.thread != threading.get_ident() and r.levelno >= logging.WARNING]
    assert logged == []
