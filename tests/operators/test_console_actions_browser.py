"""In real browsers: the console's orientation, signalement, flag and close actions, as the operator clicks them."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, expect

from tests.operators.desks import desks, server, sign_in
from tests.operators.staff import make
from tests.servers import LiveServer
from tests.web.conftest import browser, new_visit, start_by_form

pytestmark = pytest.mark.browser
__all__ = ["browser", "desks", "server"]


async def test_operator_orients_flags_proposes_and_closes(browser: Browser, server: LiveServer,
                                                          desks: list[BrowserContext]) -> None:
    """Aides à proximité and Numéros utiles reach the visitor as cards; Urgence alerts the supervisor; the
    refused signalement is shown; the close form sends the category-3 subtype."""
    officer = await make(server, "agent.actions", "operator", "police")
    chief = await make(server, "chef.actions", "supervisor", "police")
    errors: list[str] = []
    operator = await sign_in(desks[0], server, officer, errors)
    supervisor = await sign_in(desks[1], server, chief, errors)
    await expect(operator.locator(".console-nav a[href='/supervision/stats']")).to_have_count(0)
    await expect(supervisor.locator(".console-nav a[href='/levee']")).to_be_visible()
    await expect(supervisor.locator(".console-nav a[href='/supervision/stats']")).to_be_visible()

    visit = await new_visit(browser, server)
    try:
        visitor = visit.page
        conversation = await start_by_form(visit, category="discrimination_hate", postal_code="75011")
        await operator.locator(f'.queue-item[data-conversation="{conversation}"] .queue-take').click()
        pane = operator.locator(f"#pane-{conversation}")
        await expect(pane).to_be_visible()

        await pane.get_by_role("button", name="Proposer des aides à proximité").click()
        card = visitor.locator("article.pnav-card--support")
        await expect(card.get_by_role("heading", name="Aide près de chez vous")).to_be_visible()
        await expect(card.locator(".pnav-card__item").first).to_contain_text("km")
        await expect(card.get_by_role("link", name="Appeler le").first).to_have_attribute("href", "tel:0153386230")
        await expect(pane.locator(".chat-card--support li").first).to_contain_text("km")

        await pane.get_by_role("button", name="Numéros utiles").click()
        numbers = visitor.locator("article.pnav-card--helplines")
        await expect(numbers).to_contain_text("3018")
        await expect(pane.locator(".chat-card--helplines")).to_contain_text("116 006")

        await pane.get_by_role("button", name="Urgence").click()
        await expect(pane.get_by_role("button", name="Urgence")).to_have_attribute("aria-pressed", "true")
        await expect(supervisor.locator("#alerts")).to_be_visible()
        await expect(supervisor.locator(".alert-item")).to_contain_text("urgence")
        await expect(visitor.locator("article.pnav-card--emergency")).to_contain_text("114")

        await pane.locator(".chat-signalement summary").click()
        await pane.locator(".chat-signalement-form textarea").fill("Messages haineux répétés sur un réseau social.")
        await pane.get_by_role("button", name="Demander le consentement de la personne").click()
        await expect(pane.locator(".chat-consent")).to_contain_text("en attente")
        await visitor.get_by_role("button", name="Non merci, rester anonyme").click()
        await expect(pane.locator(".chat-consent")).to_contain_text("a refusé")

        await expect(pane.locator("select[name=subtype]")).to_be_visible()
        await pane.locator("select[name=outcome]").select_option("information_given")
        await pane.locator("select[name=subtype]").select_option("online_hate")
        await pane.locator(".chat-close-button").click()
        await pane.locator(".chat-close-yes").click()
        await expect(pane.locator(".chat-status")).to_contain_text("Conversation clôturée")

        async def subtype(state: Any) -> str | None:
            from chat import store

            found = await store.get(state.sessions, conversation)
            assert found is not None
            return found.subtype

        assert await server.call(subtype) == "online_hate"
        assert errors == []
    finally:
        await visit.context.close()
