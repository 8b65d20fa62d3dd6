"""Web security: headers on every response, Origin on every WebSocket, HTML escaping, no secret defaults."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import websockets
from starlette.routing import Mount, Route, WebSocketRoute
from websockets.exceptions import InvalidStatus

from chat.headers import HEADERS
from chat.settings import PROJECT_ROOT, ConfigurationError, Settings
from tests.faults.results import Row, record
from tests.servers import UNIT, LiveServer, free_port

XSS = [
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>",
    "'><svg/onload=alert(1)>",
    "javascript:alert(1)",
    "<iframe srcdoc='<script>alert(1)</script>'>",
    "{{7*7}}{% raw %}",
    "</textarea><script>alert(1)</script>",
    "<a href=\"javascript:alert(1)\">x</a>",
]
figures: dict[str, int] = {}


def _routes(server: LiveServer) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for route in server.app.routes:
        if isinstance(route, Route):
            path = re.sub(r"\{[^}]+\}", "x", route.path)
            found += [(method, path) for method in sorted(route.methods or {"GET"}) if method != "HEAD"]
        elif isinstance(route, Mount):
            found.append(("GET", route.path + "/pnav.css" if route.path == "/static" else route.path + "/x"))
    return [*found, ("GET", "/nope"), ("DELETE", "/api/v1/conversations"), ("GET", "/static/pnav.css")]


def test_security_headers_on_every_route(plain: LiveServer) -> None:
    """Every route, method and error answers with the CSP and the other security headers."""
    routes = _routes(plain)
    with httpx.Client(base_url=plain.base) as http:
        for method, path in routes:
            response = http.request(method, path, headers={"accept": "text/html"})
            assert response.status_code < 500, (method, path, response.status_code)
            for name, value in HEADERS.items():
                assert response.headers.get(name) == value, (method, path, name)
            if not path.startswith("/static/"):
                assert response.headers.get("cache-control") == "no-store", (method, path)
    assert "'unsafe-inline'" not in HEADERS["content-security-policy"]
    assert "'unsafe-eval'" not in HEADERS["content-security-policy"]
    figures["routes"] = len(routes)


async def _handshake(url: str, origin: str | None, cookie: str | None = None) -> int:
    headers = {k: v for k, v in (("Origin", origin), ("Cookie", cookie)) if v}
    try:
        ws = await websockets.connect(url, additional_headers=headers, open_timeout=5 * UNIT)
    except InvalidStatus as exc:
        return exc.response.status_code
    await ws.close()
    return 101


async def test_cross_site_websocket_hijacking(plain: LiveServer) -> None:
    """A page of another site cannot open /ws/visitor or /ws/operator, even with the operator's cookie."""
    from tests.operators.staff import make, session_cookie

    staff = await make(plain, "cswsh", "operator", "police")
    cookie = f"pnav_session={await session_cookie(plain, staff)}"
    sockets = [r.path for r in plain.app.routes if isinstance(r, WebSocketRoute)]
    assert {"/ws/visitor", "/ws/operator"} <= set(sockets)
    hostile = ["https://evil.example", "http://127.0.0.1.evil.example", "null", f"http://127.0.0.1:{plain.port + 1}"]
    for path in sockets:
        url = f"{plain.ws_base}{path}"
        for origin in hostile:
            assert await _handshake(url, origin, cookie) == 403, (path, origin)
        assert await _handshake(url, plain.base, cookie) == 101, path
    # The operator socket rides on a cookie: no Origin at all is refused too.
    assert await _handshake(f"{plain.ws_base}/ws/operator", None, cookie) == 403
    figures["cswsh"] = len(sockets) * (len(hostile) + 1) + 1


async def test_html_escaping_of_user_strings(plain: LiveServer) -> None:
    """XSS payloads as canned answers, signalement summary and contact name come back escaped in every page."""
    from escalation import config  # noqa: F401  (escalation present: the signalement path below exists)
    from tests.escalation.flow import PARIS_11, Browser, consent, propose, taken_tchat
    from tests.operators.staff import make

    tchat = await taken_tchat(plain, "xss-agent")
    for n, payload in enumerate(XSS):
        await tchat.visitor.send({"type": "send", "client_id": f"x{n}", "body": payload})
        await tchat.visitor.expect("ack", client_id=f"x{n}")
    request = await propose(tchat, summary=" ".join(XSS))
    answer = await consent(plain, tchat.token, request["consent_version"], name=XSS[1], preferred_times=XSS[0])
    assert answer.status_code in (200, 201), answer.text

    supervisor = await Browser.sign_in(plain, await make(plain, "xss-sup", "supervisor", "police"))
    for n, payload in enumerate(XSS[:4]):
        saved = await supervisor.submit("/console/reponses", "/console/reponses",
                                      {"title": f"T{n} {payload}"[:60], "body": payload, "position": str(n)})
        assert saved.status_code < 500
    operator = Browser(plain, tchat.console.cookie)
    pages = [(await supervisor.get("/console/reponses")).text, (await operator.get("/console")).text]

    service = await make(plain, "xss-service", "local_service", service_id=PARIS_11)
    office = await Browser.sign_in(plain, service)
    inbox = (await office.get("/service")).text
    pages.append(inbox)
    for link in sorted(set(re.findall(r'href="(/service/signalements/[^"]+)"', inbox))):
        pages.append((await office.get(link)).text)
    assert len(pages) >= 4
    body = "\n".join(pages)
    for payload in XSS:
        if any(ch in payload for ch in "<>\"'"):
            assert payload not in body, payload
    assert "&lt;img src=x onerror=alert(1)&gt;" in body  # the payloads are shown, as text
    await tchat.visitor.close()
    await tchat.console.close()
    figures["xss"] = len(XSS) * 4


