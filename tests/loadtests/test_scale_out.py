"""Scale-out with real processes: two ``pnav serve`` sharing PostgreSQL and Redis, a visitor on A, an operator
console on B. Messages cross both ways and both processes agree on queue positions."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
import websockets

from audit import keys
from chat.db import create_engine, session_factory
from loadtests.targets import pnav_servers
from tests.conftest import wipe
from tests.servers import UNIT

PASSWORD = "scale out test password"


@pytest.fixture
def two_processes(postgres_url: str, redis_url: str, tmp_path: Path) -> Iterator[list[str]]:
    with pnav_servers(postgres_url, redis_url, 2, tmp_path) as processes:
        ports = []
        for process in processes:
            args = process.args
            assert isinstance(args, list)
            ports.append(str(args[args.index("--port") + 1]))
        yield [f"http://127.0.0.1:{port}" for port in ports]


async def _operator(postgres_url: str) -> tuple[str, str]:
    from operators import accounts

    engine = create_engine(postgres_url)
    try:
        sessions = keys.bind(session_factory(engine), keys.TEST_KEY)
        created = await accounts.create(sessions, "scaleout-op", PASSWORD, role="operator", force="police")
    finally:
        await engine.dispose()
    secret = re.search(r"secret=([A-Z2-7]+)", created.otpauth_uri)
    assert secret is not None
    return created.account.username, secret.group(1)


async def _sign_in(base: str, username: str, secret: str) -> str:
    async with httpx.AsyncClient(base_url=base) as http:
        form = await http.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None
        response = await http.post("/login", data={"username": username, "password": PASSWORD,
                                                    "totp": pyotp.TOTP(secret).now(), "csrf": csrf.group(1)})
    assert response.status_code == 303, response.text
    cookie = response.cookies.get("pnav_session")
    assert cookie
    return cookie


async def _start(base: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base) as http:
        response = await http.post("/api/v1/conversations",
                                   json={"category": "domestic_violence", "role": "victim", "postal_code": "75011"})
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def _expect(ws: Any, kind: str, **match: Any) -> dict[str, Any]:
    async with asyncio.timeout(10 * UNIT):
        while True:
            frame: dict[str, Any] = json.loads(await ws.recv())
            if frame["type"] == kind and all(frame.get(k) == v for k, v in match.items()):
                return frame


async def test_visitor_on_a_operator_on_b(two_processes: list[str], postgres_url: str) -> None:
    """A visitor on process A and an operator console on B: queue positions agree, messages cross both ways."""
    a, b = two_processes
    await wipe(postgres_url)
    username, secret = await _operator(postgres_url)
    first, second = await _start(a), await _start(b)
    cookie = await _sign_in(b, username, secret)
    visitor = await websockets.connect(a.replace("http", "ws") + "/ws/visitor", compression=None)
    console = await websockets.connect(b.replace("http", "ws") + "/ws/operator", compression=None,
                                       additional_headers={"Cookie": f"pnav_session={cookie}", "Origin": b})
    try:
        await visitor.send(json.dumps({"type": "hello", "token": second["token"], "after": 0}))
        assert (await _expect(visitor, "welcome"))["position"] == 2
        queue = await _expect(console, "queue_state", category="domestic_violence")
        assert [item["id"] for item in queue["items"]] == [first["id"], second["id"]]

        await console.send(json.dumps({"type": "take", "conversation": first["id"]}))
        assert (await _expect(visitor, "queue"))["position"] == 1  # computed on B, delivered on A
        await console.send(json.dumps({"type": "take", "conversation": second["id"]}))
        await _expect(console, "taken", conversation=second["id"])
        assert (await _expect(visitor, "joined", who="operator"))["seq"] == 1  # a stored event takes a seq

        await console.send(json.dumps({"type": "send", "conversation": second["id"], "client_id": "o1",
                                       "body": "Bonjour, je vous écoute."}))
        assert (await _expect(visitor, "message", author="operator"))["body"] == "Bonjour, je vous écoute."
        await visitor.send(json.dumps({"type": "send", "client_id": "v1", "body": "Merci."}))
        ack = await _expect(visitor, "ack", client_id="v1")
        delivered = await _expect(console, "message", author="visitor", conversation=second["id"])
        assert delivered["seq"] == ack["seq"] == 3 and delivered["body"] == "Merci."
    finally:
        await visitor.close()
        await console.close()
