"""Privacy: after a whole session with a consented signalement, neither the client's address nor their contact
details appear in clear in any table or any log line."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import text

from chat.db import create_cli_engine
from pnav.registry import metadata
from tests.client import Visitor
from tests.faults.results import Row, record
from tests.servers import LiveServer

ADDRESS = "127.0.0.77"  # a loopback address used by nothing else, bound by every client socket of the visitor
CONTACT = {"name": "Dominique Introuvable", "phone": "06 98 76 54 32", "email": "dominique.introuvable@example.org",
           "preferred_times": "le mardi matin", "leave_message": False}
NEEDLES = [ADDRESS, "127,0,0,77", "7f00004d", "Introuvable", "06 98 76 54 32", "0698765432", "+33698765432",
           "dominique.introuvable", "example.org"]


def _texts(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        return [raw.decode("latin-1"), raw.hex()]
    return [str(value)]


async def _dump(url: str) -> tuple[list[str], int]:
    engine = create_cli_engine(url)
    cells: list[str] = []
    rows = 0
    try:
        async with engine.connect() as connection:
            for table in metadata().sorted_tables:
                for row in await connection.execute(text(f'SELECT * FROM "{table.name}"')):
                    rows += 1
                    for value in row:
                        cells += [f"{table.name}: {t}" for t in _texts(value)]
    finally:
        await engine.dispose()
    return cells, rows


async def test_nothing_in_clear(plain: LiveServer, caplog: pytest.LogCaptureFixture) -> None:
    """The visitor's IP and contact details are in no table and no log line, though they reached the server."""
    from tests.escalation.flow import propose
    from tests.operators.staff import console_for, make

    caplog.set_level(logging.DEBUG)
    transport = httpx.AsyncHTTPTransport(local_address=ADDRESS)
    async with httpx.AsyncClient(base_url=plain.base, transport=transport) as http:
        created = await http.post("/api/v1/conversations", json={
            "category": "domestic_violence", "role": "victim", "postal_code": "75011"})
        assert created.status_code == 201
        started = created.json()
        visitor = Visitor(plain, started["token"])
        visitor.ws = await websockets.connect(f"{plain.ws_base}/ws/visitor", local_addr=(ADDRESS, 0))
        await visitor.send({"type": "hello", "token": started["token"], "after": 0})
        await visitor.expect("welcome")

        operator = await make(plain, "privacy-agent", "operator", "police")
        console = await console_for(plain, operator)
        await console.send({"type": "take", "conversation": started["id"]})
        await visitor.expect("joined")
        await visitor.send({"type": "send", "client_id": "p1", "body": "Il me suit partout, j'ai peur."})
        await visitor.expect("ack", client_id="p1")
        await console.send({"type": "send", "conversation": started["id"], "client_id": "o1",
                            "body": "Je vous entends. Souhaitez-vous qu'un enquêteur vous rappelle ?"})
        await visitor.expect("message", author="operator")

        class Tchat:
            pass

        tchat: Any = Tchat()
        tchat.console, tchat.visitor, tchat.id = console, visitor, started["id"]
        request = await propose(tchat)
        answer = await consent_from(plain, started["token"], request["consent_version"])
        assert answer.status_code in (200, 201), answer.text
        code = answer.json()["followup_code"]
        followup = await http.get(f"/api/v1/followup/{code}")
        assert followup.status_code == 200
        await http.post("/api/v1/conversations/leave", json={"token": "inconnu"})
        await visitor.close()
        await console.close()

    cells, rows = await _dump(plain.settings.database_url)
    sealed = [c for c in cells if c.startswith("sealed_identities:")]
    assert sealed, "the address should have been sealed (escalation's visitor_connected listener)"
    assert any(c.startswith("signalements:") for c in cells)
    # Every line the server wrote (its thread), at DEBUG: the test's own client libraries log their local address.
    server_records = [r for r in caplog.records if r.thread != threading.get_ident()]
    logs = [f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in server_records]
    leaks = [(needle, where[:120]) for needle in NEEDLES for where in (*cells, *logs) if needle in where]
    assert leaks == []
    record(Row(
        key="9-privacy", fault="contrôle de confidentialité",
        load="1 session complète depuis 127.0.0.77 : tchat, opérateur, signalement consenti, code de suivi",
        inputs=f"{rows} lignes dans {len(metadata().sorted_tables)} tables et {len(server_records)} lignes de "
               f"journal (DEBUG) fouillées pour l'adresse IP et {len(NEEDLES) - 3} formes des coordonnées",
        acknowledged=0, delivered=0, lost=len(leaks),
        result="rien en clair : l'adresse n'existe que scellée, les coordonnées que chiffrées",
    ))


async def consent_from(server: LiveServer, token: str, version: str) -> httpx.Response:
    transport = httpx.AsyncHTTPTransport(local_address=ADDRESS)
    async with httpx.AsyncClient(base_url=server.base, transport=transport) as http:
        return await http.post("/api/v1/signalements", content=json.dumps(
            {"token": token, "consent": True, "consent_version": version, **CONTACT}),
            headers={"content-type": "application/json"})