def test_scripts_never_inject_html() -> None:
    """No script of ours writes HTML from strings: chat text is only ever set as text."""
    scripts = [*Path(PROJECT_ROOT, "chat", "static", "js").glob("*.js"), *Path(PROJECT_ROOT, "operators").rglob("*.js"),
               *Path(PROJECT_ROOT, "escalation").rglob("*.js")]
    assert scripts
    for script in scripts:
        text = script.read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
            assert sink not in text, (script.name, sink)
    templates = list(Path(PROJECT_ROOT, "pnav", "templates").rglob("*.html"))
    for template in templates:
        text = template.read_text()
        assert "|safe" not in text.replace(" ", "") and "autoescape false" not in text, template.name
        assert "<script>" not in text and " on" + "click=" not in text, template.name


def test_no_secret_defaults_outside_development() -> None:
    """Production refuses to start without its secrets; in development they are generated, never fixed."""
    with pytest.raises(ConfigurationError):
        Settings.from_env({"PNAV_ENV": "production"})
    with pytest.raises(ConfigurationError):
        Settings.from_env({"PNAV_ENV": "production", "PNAV_SECRET_KEY": "short"})
    with pytest.raises(ConfigurationError):
        Settings.from_env({"PNAV_ENV": "staging"})
    production = Settings.from_env({"PNAV_ENV": "production", "PNAV_SECRET_KEY": "s" * 40})
    from escalation import config

    with pytest.raises(ConfigurationError):
        config.load(production)
    a = Settings.from_env({"PNAV_ENV": "test"})
    b = Settings.from_env({"PNAV_ENV": "test"})
    assert a.secret_key != b.secret_key and len(a.secret_key) >= 32


@pytest.mark.parametrize("env", [
    {},
    {"PNAV_SECRET_KEY": "p" * 40},
])
def test_production_server_refuses_to_start(env: dict[str, str], tmp_path: Path) -> None:
    """`pnav serve` in production without every secret exits with a one-line reason and never listens."""
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PNAV_")}
    environ.update({"PNAV_ENV": "production", "PNAV_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'p.db'}",
                    **env})
    done = subprocess.run([sys.executable, "-m", "pnav.cli", "serve", "--port", str(port)], cwd=PROJECT_ROOT,
                          env=environ, capture_output=True, text=True, timeout=60 * UNIT)
    assert done.returncode != 0
    assert "PNAV_" in done.stderr and "Traceback" not in done.stderr.split("PNAV_")[0][-200:]
    figures["secrets"] = figures.get("secrets", 0) + 1


async def test_every_form_requires_csrf(plain: LiveServer) -> None:
    """Every POST form outside the JSON API is refused without its CSRF token, even with a valid session cookie."""
    from tests.escalation.flow import Browser
    from tests.operators.staff import make

    admin = await Browser.sign_in(plain, await make(plain, "csrf-admin", "admin"))
    forms = sorted({re.sub(r"\{[^}]+\}", "x", r.path) for r in plain.app.routes
                    if isinstance(r, Route) and "POST" in (r.methods or set()) and not r.path.startswith("/api/")})
    assert "/login" in forms and len(forms) >= 5
    for path in forms:
        response = await admin.http.post(path, data={"title": "t", "body": "b", "note": "n"})
        assert response.status_code in (400, 403, 404), (path, response.status_code)
    figures["csrf"] = len(forms)


async def test_record_web_figures() -> None:
    """Write the web security figures for SECURITY.md."""
    await asyncio.sleep(0)
    record(Row(
        key="8-web", fault="sécurité web",
        load="toutes les routes de l'application (pages, API, console, service local, levée)",
        inputs=f"{figures.get('routes', 0)} routes × méthodes (en-têtes) ; {figures.get('cswsh', 0)} poignées de "
               f"main WebSocket d'origines hostiles ; {figures.get('xss', 0)} charges XSS (messages, réponses types, "
               f"résumé, nom) ; {figures.get('csrf', 0)} formulaires POST sans jeton CSRF ; "
               f"{figures.get('secrets', 0)} démarrages en production sans secret",
        acknowledged=0, delivered=0, lost=0,
        result="CSP et en-têtes partout, 403 pour toute origine étrangère, CSRF exigé, tout est échappé, "
               "la production refuse de démarrer sans secret",
    ))
    assert json.dumps(figures)

