"""Floods: every rate limit answers in French and lets the legitimate use through."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import websockets
from websockets.exceptions import ConnectionClosed

from chat.limits import SourceLimits
from tests.client import Visitor
from tests.faults.results import Row, record
from tests.security.conftest import LOGINS, SOCKETS, TCHATS_PER_HOUR
from tests.servers import UNIT, LiveServer

BODY = {"category": "sexual_violence", "role": "victim", "postal_code": "75011"}
tried: dict[str, int] = {}


async def _create(server: LiveServer, local_address: str) -> httpx.Response:
    transport = httpx.AsyncHTTPTransport(local_address=local_address)
    async with httpx.AsyncClient(base_url=server.base, transport=transport) as http:
        return await http.post("/api/v1/conversations", json=BODY)


async def test_new_tchats_per_hour_per_source(limited: LiveServer) -> None:
    """Past the hourly allowance a source gets a French 429; another source is not affected."""
    statuses = [(await _create(limited, "127.0.0.21")).status_code for _ in range(TCHATS_PER_HOUR + 2)]
    assert statuses == [201] * TCHATS_PER_HOUR + [429, 429]
    refused = await _create(limited, "127.0.0.21")
    error = refused.json()["error"]
    assert error["code"] == "too_many_tchats" and "17" in error["message"] and "Patientez" in error["message"]
    assert (await _create(limited, "127.0.0.22")).status_code == 201
    tried["tchats"] = len(statuses) + 2


async def test_sockets_per_source(limited: LiveServer) -> None:
    """A source holding its allowance of sockets gets a French error and close 1013 on the next one."""
    started = await _create(limited, "127.0.0.31")
    token = started.json()["token"]
    held = []
    for _ in range(SOCKETS):
        ws = await websockets.connect(f"{limited.ws_base}/ws/visitor", local_addr=("127.0.0.31", 0))
        await ws.send(json.dumps({"type": "hello", "token": token, "after": 0}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5 * UNIT))["type"] == "welcome"
        held.append(ws)
    extra = await websockets.connect(f"{limited.ws_base}/ws/visitor", local_addr=("127.0.0.31", 0))
    frame = json.loads(await asyncio.wait_for(extra.recv(), 5 * UNIT))
    assert frame["code"] == "too_many_connections" and "onglets" in frame["message"]
    try:
        await asyncio.wait_for(extra.recv(), 5 * UNIT)
    except ConnectionClosed as exc:
        assert exc.rcvd is not None and exc.rcvd.code == 1013
    other = await websockets.connect(f"{limited.ws_base}/ws/visitor", local_addr=("127.0.0.32", 0))
    await other.send(json.dumps({"type": "hello", "token": token, "after": 0}))
    assert json.loads(await asyncio.wait_for(other.recv(), 5 * UNIT))["type"] == "welcome"
    await held[0].close()
    await asyncio.sleep(0.2 * UNIT)
    again = await websockets.connect(f"{limited.ws_base}/ws/visitor", local_addr=("127.0.0.31", 0))
    await again.send(json.dumps({"type": "hello", "token": token, "after": 0}))
    assert json.loads(await asyncio.wait_for(again.recv(), 5 * UNIT))["type"] == "welcome"
    for ws in (*held, other, again):
        await ws.close()
    tried["sockets"] = SOCKETS + 3


def test_source_key_is_not_the_address() -> None:
    """The limiter keys are keyed hashes that differ per process and never contain the address."""
    class Conn:
        client = type("Client", (), {"host": "203.0.113.9"})()

    a, b = SourceLimits(1, 1), SourceLimits(1, 1)
    key_a, key_b = a.source(Conn()), b.source(Conn())  # type: ignore[arg-type]
    assert key_a and key_b and key_a != key_b and "203.0.113" not in key_a


async def test_sends_per_second_per_tchat(limited: LiveServer) -> None:
    """A burst of sends past the allowance gets French rate_limited errors, never a lost ack for an accepted one."""
    started = await _create(limited, "127.0.0.41")
    visitor = Visitor(limited, started.json()["token"])
    await visitor.connect()
    for n in range(30):
        await visitor.send({"type": "send", "client_id": f"f{n}", "body": f"message {n}"})
    answers: dict[str, dict[str, Any]] = {}
    while len(answers) < 30:
        frame = await visitor.recv()
        if frame["type"] in ("ack", "error") and "client_id" in frame:
            answers[frame["client_id"]] = frame
    acked = [a for a in answers.values() if a["type"] == "ack"]
    limited_frames = [a for a in answers.values() if a["type"] == "error"]
    assert 10 <= len(acked) < 30 and all(f["code"] == "rate_limited" for f in limited_frames)
    assert "patientez" in limited_frames[0]["message"]
    assert sorted(a["seq"] for a in acked) == list(range(1, len(acked) + 1))
    await visitor.close()
    tried["sends"] = 30
    tried["sends_acked"] = len(acked)


async def test_followup_code_guessing(limited: LiveServer) -> None:
    """Guessing follow-up codes is cut off with a French 429 after a small burst."""
    async with httpx.AsyncClient(base_url=limited.base,
                                 transport=httpx.AsyncHTTPTransport(local_address="127.0.0.51")) as http:
        statuses = [(await http.get(f"/api/v1/followup/GUESS{n:015d}")).status_code for n in range(15)]
        last = await http.get("/api/v1/followup/GUESS")
    assert statuses[0] == 404 and statuses[-1] == 429 and set(statuses) == {404, 429}
    assert "Patientez" in last.json()["error"]["message"]
    tried["followup"] = 16


async def test_login_attempts_per_source(limited: LiveServer) -> None:
    """One address trying many accounts is held back with a French 429, whatever the usernames."""
    from tests.operators.staff import login_csrf

    statuses = []
    async with httpx.AsyncClient(base_url=limited.base,
                                 transport=httpx.AsyncHTTPTransport(local_address="127.0.0.61")) as http:
        for n in range(LOGINS + 2):
            form = await http.get("/login")
            response = await http.post("/login", data={"username": f"inconnu{n}", "password": "x" * 12,
                                                        "totp": "123456", "csrf": login_csrf(form.text)})
            statuses.append(response.status_code)
    assert statuses[:LOGINS] == [401] * LOGINS and statuses[-1] == 429
    assert "Trop de tentatives" in response.text
    tried["logins_per_source"] = LOGINS + 2


async def test_login_attempts(limited: LiveServer) -> None:
    """Wrong passwords on one account from one address are slowed there (French 429 after the free failures); they
    lock nothing: the owner, from another address, signs in with the right password and code."""
    from operators.signin_throttle import FREE_FAILURES
    from tests.operators.staff import make, sign_in

    staff = await make(limited, "cible", "operator", "police")
    wrong = [await sign_in(limited, staff, password="mauvais mot de passe", code="000000", source="127.0.0.62")
             for _ in range(FREE_FAILURES + 2)]
    assert [r.status_code for r in wrong] == [401] * FREE_FAILURES + [429, 429]
    assert "Patientez" in wrong[-1].text and wrong[0].text.count("incorrect") == 1
    owner = await sign_in(limited, staff, source="127.0.0.63")
    assert owner.status_code == 303 and "pnav_session" in owner.cookies
    tried["logins"] = FREE_FAILURES + 3
    record(Row(
        key="5-floods", fault="inondations (limites de débit)",
        load=f"{TCHATS_PER_HOUR} tchats/heure et {SOCKETS} sockets par source (réglage de test), "
             "2 messages/s (rafale 10) par socket, 10 codes de suivi puis 1 / 10 s, connexions ralenties par compte et "
             "adresse après 3 échecs (5, 10, 20 … s ; aucun verrouillage), "
             f"{LOGINS} connexions par adresse et par quart d'heure",
        inputs=f"{tried.get('tchats', 0)} créations de tchat, {tried.get('sockets', 0)} sockets, "
               f"{tried.get('sends', 0)} envois en rafale, {tried.get('followup', 0)} codes devinés, "
               f"{tried.get('logins', 0)} connexions sur un compte (dont celle de son titulaire, acceptée), "
               f"{tried.get('logins_per_source', 0)} connexions d'une même adresse sur des comptes différents",
        acknowledged=tried.get("sends_acked", 0), delivered=tried.get("sends_acked", 0), lost=0,
        result="chaque refus est un message français (429 ou trame error) ; les envois acceptés ont un seq dense",
    ))
