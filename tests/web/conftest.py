"""Browser fixtures: one headless Chromium for the session, a phone-sized page per test that records every request."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    Page,
    Request,
    ViewportSize,
    async_playwright,
    expect,
)
from sqlalchemy import text

from chat import conversations, store
from chat.pages import DEFAULT_QUICK_EXIT_URL
from chat.settings import PROJECT_ROOT
from tests.conftest import settings_for
from tests.servers import UNIT, LiveServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
PHONE: ViewportSize = {"width": 390, "height": 844}
SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"
# Screenshots are refreshed on demand (PNAV_SCREENSHOTS=1), not by every test run: times shown in the tchat change
# each run and would leave the committed PNGs modified after a plain `make test`.
TAKE_SCREENSHOTS = os.environ.get("PNAV_SCREENSHOTS") == "1"
AXE = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
OPERATOR_ID = "op" + "7" * 30

# Playwright waits in milliseconds, scaled like every other wait of the test suite.
WAIT_MS = 10_000 * UNIT
expect.set_options(timeout=WAIT_MS)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed at /usr/bin/chromium (apt-get install chromium; .ci/run does)")
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


@pytest.fixture(scope="session")
def web_server(sqlite_url: str) -> Iterator[LiveServer]:
    live = LiveServer(settings_for(sqlite_url, "memory://")).start()
    yield live
    live.stop()


@pytest.fixture
async def server(web_server: LiveServer) -> LiveServer:
    """The real pnav app (SQLite, in-process broker) on a loopback port, its conversations emptied for each test."""

    async def empty(state: Any) -> None:
        async with state.sessions.begin() as session:
            for table in ("messages", "participants", "conversations"):
                await session.execute(text(f"DELETE FROM {table}"))

    await web_server.call(empty)
    return web_server


@dataclass
class Visit:
    """A phone-sized tab on the test server, with the log of every request it made."""

    server: LiveServer
    context: BrowserContext
    page: Page
    requests: list[str] = field(default_factory=list)
    # URLs of the quick exit: the test answers them itself, nothing leaves the machine.
    exit_hits: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.server.base + path

    async def goto(self, path: str) -> None:
        await self.page.goto(self.url(path))

    def foreign_requests(self) -> list[str]:
        own = urlsplit(self.server.base).netloc
        return [u for u in self.requests if urlsplit(u).netloc != own and u not in self.exit_hits
                and not u.startswith("data:")]

    async def session_storage(self) -> dict[str, Any]:
        raw: dict[str, str] = await self.page.evaluate("Object.fromEntries(Object.entries(sessionStorage))")
        return {k: json.loads(v) for k, v in raw.items()}

    async def tchat_id(self) -> str:
        stored = await self.session_storage()
        return str(stored["pnav.tchat"]["id"])

    async def screenshot(self, name: str, *, full_page: bool = True) -> None:
        """A phone-sized PNG for docs/screenshots; the tchat is shot as the screen shows it (sticky composer)."""
        if not TAKE_SCREENSHOTS:
            return
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await self.page.evaluate("document.activeElement && document.activeElement.blur()")
        # The fixed quick exit is drawn where the screen is: at the top for a full page, over the end otherwise.
        await self.page.evaluate(f"window.scrollTo(0, {'0' if full_page else 'document.documentElement.scrollHeight'})")
        await self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


async def new_visit(browser: Browser, server: LiveServer, **options: Any) -> Visit:
    context = await browser.new_context(viewport=PHONE, device_scale_factor=1, is_mobile=True, has_touch=True,
                                        locale="fr-FR", timezone_id="Europe/Paris", **options)
    context.set_default_timeout(WAIT_MS)
    page = await context.new_page()
    visit = Visit(server, context, page)

    def record(request: Request) -> None:
        visit.requests.append(request.url)

    context.on("request", record)

    async def fake_exit(route: Any) -> None:
        visit.exit_hits.append(route.request.url)
        await route.fulfill(status=200, content_type="text/html", body="<!doctype html><title>Météo</title><p>Météo")

    host = urlsplit(DEFAULT_QUICK_EXIT_URL).netloc
    await context.route(f"https://{host}/**", fake_exit)
    return visit


@pytest.fixture
async def visit(browser: Browser, server: LiveServer) -> AsyncIterator[Visit]:
    """A phone tab; at the end, no request went to another host and no cookie was set."""
    current = await new_visit(browser, server)
    try:
        yield current
        assert current.foreign_requests() == [], "a page asked another host for something"
        assert await current.context.cookies() == [], "a visitor page set a cookie"
    finally:
        await current.context.close()


# ---- the operator's side, driven directly on the server's chat service -----------------------------------------

async def take(server: LiveServer, conversation_id: str) -> bool:
    conversation = await server.call(lambda state: store.get(state.sessions, conversation_id))
    assert conversation is not None
    force = conversation.force
    return await server.call(lambda state: conversations.take(state, conversation_id, OPERATOR_ID, force))


async def operator_says(server: LiveServer, conversation_id: str, body: str) -> int:
    appended = await server.call(lambda state: conversations.post(
        state, conversation_id, author="operator", body=body, author_id=OPERATOR_ID))
    return appended.message.seq


async def operator_card(server: LiveServer, conversation_id: str, card: dict[str, Any]) -> None:
    await server.call(lambda state: conversations.post_card(state, conversation_id, card, author="operator",
                                                            author_id=OPERATOR_ID))


async def transcript(server: LiveServer, conversation_id: str) -> list[dict[str, object]]:
    return await server.call(lambda state: conversations.transcript(state, conversation_id))


async def status_of(server: LiveServer, conversation_id: str) -> str:
    conversation = await server.call(lambda state: store.get(state.sessions, conversation_id))
    assert conversation is not None
    return conversation.status


async def start_by_form(visit: Visit, *, category: str = "domestic_violence", role: str = "victim",
                        postal_code: str = "75011") -> str:
    """Fill the start form like a person would and land on the tchat; returns the conversation id."""
    page = visit.page
    await visit.goto(f"/commencer?tchat={category}")
    await page.check(f"#tchat-{category}", force=True)
    await page.check(f"#profil-{role}", force=True)
    await page.fill("#lieu-code", postal_code)
    await page.click("#commencer-bouton")
    await page.wait_for_url("**/tchat")
    await page.wait_for_selector("#connexion[data-state='open']")
    return await visit.tchat_id()
