"""The production topology for real: nginx with deploy/nginx.conf and TLS in front of two `pnav serve` processes in
production mode on PostgreSQL + Redis, used through https:// and wss:// with the Origin a browser sends."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import secrets
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import websockets
from playwright.async_api import async_playwright, expect
from sqlalchemy import select

from audit import keys
from chat.db import create_engine, session_factory
from chat.settings import PROJECT_ROOT
from escalation import crypto
from escalation.models import LiftingRequest
from operators import accounts
from tests.client import FrameClient
from tests.conftest import migrated
from tests.deploy.proxy import Nginx, make_certificate
from tests.faults.processes import App
from tests.operators.staff import PASSWORD, Staff, login_csrf
from tests.servers import UNIT
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE, WAIT_MS

pytestmark = pytest.mark.slow

VISITOR_SOURCE = "127.0.0.9"
OTHER_SOURCE = "127.0.0.10"
# New tchats per hour per source address and per process: low, so that a flood is refused after a few requests.
TCHATS_PER_HOUR = 4


@dataclass
class Topology:
    nginx: Nginx
    apps: list[App]
    database_url: str
    env: dict[str, str]
    private_key: Path
    tls: ssl.SSLContext
    sessions: Any
    staff: dict[str, Staff] = field(default_factory=dict)

    @property
    def origin(self) -> str:
        """What a browser on the service's pages sends as Origin."""
        return self.nginx.base

    def https(self, source: str | None = None, base: str | None = None, **options: Any) -> httpx.AsyncClient:
        transport = httpx.AsyncHTTPTransport(verify=self.tls, local_address=source)
        return httpx.AsyncClient(base_url=base or self.nginx.base, transport=transport, **options)

    async def socket(self, path: str, source: str | None = None, **headers: str) -> FrameClient:
        client = FrameClient(None)  # type: ignore[arg-type]
        local = {"local_addr": (source, 0)} if source else {}
        client.ws = await websockets.connect(f"{self.nginx.ws_base}{path}", ssl=self.tls, compression=None,
                                             additional_headers={"Origin": self.origin, **headers},
                                             open_timeout=10 * UNIT, **local)
        return client

    async def make(self, username: str, role: str) -> Staff:
        created = await accounts.create(self.sessions, username, PASSWORD, role=role, force="police",
                                        display_name=username.title())
        found = re.search(r"secret=([A-Z2-7]+)", created.otpauth_uri)
        assert found is not None
        return Staff(username, PASSWORD, found.group(1), created.account.id, role, "police")

    async def sign_in(self, staff: Staff) -> httpx.AsyncClient:
        """A staff browser signed in through nginx: the session cookie is Secure, so it only goes over https."""
        http = self.https()
        form = await http.get("/login")
        response = await http.post("/login", data={"username": staff.username, "password": staff.password,
                                                   "totp": staff.code(), "csrf": login_csrf(form.text)})
        assert response.status_code == 303, response.text
        assert "secure" in response.headers["set-cookie"].lower()
        return http

    async def console(self, http: httpx.AsyncClient) -> FrameClient:
        cookie = http.cookies.get("pnav_session")
        client = await self.socket("/ws/operator", Cookie=f"pnav_session={cookie}")
        await client.expect("welcome")
        return client

    def sockets_open(self, kind: str) -> list[float]:
        """pnav_sockets_open{kind} of each process, read on its own port from loopback."""
        counts = []
        for app in self.apps:
            text = httpx.get(f"{app.base}/metrics", timeout=5 * UNIT).text
            found = re.search(rf'^pnav_sockets_open\{{kind="{kind}"\}} (\S+)$', text, flags=re.MULTILINE)
            counts.append(float(found.group(1)) if found else 0.0)
        return counts


async def _fresh_database(postgres_url: str, name: str) -> str:
    dsn = postgres_url.replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await connection.execute(f"CREATE DATABASE {name}")
    finally:
        await connection.close()
    return migrated(postgres_url.rsplit("/", 1)[0] + f"/{name}")


