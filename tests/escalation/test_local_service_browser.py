"""In real browsers (issue 16, item 14): the local service calls the person from a ``tel:`` link, records « Personne
injoignable » with a note kept encrypted and never shown to the visitor, and the visitor's /suivi (phone) says
« Le service n'a pas pu vous joindre » with what to do."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, expect
from sqlalchemy import select

from escalation.models import StatusEvent
from tests.conftest import wipe
from tests.escalation.conftest import Live
from tests.escalation.flow import CONTACT, PARIS_11, consent, propose, taken_tchat
from tests.operators.staff import make
from tests.servers import LiveServer
from tests.web.conftest import WAIT_MS, browser, new_visit
from tests.web.test_accessibility import AXE, AXE_RUN

pytestmark = pytest.mark.browser
__all__ = ["browser"]

NOTE = "Appelée à 14 h 10 : messagerie pleine, rappeler demain matin."


@pytest.fixture
async def live(escalation_servers: dict[str, tuple[LiveServer, str]]) -> Live:
    server, url = escalation_servers["sqlite-memory"]
    await wipe(url)
    server.state.extensions.pop("escalation.followup_limiter", None)
    return Live(server, url)


@pytest.fixture
async def desk(browser: Browser) -> AsyncIterator[BrowserContext]:
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR",
                                        timezone_id="Europe/Paris", bypass_csp=True)
    context.set_default_timeout(WAIT_MS)
    yield context
    await context.close()


async def test_unreachable_step_with_a_private_note_and_what_the_visitor_reads(live: Live, browser: Browser,
                                                                               desk: BrowserContext) -> None:
    """tel: link to the person; « Personne injoignable » with a note, shown to the service, stored encrypted,
    absent from the follow-up; /suivi tells the visitor the service could not reach them and what to do."""
    server = live.server
    tchat = await taken_tchat(server)
    form = await propose(tchat)
    response = await consent(server, tchat.token, form["consent_version"])
    assert response.status_code == 201, response.text
    code = response.json()["followup_code"]

    service = await make(server, "commissariat.onze", "local_service", "police", service_id=PARIS_11)
    page = await desk.new_page()
    await page.goto(server.base + "/login")
    await page.fill("#username", service.username)
    await page.fill("#password", service.password)
    await page.fill("#totp", service.code())
    await page.click("#login-submit")
    await page.goto(server.base + "/service")
    await page.locator("a[href^='/service/signalements/']").first.click()
    phone = page.get_by_role("link", name=CONTACT["phone"])
    await expect(phone).to_have_attribute("href", "tel:0612345678")

    await page.select_option("#status", "unreachable")
    await page.fill("#note", NOTE)
    await page.get_by_role("button", name="Enregistrer l'étape").click()
    await expect(page.locator(".signalement-history")).to_contain_text("Personne injoignable")
    await expect(page.locator(".signalement-note")).to_have_text(f"Note : {NOTE}")
    # Another attempt later: « injoignable » may be recorded again.
    await expect(page.locator("#status option[value=unreachable]")).to_have_count(1)
    await page.add_script_tag(path=str(AXE))
    assert await page.evaluate(AXE_RUN) == []

    async def stored(state: Any) -> list[bytes | None]:
        async with state.sessions() as session:
            return list(await session.scalars(select(StatusEvent.note_ciphertext)))

    ciphertexts = [c for c in await server.call(stored) if c is not None]
    assert len(ciphertexts) == 1 and b"messagerie" not in ciphertexts[0]

    async with httpx.AsyncClient(base_url=server.base) as http:
        followup = (await http.get(f"/api/v1/followup/{code}")).json()
    assert followup["status"] == "unreachable" and "messagerie" not in str(followup)
    assert followup["label"] == "Le service n'a pas pu vous joindre"

    visit = await new_visit(browser, server, bypass_csp=True)
    try:
        phone_page = visit.page
        await visit.goto("/suivi")
        await phone_page.fill("#code", code)
        await phone_page.click("button[type=submit]")
        advice = phone_page.locator("#conseil-suivi")
        await expect(advice).to_contain_text("Le service n'a pas pu vous joindre")
        await expect(advice).to_contain_text("vous présenter à l'accueil d'un commissariat")
        await expect(advice.get_by_role("link")).to_have_attribute("href", "tel:3430")
        await expect(phone_page.locator("#resultat")).not_to_contain_text("messagerie")
        await phone_page.add_script_tag(path=str(AXE))
        assert await phone_page.evaluate(AXE_RUN) == []
        await visit.screenshot("31-suivi-injoignable", full_page=False)
    finally:
        await visit.context.close()
