"""/admin in a real browser: an admin creates an account, the new person enrols their TOTP app from the QR code on
their own screen and signs in; office hours and a directory entry are edited; axe finds nothing on any page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from operators import totp
from tests.operators.desks import server
from tests.operators.staff import Staff, make
from tests.servers import LiveServer
from tests.web.conftest import AXE, SCREENSHOTS, TAKE_SCREENSHOTS, WAIT_MS, browser
from tests.web.test_accessibility import AXE_RUN

pytestmark = pytest.mark.browser
__all__ = ["browser", "server"]

DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
async def two_desks(browser: Browser) -> AsyncIterator[list[BrowserContext]]:
    """The admin's desk and the new person's; CSP bypassed so that axe can be injected (the QR code is also checked
    to be an image the page's real CSP allows: img-src data:)."""
    contexts = [await browser.new_context(viewport=DESKTOP, locale="fr-FR",  # type: ignore[arg-type]
                                          timezone_id="Europe/Paris", bypass_csp=True) for _ in range(2)]
    for context in contexts:
        context.set_default_timeout(WAIT_MS)
    yield contexts
    for context in contexts:
        await context.close()


async def sign_in(context: BrowserContext, server: LiveServer, staff: Staff) -> Page:
    page = await context.new_page()
    await page.goto(server.base + "/login")
    await page.fill("#username", staff.username)
    await page.fill("#password", staff.password)
    await page.fill("#totp", staff.code())
    await page.click("#login-submit")
    await page.wait_for_url("**/console")
    return page


async def no_violations(page: Page) -> None:
    await page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = await page.evaluate(AXE_RUN)
    assert found == [], page.url


async def shot(page: Page, name: str) -> None:
    if TAKE_SCREENSHOTS:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


async def test_admin_creates_an_account_and_the_person_enrols_on_their_own_screen(
        server: LiveServer, two_desks: list[BrowserContext]) -> None:
    """Create → link shown to the admin (no QR) → the person chooses a password, scans the QR (an image allowed by
    the CSP), types a code, signs in; office hours and a directory entry edited; zero axe violations throughout."""
    chief = await make(server, "chef.admin", "admin")
    await make(server, "agent.existant", "operator", "police")
    admin = await sign_in(two_desks[0], server, chief)
    await admin.goto(server.base + "/admin")
    await expect(admin.locator("#admin-accounts")).to_contain_text("agent.existant")
    await no_violations(admin)
    await admin.click("#admin-new")
    await no_violations(admin)
    await admin.fill("#username", "brigadier.neuf")
    await admin.fill("#display_name", "Brig. Neuf")
    await admin.select_option("#role", "operator")
    await admin.select_option("#force", "gendarmerie")
    await admin.click("#admin-create")
    link = (await admin.locator("#admin-link").text_content() or "").strip()
    assert "/compte/lien/" in link
    assert await admin.locator("img").count() == 0  # never the QR code on the admin's screen
    await no_violations(admin)

    person = await two_desks[1].new_page()
    await person.goto(link)
    await no_violations(person)
    await person.fill("#password", "ma phrase de passe secrète")
    await person.fill("#confirm", "ma phrase de passe secrète")
    await person.click("#link-submit")
    qr = person.locator("#link-qr")
    await expect(qr).to_be_visible()
    assert await qr.evaluate("img => img.naturalWidth") > 100
    await no_violations(person)
    await shot(person, "42-premiere-connexion-qr")
    secret = (await person.locator("#link-secret").text_content() or "").replace(" ", "")
    await person.fill("#totp", totp.current_code(secret))
    await person.click("#link-submit")
    await expect(person.locator("h1")).to_have_text("Votre compte est prêt")
    await no_violations(person)
    await person.click("#link-done")
    await person.fill("#username", "brigadier.neuf")
    await person.fill("#password", "ma phrase de passe secrète")
    await person.fill("#totp", totp.current_code(secret, __import__("time").time() + totp.STEP_SECONDS))
    await person.click("#login-submit")
    await person.wait_for_url("**/console")

    await admin.goto(server.base + "/admin")
    await expect(admin.locator("#admin-accounts")).to_contain_text("brigadier.neuf")
    await shot(admin, "40-admin-comptes")
    await admin.goto(server.base + "/admin/comptes/brigadier.neuf")
    await admin.fill("#capacity", "6")
    await admin.click("#admin-save")
    await expect(admin.locator("#admin-done")).to_contain_text("Modifications enregistrées")
    await expect(admin.locator("#capacity")).to_have_value("6")
    await no_violations(admin)
    await shot(admin, "41-admin-compte")

    await admin.goto(server.base + "/admin/horaires")
    await admin.fill("#spec", "mon-fri 08:00-20:00; sat 10:00-13:00")
    await admin.click("#hours-save")
    await expect(admin.locator("#hours-readable")).to_contain_text("samedi : de 10 h 00 à 13 h 00")
    await no_violations(admin)
    await shot(admin, "43-admin-horaires")

    await admin.goto(server.base + "/admin/services")
    await admin.fill("#q", "54120")
    await admin.click("#services-search")
    await admin.locator("#services-results a").first.click()
    await admin.fill("#phone", "03 83 00 00 00")
    await admin.click("#service-save")
    await expect(admin.locator("#admin-done")).to_contain_text("Fiche enregistrée")
    await no_violations(admin)
    await shot(admin, "44-admin-service")
    await admin.click("#service-revert")
    await expect(admin.locator("#admin-done")).to_contain_text("données officielles")