@pytest.fixture(scope="module")
async def topology(tmp_path_factory: pytest.TempPathFactory, postgres_url: str,
                   redis_url: str) -> AsyncIterator[Topology]:
    """nginx (TLS) → two `pnav serve` in production mode → a PostgreSQL database of their own and Redis."""
    root = tmp_path_factory.mktemp("topology")
    database_url = await _fresh_database(postgres_url, "pnav_topology")
    cert, key = make_certificate(root)
    (root / "keys").mkdir()
    (root / "offline").mkdir()
    private_pem, public_pem = crypto.generate_keypair()
    (root / "keys" / "seal-public.pem").write_bytes(public_pem)
    (root / "offline" / "seal-private.pem").write_bytes(private_pem)
    env = {
        "PNAV_ENV": "production", "PNAV_SECRET_KEY": secrets.token_urlsafe(32),
        "PNAV_CONTACT_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "PNAV_ATTACHMENT_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "PNAV_AUDIT_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "PNAV_SEAL_PUBLIC_KEY": str(root / "keys" / "seal-public.pem"), "PNAV_VAR_DIR": str(root / "var"),
        "PNAV_FORWARDED_ALLOW_IPS": "127.0.0.1", "PNAV_TCHATS_PER_HOUR_PER_SOURCE": str(TCHATS_PER_HOUR),
        "PNAV_PSYCHOLOGIST_HOURS": "mon-sun 00:00-24:00",
    }
    apps = [App(database_url, redis_url, root, **env).spawn() for _ in range(2)]
    nginx = Nginx(root, cert, key, [app.port for app in apps])
    engine = create_engine(database_url)
    try:
        for app in apps:
            app.wait_ready()
        checked = nginx.check()
        assert checked.returncode == 0, checked.stderr
        nginx.start()
        tls = ssl.create_default_context(cafile=str(cert))
        yield Topology(nginx, apps, database_url, env, root / "offline" / "seal-private.pem", tls,
                       keys.bind(session_factory(engine), base64.urlsafe_b64decode(env["PNAV_AUDIT_KEY"])))
    finally:
        nginx.stop()
        for app in apps:
            app.stop()
        await engine.dispose()


async def _start_tchat(topology: Topology, source: str | None, **headers: str) -> httpx.Response:
    async with topology.https(source) as http:
        return await http.post("/api/v1/conversations", headers=headers,
                               json={"category": "domestic_violence", "role": "victim", "postal_code": "75011"})


async def _unseal(topology: Topology, request_id: str) -> subprocess.CompletedProcess[str]:
    """`pnav escalation unseal` as the holder of the offline key runs it (here: the same machine, for the test)."""
    env = {"PATH": "/usr/bin:/bin", **topology.env, "PNAV_DATABASE_URL": topology.database_url}
    return await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "pnav.cli", "escalation", "unseal", request_id, "--key",
                         str(topology.private_key), "--operator", "garde"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60 * UNIT)


