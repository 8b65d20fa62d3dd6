"""axe-core finds no violation on any visitor page, in each of its states; the tchat works with the keyboard only."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from chat import conversations, store
from escalation import signalements
from tests.client import start_tchat
from tests.servers import LiveServer
from tests.web.conftest import AXE, OPERATOR_ID, Visit, new_visit, operator_card, operator_says, start_by_form, take

pytestmark = pytest.mark.browser

# Rules of WCAG 2.0/2.1 A and AA (what RGAA maps to) plus axe's best practices.
AXE_RUN = """async () => {
  const result = await axe.run(document, {
    runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']},
    resultTypes: ['violations'],
  });
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                      nodes: v.nodes.map(n => n.target.join(' '))}));
}"""


@pytest.fixture
async def audited(browser: Browser, server: LiveServer) -> AsyncIterator[Visit]:
    """A phone tab whose pages can receive axe: CSP is bypassed in this context only, to inject the checker."""
    current = await new_visit(browser, server, bypass_csp=True)
    try:
        yield current
        assert current.foreign_requests() == []
    finally:
        await current.context.close()


async def violations(visit: Visit) -> list[dict[str, Any]]:
    await visit.page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = await visit.page.evaluate(AXE_RUN)
    return found


async def test_static_pages_have_no_axe_violation(audited: Visit) -> None:
    """Home, start, end, follow-up and legal pages: zero violations."""
    for path in ("/", "/commencer", "/commencer?tchat=sexual_violence", "/fin", "/fin?tchat=discrimination_hate",
                 "/suivi", "/mentions-legales", "/tchat"):
        await audited.goto(path)
        assert await violations(audited) == [], path


async def test_start_page_errors_and_commune_picker_have_no_axe_violation(audited: Visit) -> None:
    """The start form with its error messages, then with the commune picker: zero violations."""
    page = audited.page
    await audited.goto("/commencer")
    await page.click("#commencer-bouton")
    await expect(page.locator("#erreur-code")).to_contain_text("Indiquez un code postal")
    assert await violations(audited) == []
    await page.check("#tchat-domestic_violence", force=True)
    await page.check("#profil-victim", force=True)
    await page.fill("#lieu-code", "03200")
    await page.click("#commencer-bouton")
    await expect(page.locator("#champ-commune")).to_be_visible()
    assert await violations(audited) == []


async def test_tchat_in_every_state_has_no_axe_violation(audited: Visit, server: LiveServer) -> None:
    """Queued, live with messages and a card, offline with pending messages, closed: zero violations."""
    page = audited.page
    await start_tchat(server, postal_code="75011", category="domestic_violence")
    conversation_id = await start_by_form(audited)
    await expect(page.locator("#attente")).to_be_visible()
    assert await violations(audited) == []

    assert await take(server, conversation_id)
    await operator_says(server, conversation_id, "Bonjour, je vous écoute.")
    await operator_card(server, conversation_id, {
        "kind": "orientation", "title": "Près de chez vous",
        "items": [{"name": "France Victimes", "phone": "116 006", "address": "1 rue Exemple, 75011 Paris",
                   "url": "https://www.france-victimes.fr/", "distance_km": 1.2}],
    })
    await page.fill("#message", "Merci.")
    await page.keyboard.press("Enter")
    await expect(page.locator("article.pnav-card")).to_be_visible()
    assert await violations(audited) == []

    await audited.context.set_offline(True)
    await page.fill("#message", "Hors ligne")
    await page.keyboard.press("Enter")
    await expect(page.locator("#connexion")).to_have_attribute("data-state", "offline")
    assert await violations(audited) == []
    await audited.context.set_offline(False)
    await expect(page.locator("#connexion")).to_have_attribute("data-state", "open")

    async def propose(state: Any) -> None:
        conversation = await store.get(state.sessions, conversation_id)
        assert conversation is not None
        await signalements.propose(state, conversation, account_id=OPERATOR_ID, actor="operator",
                                   summary="Des coups hier soir.")

    await server.call(propose)
    await expect(page.locator("#consentement form")).to_be_visible()
    await page.locator("#consentement").get_by_role("button", name="Transmettre le signalement").click()
    await expect(page.locator("#consentement .pnav-consent__problem")).to_be_visible()
    assert await violations(audited) == []

    await page.click("#terminer-bouton")
    await expect(page.locator("#terminer-confirmation")).to_be_visible()
    assert await violations(audited) == []


async def test_end_page_with_a_followup_code_and_suivi_with_an_unknown_code(audited: Visit) -> None:
    """The follow-up code box and the "code inconnu" message: zero violations."""
    page = audited.page
    await audited.goto("/")
    await page.evaluate("sessionStorage.setItem('pnav.codes', JSON.stringify([{proposal: 'p1', "
                        "code: 'K7Q2-9XWD-4MPL-8RTV-3HXZ'}]))")
    await audited.goto("/fin?tchat=sexual_violence")
    await expect(page.locator("#code-suivi .pnav-code")).to_have_text("K7Q2-9XWD-4MPL-8RTV-3HXZ")
    assert await violations(audited) == []
    await audited.screenshot("09-fin-code-suivi")

    await audited.goto("/suivi")
    await page.fill("#code", "ZZZZ-0000")
    await page.click("button[type=submit]")
    await expect(page.locator("#erreur-suivi")).to_contain_text("Code inconnu")
    assert await violations(audited) == []
    await audited.screenshot("10-suivi-code-inconnu")


async def test_keyboard_only_start_and_write(visit: Visit, server: LiveServer) -> None:
    """Without a pointer: choose the tchat, the profile, type the code, start, write and send."""
    page = visit.page
    await visit.goto("/commencer")
    await page.focus("#tchat-sexual_violence")
    await page.keyboard.press("ArrowDown")  # radio groups move with the arrows
    await expect(page.locator("#tchat-domestic_violence")).to_be_checked()
    await page.keyboard.press("Tab")
    await page.keyboard.press("Space")
    await expect(page.locator("#profil-victim")).to_be_checked()
    await page.keyboard.press("Tab")
    await expect(page.locator("#lieu-code")).to_be_focused()
    await page.keyboard.type("75011")
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/tchat")
    await expect(page.locator("#connexion")).to_have_attribute("data-state", "open")
    await page.focus("#message")
    await page.keyboard.type("Bonjour")
    await page.keyboard.press("Enter")
    await expect(page.locator(".pnav-message--own .pnav-message__status")).to_have_text("Envoyé")
    # The quick exit comes right after the skip link in the tab order, and Enter on it leaves.
    await page.focus(".fr-skiplinks a")
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.id") == "quitter-bouton"
    await page.keyboard.press("Enter")
    await page.wait_for_url("https://meteofrance.com/")


async def test_the_states_issue_16_added_have_no_axe_violation(audited: Visit, server: LiveServer) -> None:
    """Commune search results and the other ways in after an unknown code; the composer's counter and the
    « Nouveau message » marker; the answered consent card with the code; the end of a tchat; the end page with the
    numbers of a flag and a code: zero violations."""
    page = audited.page
    await audited.goto("/commencer")
    await page.fill("#lieu-recherche", "saint denis")
    await expect(page.locator("#resultats-nom input").first).to_be_visible()
    assert await violations(audited) == []
    await page.fill("#lieu-code", "00000")
    await page.check("#tchat-sexual_violence", force=True)
    await page.check("#profil-victim", force=True)
    await page.click("#commencer-bouton")
    await expect(page.locator("#probleme-lieu")).to_be_visible()
    assert await violations(audited) == []

    conversation_id = await start_by_form(audited)
    assert await take(server, conversation_id)
    for i in range(12):
        await operator_says(server, conversation_id, f"Message {i} : une phrase pour remplir l'écran du téléphone.")
    await expect(page.locator(".pnav-message--operator")).to_have_count(12)
    await page.locator("#fil").evaluate("el => el.scrollTo(0, 0)")
    await operator_says(server, conversation_id, "Êtes-vous toujours là ?")
    await expect(page.locator("#nouveau")).to_be_visible()
    await page.fill("#message", "x" * 4100)
    await expect(page.locator("#message-compteur")).to_contain_text("2 messages")
    assert await violations(audited) == []
    await page.fill("#message", "")

    async def propose(state: Any) -> None:
        conversation = await store.get(state.sessions, conversation_id)
        assert conversation is not None
        await signalements.propose(state, conversation, account_id=OPERATOR_ID, actor="operator",
                                   summary="Des coups hier soir.")

    await server.call(propose)
    form = page.locator("#consentement")
    await form.get_by_label("Nom ou pseudonyme").fill("Camille")
    await form.get_by_role("textbox", name=re.compile("^Téléphone")).fill("06 12 34 56 78")
    await form.get_by_label("J'ai lu ce qui sera transmis").check(force=True)
    await form.get_by_role("button", name="Transmettre le signalement").click()
    await expect(form.locator(".pnav-code")).to_be_visible()
    assert await violations(audited) == []
    await audited.screenshot("15-tchat-code-de-suivi", full_page=False)

    await server.call(lambda state: conversations.set_flags(state, conversation_id, emergency=True, minor=True))
    await server.call(lambda state: conversations.finish(state, conversation_id, status="closed", outcome="other"))
    await expect(page.locator("#termine")).to_be_visible()
    assert await violations(audited) == []
    await page.locator("#termine-lien").click()
    await page.wait_for_url("**/fin?tchat=domestic_violence")
    await expect(page.locator(".pnav-numbers__item:visible")).to_have_count(7)
    await expect(page.locator("#code-suivi")).to_be_visible()
    assert await violations(audited) == []
