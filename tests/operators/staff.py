"""Test helpers for the staff side: accounts made on a live server, sign-in over HTTP, a console WebSocket client."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import httpx
import websockets

from operators import accounts, totp
from tests.client import FrameClient, Visitor
from tests.servers import LiveServer

PASSWORD = "correct horse battery staple"


@dataclass
class Staff:
    username: str
    password: str
    secret: str
    account_id: str
    role: str
    force: str | None
    # TOTP codes are single-use: each sign-in of the same account uses the next time step.
    steps_used: int = 0

    def code(self) -> str:
        """A valid code never used before: the current, then the next 30-second step (a third would be refused).

        Never the previous step: if the clock crosses a step boundary before the server checks, it is out of the
        window."""
        assert self.steps_used < 2, "only two sign-ins per account and minute in tests"
        offset = self.steps_used * totp.STEP_SECONDS
        self.steps_used += 1
        return totp.current_code(self.secret, time.time() + offset)


async def make(server: LiveServer, username: str, role: str, force: str | None = None,
               service_id: str | None = None) -> Staff:
    async def create(state: Any) -> accounts.Created:
        return await accounts.create(state.sessions, username, PASSWORD, role=role, force=force,
                                     service_id=service_id, display_name=username.title())

    created = await server.call(create)
    secret = re.search(r"secret=([A-Z2-7]+)", created.otpauth_uri)
    assert secret is not None
    return Staff(username, PASSWORD, secret.group(1), created.account.id, role, force)


def login_csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None, page
    return found.group(1)


async def sign_in(server: LiveServer, staff: Staff, *, code: str | None = None,
                  password: str | None = None, source: str | None = None) -> httpx.Response:
    """Fetch the form (CSRF cookie + token), post the credentials (from the loopback address ``source``, e.g.
    127.0.0.71, when given); returns the POST response."""
    transport = httpx.AsyncHTTPTransport(local_address=source) if source else None
    async with httpx.AsyncClient(base_url=server.base, transport=transport) as http:
        form = await http.get("/login")
        return await http.post("/login", data={
            "username": staff.username, "password": password if password is not None else staff.password,
            "totp": code if code is not None else staff.code(), "csrf": login_csrf(form.text),
        })


async def session_cookie(server: LiveServer, staff: Staff) -> str:
    response = await sign_in(server, staff)
    assert response.status_code == 303, response.text
    cookie = response.cookies.get("pnav_session")
    assert cookie
    return cookie


class ConsoleClient(FrameClient):
    """A console tab speaking the /ws/operator frames."""

    def __init__(self, server: LiveServer, cookie: str) -> None:
        super().__init__(server)
        self.cookie = cookie

    async def connect(self, origin: str | None = None) -> dict[str, Any]:
        headers = {"Cookie": f"pnav_session={self.cookie}", "Origin": origin or self.server.base}
        self.ws = await websockets.connect(f"{self.server.ws_base}/ws/operator", additional_headers=headers,
                                           compression=None)
        return await self.expect("welcome")

    async def quiet(self, kind: str, seconds: float = 0.5, **match: Any) -> bool:
        """True when no frame of ``kind`` (matching) arrives within ``seconds``."""
        try:
            await self.expect(kind, seconds, **match)
        except TimeoutError:
            return True
        return False


async def console_for(server: LiveServer, staff: Staff) -> ConsoleClient:
    client = ConsoleClient(server, await session_cookie(server, staff))
    await client.connect()
    return client


async def visitor_answers_offer(visitor: Visitor, accept: bool = True) -> dict[str, Any]:
    """The visitor receives the psychologist offer and answers it; returns the offer."""
    offer = await visitor.expect("psychologist_offer")
    await visitor.send({"type": "psychologist_answer", "invitation": offer["invitation"], "accept": accept})
    return offer