async def test_chat_across_processes_through_tls_and_lifting_opens_the_client_address(topology: Topology) -> None:
    """A visitor from 127.0.0.9 and an operator on the other process chat over wss:// with a browser's Origin;
    after an emergency flag and a two-supervisor lifting, `pnav escalation unseal` opens 127.0.0.9 (not nginx's
    address)."""
    started = await _start_tchat(topology, VISITOR_SOURCE)
    assert started.status_code == 201, started.text
    tchat = started.json()
    before = topology.sockets_open("visitor")
    visitor = await topology.socket("/ws/visitor", VISITOR_SOURCE)
    await visitor.send({"type": "hello", "token": tchat["token"], "after": 0})
    await visitor.expect("welcome")
    now = topology.sockets_open("visitor")
    visitor_process = next(i for i in range(2) if now[i] - before[i] == 1)

    agent = await topology.make("agent.tls", "operator")
    agent_http = await topology.sign_in(agent)
    console = None
    for _ in range(4):  # round-robin: the next socket lands on the other process
        before = topology.sockets_open("console")
        candidate = await topology.console(agent_http)
        now = topology.sockets_open("console")
        if now[1 - visitor_process] - before[1 - visitor_process] == 1:
            console = candidate
            break
        await candidate.close()
    assert console is not None, "no console socket reached the other process"

    await console.send({"type": "take", "conversation": tchat["id"]})
    await console.expect("taken", conversation=tchat["id"])
    await visitor.expect("joined")
    await visitor.send({"type": "send", "client_id": "v1", "body": "Bonjour, il est revenu."})
    await visitor.expect("ack", client_id="v1")
    assert (await console.expect("message", conversation=tchat["id"]))["body"] == "Bonjour, il est revenu."
    await console.send({"type": "send", "conversation": tchat["id"], "client_id": "o1", "body": "Je suis là."})
    assert (await visitor.expect("message", author="operator"))["body"] == "Je suis là."
    await console.send({"type": "flag", "conversation": tchat["id"], "emergency": True})
    await visitor.expect("flags")

    chiefs = [await topology.sign_in(await topology.make(name, "supervisor")) for name in ("chef.un", "chef.deux")]
    agreement = {"conversation": tchat["id"], "parquet": "Parquet de Paris", "magistrate": "Mme la substitute Durand",
                 "reference": "PQ-2026-0099", "date": "2026-11-23", "time": "14:05"}
    for http, action, data in ((chiefs[0], "/levee", agreement), (chiefs[1], None, {})):
        page = await http.get("/levee")
        if action is None:
            async with topology.sessions() as session:
                request_id = (await session.scalars(select(LiftingRequest.id))).one()
            action = f"/levee/{request_id}/approuver"
        done = await http.post(action, data={**data, "csrf": login_csrf(page.text)})
        assert done.status_code == 303, done.text
    opened = await _unseal(topology, request_id)
    assert opened.returncode == 0, opened.stderr
    addresses = {line.split("\t")[0] for line in opened.stdout.splitlines()}
    assert addresses == {VISITOR_SOURCE}

    for client in (visitor, console):
        await client.close()
    for http in (agent_http, *chiefs):
        await http.aclose()


async def test_flood_is_limited_per_client_and_forged_headers_change_nothing(topology: Topology) -> None:
    """Through nginx, 127.0.0.9 is refused once over its limit while 127.0.0.10 is not; an X-Forwarded-For made up
    by the client, through the proxy or straight to a pnav port, neither frees 127.0.0.9 nor charges 127.0.0.10."""
    flood = [(await _start_tchat(topology, VISITOR_SOURCE)).status_code for _ in range(3 * TCHATS_PER_HOUR)]
    assert set(flood) == {201, 429} and flood.count(201) <= 2 * TCHATS_PER_HOUR and flood[-2:] == [429, 429]
    assert [(await _start_tchat(topology, OTHER_SOURCE)).status_code for _ in range(2)] == [201, 201]
    # Through the proxy: nginx appends the real address, pnav takes the last one it does not trust.
    assert (await _start_tchat(topology, VISITOR_SOURCE, **{"X-Forwarded-For": OTHER_SOURCE})).status_code == 429
    for app in topology.apps:  # straight to each process: pnav trusts only 127.0.0.1, the header is ignored
        async with httpx.AsyncClient(base_url=app.base,
                                     transport=httpx.AsyncHTTPTransport(local_address=VISITOR_SOURCE)) as http:
            forged = await http.post("/api/v1/conversations", headers={"X-Forwarded-For": OTHER_SOURCE},
                                     json={"category": "domestic_violence", "role": "victim", "postal_code": "75011"})
        assert forged.status_code == 429
    refused = await _start_tchat(topology, VISITOR_SOURCE)
    assert refused.status_code == 429 and "Patientez" in refused.json()["error"]["message"]


