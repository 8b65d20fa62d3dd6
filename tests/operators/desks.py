"""Browser fixtures and helpers of the console tests: a clean live server, two desktop contexts, TOTP sign-in."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.conftest import wipe
from tests.operators.staff import Staff
from tests.servers import LiveServer
from tests.web.conftest import WAIT_MS


@pytest.fixture
async def server(staff_servers: dict[str, tuple[LiveServer, str]]) -> LiveServer:
    live, url = staff_servers["sqlite-memory"]
    await wipe(url)
    return live


@pytest.fixture
async def desks(browser: Browser) -> AsyncIterator[list[BrowserContext]]:
    """Two desktop browser contexts (e.g. operator and psychologist or supervisor), each with its own cookies."""
    contexts = [await browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR",
                                          timezone_id="Europe/Paris") for _ in range(2)]
    for context in contexts:
        context.set_default_timeout(WAIT_MS)
    yield contexts
    for context in contexts:
        await context.close()


async def sign_in(context: BrowserContext, server: LiveServer, staff: Staff, errors: list[str] | None = None) -> Page:
    page = await context.new_page()
    if errors is not None:
        page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(server.base + "/login")
    await page.fill("#username", staff.username)
    await page.fill("#password", staff.password)
    await page.fill("#totp", staff.code())
    await page.click("#login-submit")
    await page.wait_for_url("**/console")
    await expect(page.locator("#connection")).to_have_text("Connecté·e")
    return page
