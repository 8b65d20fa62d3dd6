"""In real browsers: an operator signs in with TOTP, takes a visitor's tchat, invites a psychologist who joins;
all three see each other's messages."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.conftest import wipe
from tests.operators.staff import Staff, make
from tests.servers import LiveServer
from tests.web.conftest import WAIT_MS, browser, new_visit, start_by_form

pytestmark = pytest.mark.browser
__all__ = ["browser"]  # the session's headless Chromium, shared with tests/web


@pytest.fixture
async def server(staff_servers: dict[str, tuple[LiveServer, str]]) -> LiveServer:
    live, url = staff_servers["sqlite-memory"]
    await wipe(url)
    return live


@pytest.fixture
async def desks(browser: Browser) -> AsyncIterator[list[BrowserContext]]:
    """Two desktop browser contexts (operator, psychologist), each with its own cookie jar."""
    contexts = [await browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR",
                                          timezone_id="Europe/Paris") for _ in range(2)]
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
    await expect(page.locator("#connection")).to_have_text("Connecté·e")
    return page


async def test_operator_visitor_and_psychologist_chat_together(browser: Browser, server: LiveServer,
                                                               desks: list[BrowserContext]) -> None:
    """Operator (TOTP sign-in) takes the visitor's tchat, invites a psychologist; every message reaches all three."""
    officer = await make(server, "agent.navigateur", "operator", "police")
    psychologist = await make(server, "psy.navigateur", "psychologist")
    operator = await sign_in(desks[0], server, officer)

    visit = await new_visit(browser, server)
    try:
        visitor = visit.page
        conversation = await start_by_form(visit, category="domestic_violence", postal_code="75011")
        await visitor.fill("#message", "Bonjour, mon conjoint me menace.")
        await visitor.keyboard.press("Enter")

        item = operator.locator(f'.queue-item[data-conversation="{conversation}"]')
        await expect(item).to_contain_text("Attend depuis")
        await item.locator(".queue-take").click()
        pane = operator.locator(f"#pane-{conversation}")
        await expect(pane).to_be_visible()
        await expect(pane.locator(".chat-log")).to_contain_text("Bonjour, mon conjoint me menace.")
        await expect(item).to_have_count(0)

        await pane.locator(".chat-body").fill("Je suis là pour vous aider. Êtes-vous en sécurité ?")
        await pane.locator(".chat-body").press("Enter")
        await expect(visitor.locator(".pnav-message--operator")).to_contain_text("Êtes-vous en sécurité ?")
        await visitor.fill("#message", "Oui, pour l'instant.")
        await visitor.keyboard.press("Enter")
        await expect(pane.locator(".chat-log")).to_contain_text("Oui, pour l'instant.")

        psy = await sign_in(desks[1], server, psychologist)
        await pane.locator(".chat-invite").click()
        await expect(pane.locator(".chat-log")).to_contain_text("Invitation envoyée")
        await psy.locator(".invitation-accept").click()
        psy_pane = psy.locator(f"#pane-{conversation}")
        await expect(psy_pane).to_be_visible()
        await expect(psy_pane.locator(".chat-log")).to_contain_text("Oui, pour l'instant.")
        await expect(visitor.locator("#tchat")).to_contain_text("psychologue a rejoint")
        await expect(pane.locator(".chat-log")).to_contain_text("a rejoint la conversation")

        await psy_pane.locator(".chat-body").fill("Bonjour, je suis psychologue. Je vous écoute aussi.")
        await psy_pane.locator(".chat-send").click()
        await expect(visitor.locator(".pnav-message--psychologist")).to_contain_text("je suis psychologue")
        await expect(pane.locator(".chat-log")).to_contain_text("je suis psychologue")

        await visitor.fill("#message", "Merci à vous deux.")
        await visitor.keyboard.press("Enter")
        await expect(pane.locator(".chat-log")).to_contain_text("Merci à vous deux.")
        await expect(psy_pane.locator(".chat-log")).to_contain_text("Merci à vous deux.")

        await pane.locator(".chat-body").fill("Je vous donne le numéro du 3919.")
        await pane.locator(".chat-send").click()
        await expect(psy_pane.locator(".chat-log")).to_contain_text("3919")
        await expect(visitor.locator(".pnav-message--operator").last).to_contain_text("3919")

        await pane.locator("select[name=outcome]").select_option("association_oriented")
        await pane.locator(".chat-close-button").click()
        await expect(pane.locator(".chat-status")).to_contain_text("Conversation clôturée")
        await expect(visitor.locator("#termine")).to_be_visible()
        await expect(psy_pane.locator(".chat-status")).to_contain_text("Conversation clôturée")
    finally:
        await visit.context.close()
