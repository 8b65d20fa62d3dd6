"""The client address and scheme behind a trusted reverse proxy (PNAV_FORWARDED_ALLOW_IPS), and only behind it."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import select

from chat.settings import ConfigurationError, Settings
from escalation import crypto
from escalation.models import SealedIdentity
from tests.conftest import settings_for
from tests.servers import UNIT, LiveServer

TCHAT = {"category": "sexual_violence", "role": "victim", "postal_code": "75011"}


@pytest.fixture(scope="module")
def private_pem(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[bytes, Path]]:
    folder = tmp_path_factory.mktemp("forwarded-keys")
    private, public = crypto.generate_keypair()
    (folder / "public.pem").write_bytes(public)
    yield private, folder / "public.pem"


def _server(tmp_path_factory: pytest.TempPathFactory, public: Path, trusted: tuple[str, ...]) -> LiveServer:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('forwarded') / 'pnav.sqlite3'}"
    extra = {"PNAV_TCHATS_PER_HOUR_PER_SOURCE": "2", "PNAV_SEAL_PUBLIC_KEY": str(public),
             "PNAV_CONTACT_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()}
    return LiveServer(settings_for(url, "memory://", extra=extra, forwarded_allow_ips=trusted)).start()


@pytest.fixture(scope="module")
def behind(tmp_path_factory: pytest.TempPathFactory, private_pem: tuple[bytes, Path]) -> Iterator[LiveServer]:
    """A server that believes the proxy on 127.0.0.1, with 2 new tchats an hour per source."""
    server = _server(tmp_path_factory, private_pem[1], ("127.0.0.1/32",))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def direct(tmp_path_factory: pytest.TempPathFactory, private_pem: tuple[bytes, Path]) -> Iterator[LiveServer]:
    """The same server trusting no proxy (the default)."""
    server = _server(tmp_path_factory, private_pem[1], ())
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def fresh_limits(behind: LiveServer, direct: LiveServer) -> None:
    """Each test starts with empty per-source counters, whatever ran before."""
    for server in (behind, direct):
        server.state.extensions.pop("chat.limits", None)


async def _start(server: LiveServer, forwarded_for: str | None) -> httpx.Response:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    async with httpx.AsyncClient(base_url=server.base) as http:
        return await http.post("/api/v1/conversations", json=TCHAT, headers=headers)


async def _sealed_addresses(server: LiveServer, private: bytes, conversation: str) -> list[str]:
    async def rows(state: Any) -> list[bytes]:
        async with state.sessions() as session:
            return list(await session.scalars(select(SealedIdentity.ciphertext)
                                              .where(SealedIdentity.conversation_id == conversation)))

    for _ in range(50):
        blobs = await server.call(rows)
        if blobs:
            return sorted(json.loads(crypto.unseal(private, blob, conversation))["address"] for blob in blobs)
        await asyncio.sleep(0.05 * UNIT)
    return []


def test_forwarded_allow_ips_is_checked() -> None:
    """PNAV_FORWARDED_ALLOW_IPS takes addresses and CIDRs, is empty by default, and a typo stops the start."""
    assert Settings.from_env({"PNAV_ENV": "test"}).forwarded_allow_ips == ()
    given = Settings.from_env({"PNAV_ENV": "test", "PNAV_FORWARDED_ALLOW_IPS": "127.0.0.1, 10.0.0.0/8,::1"})
    assert given.forwarded_allow_ips == ("127.0.0.1/32", "10.0.0.0/8", "::1/128")
    for wrong in ("*", "nginx", "10.0.0.0/33"):
        with pytest.raises(ConfigurationError, match="PNAV_FORWARDED_ALLOW_IPS"):
            Settings.from_env({"PNAV_ENV": "test", "PNAV_FORWARDED_ALLOW_IPS": wrong})


async def test_sealed_address_is_the_forwarded_client(behind: LiveServer, direct: LiveServer,
                                                      private_pem: tuple[bytes, Path]) -> None:
    """Behind the trusted proxy the sealed address is the client's (X-Forwarded-For); sent straight to a server
    that trusts no proxy, the header is ignored and the TCP peer is sealed."""
    started = (await _start(behind, "198.51.100.23")).json()
    assert await _sealed_addresses(behind, private_pem[0], started["id"]) == ["198.51.100.23"]
    forged = (await _start(direct, "198.51.100.23")).json()
    assert await _sealed_addresses(direct, private_pem[0], forged["id"]) == ["127.0.0.1"]


async def test_limits_count_the_forwarded_client(behind: LiveServer, direct: LiveServer) -> None:
    """Per-source limits: behind the proxy each client has its own bucket; a forged header sent straight to a
    server that trusts no proxy does not buy a new bucket."""
    assert [(await _start(behind, "198.51.100.1")).status_code for _ in range(3)] == [201, 201, 429]
    assert (await _start(behind, "198.51.100.2")).status_code == 201
    # A client behind the proxy cannot plant an address: nginx appends the real one, the last untrusted wins.
    assert (await _start(behind, "198.51.100.2, 198.51.100.1")).status_code == 429
    codes = [(await _start(direct, f"203.0.113.{n}")).status_code for n in range(3)]
    assert codes == [201, 201, 429]


async def _visitor_socket(server: LiveServer, token: str, headers: dict[str, str]) -> str:
    """Open /ws/visitor and say hello; returns the first frame type, or the refusal status."""
    try:
        async with websockets.connect(f"{server.ws_base}/ws/visitor", additional_headers=headers,
                                      compression=None, open_timeout=5 * UNIT) as ws:
            await ws.send(json.dumps({"type": "hello", "token": token, "after": 0}))
            return str(json.loads(await asyncio.wait_for(ws.recv(), 5 * UNIT))["type"])
    except websockets.InvalidStatus as exc:
        return str(exc.response.status_code)


async def test_origin_check_uses_the_forwarded_scheme(behind: LiveServer, direct: LiveServer) -> None:
    """A browser on https://host behind TLS sends Origin https://host: accepted when the trusted proxy says
    X-Forwarded-Proto https; the same headers sent straight to a server trusting no proxy are refused."""
    host = f"127.0.0.1:{behind.port}"
    headers = {"Origin": f"https://{host}", "X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.40"}
    token = (await _start(behind, "198.51.100.40")).json()["token"]
    assert await _visitor_socket(behind, token, headers) == "welcome"
    other = (await _start(direct, None)).json()["token"]
    headers["Origin"] = f"https://127.0.0.1:{direct.port}"
    assert await _visitor_socket(direct, other, headers) == "403"


async def test_cookies_are_secure_behind_tls(behind: LiveServer, direct: LiveServer) -> None:
    """The sign-in page's cookie is Secure when the trusted proxy says the page came over https."""
    async with httpx.AsyncClient(base_url=behind.base) as http:
        over_tls = await http.get("/login", headers={"X-Forwarded-Proto": "https"})
    async with httpx.AsyncClient(base_url=direct.base) as http:
        forged = await http.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "secure" in over_tls.headers["set-cookie"].lower()
    assert "secure" not in forged.headers["set-cookie"].lower()