async def test_attachments_pass_the_proxy_and_nothing_else_grows(topology: Topology) -> None:
    """A 2 MiB screenshot reaches pnav through nginx (its receipt is the digest of what was sent) and nginx keeps no
    temporary copy; every other path still refuses a body over 64 KiB."""
    from tests.evidence import screenshot_png

    uploader = "127.0.0.12"  # a source of its own: the flood test counts the others' tchats
    started = (await _start_tchat(topology, uploader)).json()
    image = screenshot_png(1170, 2532)
    padded = image + b"\0" * (2 * 2**20 - len(image))  # bytes after the image's end: still a PNG
    async with topology.https(uploader) as http:
        sent = await http.post("/api/v1/attachments", headers={"Authorization": f"Bearer {started['token']}"},
                               data={"client_id": "big-1"}, files={"file": ("big.png", padded, "image/png")})
        assert sent.status_code == 201, sent.text
        assert sent.json()["sha256"] == hashlib.sha256(padded).hexdigest()
        json_body = await http.post("/api/v1/conversations", content=b"{" + b" " * 70_000 + b"}",
                                    headers={"content-type": "application/json"})
        assert json_body.status_code == 413
    body_temp = topology.nginx.root / "temp" / "body"
    assert not body_temp.exists() or not any(body_temp.rglob("*[0-9]"))


async def test_metrics_are_not_served_through_the_proxy(topology: Topology) -> None:
    """/metrics answers Prometheus on a pnav port from loopback, never through nginx."""
    async with topology.https() as http:
        assert (await http.get("/metrics")).status_code == 404
    assert httpx.get(f"{topology.apps[0].base}/metrics", timeout=5 * UNIT).status_code == 200


async def test_browser_chats_through_the_proxy(topology: Topology) -> None:
    """Chromium, with the test certificate accepted, starts a tchat over https, its socket opens over wss through
    nginx, it sees the operator join and both exchange messages; every request stays on the service's origin."""
    if not CHROMIUM.exists():
        pytest.fail("Chromium is not installed at /usr/bin/chromium (apt-get install chromium; .ci/run does)")
    agent = await topology.make("agent.browser", "operator")
    agent_http = await topology.sign_in(agent)
    console = await topology.console(agent_http)
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = await chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="fr-FR",
                                             ignore_https_errors=True)
        context.set_default_timeout(WAIT_MS)
        page = await context.new_page()
        failed: list[str] = []
        page.on("requestfailed", lambda request: failed.append(request.url))
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        try:
            await page.goto(f"{topology.origin}/commencer?tchat=domestic_violence")
            await page.check("#profil-victim", force=True)
            await page.fill("#lieu-code", "75011")
            await page.click("#commencer-bouton")
            await page.wait_for_url("**/tchat")
            await expect(page.locator("#connexion")).to_have_attribute("data-state", "open")
            await expect(page.locator("#attente-position")).to_contain_text("dans la file")
            stored = await page.evaluate("JSON.parse(sessionStorage.getItem('pnav.tchat'))")
            conversation = stored["id"]

            await console.send({"type": "take", "conversation": conversation})
            await console.expect("taken", conversation=conversation)
            await expect(page.locator("#arrivee")).to_be_visible()
            await console.send({"type": "send", "conversation": conversation, "client_id": "b1",
                                "body": "Bonjour, je vous écoute."})
            await expect(page.locator(".pnav-message--operator")).to_contain_text("je vous écoute")
            await page.fill("#message", "Merci, je suis en sécurité.")
            await page.keyboard.press("Enter")
            heard = await console.expect("message", conversation=conversation, author="visitor")
            assert heard["body"] == "Merci, je suis en sécurité."
            stylesheet = await page.evaluate("getComputedStyle(document.body).fontFamily")
            assert "Marianne" in stylesheet  # the DSFR stylesheet came through the proxy
        finally:
            await context.close()
            await chromium.close()
    assert failed == []
    assert all(url.startswith((topology.origin, topology.nginx.ws_base, "data:")) for url in requests), requests
    await console.close()
    await agent_http.aclose()
