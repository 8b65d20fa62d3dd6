"""``pnav demo`` for a trainer (issue 16, item 16): a local-service account for a police territory and one for a
gendarmerie territory, each printed with the postal code that reaches it — and a browser signs in with what was
printed and lands on that service's inbox."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, BrowserContext, expect

import routing
from operators import totp
from operators.cli import main_demo
from tests.conftest import wipe
from tests.servers import LiveServer
from tests.web.conftest import WAIT_MS, browser

pytestmark = pytest.mark.browser
__all__ = ["browser"]

ACCOUNT = re.compile(r"^(?P<user>demo-[a-z-]+)\t(?P<role>\w+)\t(?P<force>[\w-]+)\tmot de passe : (?P<password>\S+)\n"
                     r"  TOTP : otpauth://\S+secret=(?P<secret>[A-Z2-7]+)\S*\n"
                     r"(?:  reçoit les signalements du code postal (?P<code>\d{5}) \([^)]*\) : (?P<service>.+) "
                     r"\[(?P<id>[\w-]+)\]\n)?", re.MULTILINE)


@pytest.fixture
async def demo_server(staff_servers: dict[str, tuple[LiveServer, str]]) -> tuple[LiveServer, str]:
    server, url = staff_servers["sqlite-memory"]
    await wipe(url)
    return server, url


@pytest.fixture
async def desk(browser: Browser) -> AsyncIterator[BrowserContext]:
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR",
                                        timezone_id="Europe/Paris")
    context.set_default_timeout(WAIT_MS)
    yield context
    await context.close()


async def test_demo_prints_a_local_service_per_force_that_signs_in(demo_server: tuple[LiveServer, str],
                                                                    desk: BrowserContext) -> None:
    """Both demo local services exist, each printed with a postal code whose routing reaches exactly it; the
    gendarmerie one signs in with the printed password and code and sees its inbox; the hours line says how to
    open the psychologists' office hours when they are closed (here: never open)."""
    server, url = demo_server
    out = io.StringIO()
    env = {"PNAV_DATABASE_URL": url, "PNAV_ENV": "test", "PNAV_PSYCHOLOGIST_HOURS": ""}
    assert await asyncio.to_thread(main_demo, [], stdout=out, env=env) == 0
    text = out.getvalue()
    printed = {m["user"]: m for m in ACCOUNT.finditer(text)}
    services = {m["force"]: m for m in printed.values() if m["role"] == "local_service"}
    assert set(services) == {"police", "gendarmerie"}, text
    for force, match in services.items():
        resolution = routing.resolve(match["code"], None)
        assert resolution.force == force and resolution.local_service is not None
        assert resolution.local_service.id == match["id"] and resolution.local_service.name == match["service"]
    assert "PNAV_PSYCHOLOGIST_HOURS='mon-sun 00:00-24:00' make run" in text

    brigade = services["gendarmerie"]
    page = await desk.new_page()
    await page.goto(server.base + "/login")
    await page.fill("#username", brigade["user"])
    await page.fill("#password", brigade["password"])
    await page.fill("#totp", totp.current_code(brigade["secret"]))
    await page.click("#login-submit")
    await page.goto(server.base + "/service")
    await expect(page.locator("main")).to_contain_text(brigade["service"])
