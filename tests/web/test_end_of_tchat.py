"""The end of a tchat on a phone: said as an end, not as being dropped, with what to do next and the numbers of the
category and of the flags; the numbers read as the curated wording, never as research notes."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from chat import conversations, store
from operators.suggest import helplines_card
from tests.servers import LiveServer
from tests.web.conftest import Visit, operator_card, operator_says, start_by_form, take

pytestmark = pytest.mark.browser

VICTIMS_HOURS = "7j/7, 9h–20h ; messagerie de rappel en dehors de ces horaires"
RESEARCH_NOTES = ("au lancement", "selon une source", "une page municipale", "(depuis le", "indique 9h")


async def shown_numbers(page: Page) -> list[str]:
    numbers: list[str] = await page.locator(".pnav-numbers__item:visible .pnav-numbers__number").all_inner_texts()
    return numbers


async def test_a_closed_tchat_ends_kindly_with_the_numbers_of_its_flags(visit: Visit, server: LiveServer) -> None:
    """Flagged "mineur" then closed by the operator: "La conversation est terminée", what to do next, and on the end
    page 119 and 3018 besides 3919 and 116 006 — still after a reload of that page; never "a quitté le tchat"."""
    page = visit.page
    conversation_id = await start_by_form(visit, category="domestic_violence")
    assert await take(server, conversation_id)
    await server.call(lambda state: conversations.set_flags(state, conversation_id, emergency=False, minor=True))
    await operator_says(server, conversation_id, "Je vous laisse les numéros. Prenez soin de vous.")
    await server.call(lambda state: conversations.finish(state, conversation_id, status="closed",
                                                         outcome="information_given"))
    closed = page.locator("#termine")
    await expect(closed).to_be_visible()
    await expect(page.locator("#messages .pnav-notice").last).to_have_text("La conversation est terminée.")
    await expect(page.locator("#tchat")).not_to_contain_text("a quitté le tchat")
    await expect(closed.get_by_role("heading", name="La conversation est terminée")).to_be_visible()
    await expect(closed.get_by_role("heading", name="Et maintenant ?")).to_be_visible()
    await expect(closed).to_contain_text("revenir écrire quand vous voulez")
    await visit.screenshot("14-tchat-termine", full_page=False)

    await closed.get_by_role("link", name="Voir les numéros d'aide et la suite").click()
    await page.wait_for_url("**/fin?tchat=domestic_violence")
    await expect(page.locator(".fr-text--lead")).to_contain_text("La conversation est terminée")
    await expect(page.locator(".pnav-numbers__item:visible")).to_have_count(4)
    assert await shown_numbers(page) == ["119", "3018", "3919", "116 006"]
    await visit.screenshot("05-fin")
    await page.reload()
    await expect(page.locator(".pnav-numbers__item:visible")).to_have_count(4)

    other = await visit.context.new_page()  # another tab: no tchat, no flag
    await other.goto(visit.url("/fin?tchat=domestic_violence"))
    await expect(other.locator(".pnav-numbers__item:visible")).to_have_count(2)
    assert await shown_numbers(other) == ["3919", "116 006"]


async def test_numbers_read_as_the_curated_wording(visit: Visit, server: LiveServer) -> None:
    """Home, end pages and a « Numéros utiles » card in the tchat show 116 006 as « 7j/7, 9h–20h ; messagerie de
    rappel… » and hold none of the source notes."""
    page = visit.page
    for path in ("/", "/fin?tchat=sexual_violence", "/fin?tchat=domestic_violence", "/fin?tchat=discrimination_hate"):
        await visit.goto(path)
        await expect(page.locator("main")).to_contain_text(VICTIMS_HOURS)
        text = await page.locator("main").inner_text()
        assert not [note for note in RESEARCH_NOTES if note in text], path
    conversation_id = await start_by_form(visit, category="sexual_violence")
    assert await take(server, conversation_id)
    conversation = await server.call(lambda state: store.get(state.sessions, conversation_id))
    assert conversation is not None
    await operator_card(server, conversation_id, helplines_card(conversation))
    card = page.locator("article.pnav-card--helplines")
    await expect(card).to_contain_text("Aide aux victimes (France Victimes)")
    await expect(card).to_contain_text("7j/7, 9h–20h")
    text = await card.inner_text()
    assert not [note for note in RESEARCH_NOTES if note in text]
