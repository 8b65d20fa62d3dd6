"""Helpers shared by the escalation tests: a tchat taken by an operator, a consented signalement, HTML forms."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx

from tests.client import Visitor, start_tchat
from tests.operators.staff import ConsoleClient, Staff, console_for, make, session_cookie
from tests.servers import LiveServer

# 75011 is served by this commissariat in the routing data (see routing.resolve("75011")).
PARIS_11 = "commissariat_police-75111-01"
CONTACT = {"name": "Camille Testeuse", "phone": "06 12 34 56 78", "email": "camille@example.org",
           "preferred_times": "en semaine après 18 h", "leave_message": False}


@dataclass
class Tchat:
    started: dict[str, Any]
    visitor: Visitor
    operator: Staff
    console: ConsoleClient

    @property
    def id(self) -> str:
        return str(self.started["id"])

    @property
    def token(self) -> str:
        return str(self.started["token"])


async def taken_tchat(server: LiveServer, username: str = "agent") -> Tchat:
    """A visitor in 75011 whose tchat an operator of the police has taken."""
    operator = await make(server, username, "operator", "police")
    console = await console_for(server, operator)
    started = await start_tchat(server, postal_code="75011", category="domestic_violence")
    visitor = Visitor(server, started["token"])
    await visitor.connect()
    await console.send({"type": "take", "conversation": started["id"]})
    await console.expect("taken", conversation=started["id"])
    await visitor.expect("joined")
    return Tchat(started, visitor, operator, console)


async def propose(tchat: Tchat, summary: str = "Violences répétées de son conjoint, dernière fois hier soir.") -> (
    dict[str, Any]
):
    await tchat.console.send({"type": "propose_signalement", "conversation": tchat.id, "summary": summary})
    return await tchat.visitor.expect("consent_request")


async def consent(server: LiveServer, token: str, version: str, **overrides: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.base) as http:
        return await http.post("/api/v1/signalements", json={"token": token, "consent": True,
                                                             "consent_version": version, **CONTACT, **overrides})


class Browser:
    """A signed-in staff browser: keeps the session cookie, reads CSRF tokens from pages."""

    def __init__(self, server: LiveServer, cookie: str) -> None:
        self.http = httpx.AsyncClient(base_url=server.base, cookies={"pnav_session": cookie})

    @classmethod
    async def sign_in(cls, server: LiveServer, staff: Staff) -> Browser:
        return cls(server, await session_cookie(server, staff))

    async def get(self, path: str) -> httpx.Response:
        return await self.http.get(path)

    async def submit(self, page: str, action: str, data: dict[str, str]) -> httpx.Response:
        """POST a form of ``page`` with the CSRF token it carries."""
        token = re.search(r'name="csrf" value="([^"]+)"', (await self.get(page)).text)
        assert token is not None
        return await self.http.post(action, data={**data, "csrf": token.group(1)})

    async def close(self) -> None:
        await self.http.aclose()


async def expect_card(visitor: Visitor, card_kind: str) -> dict[str, Any]:
    """The next card of this kind (other cards are skipped)."""
    while True:
        frame = await visitor.expect("card")
        if frame.get("kind") == card_kind:
            return frame
