"""The anonymous feedback on the end page, on a phone (390 px): after her tchat the visitor answers once, sees
thanks, and nothing of it is left in the tab; the form and its error state have no axe violation."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect
from sqlalchemy import select

from chat.models import Feedback
from tests.servers import LiveServer
from tests.web.conftest import Visit, operator_says, start_by_form, take
from tests.web.test_accessibility import audited, violations

pytestmark = pytest.mark.browser
__all__ = ["audited"]


async def test_visitor_answers_once_after_her_tchat(visit: Visit, server: LiveServer) -> None:
    """Leave the tchat → /fin asks the two questions → the answer is stored once, without the token kept."""
    page = visit.page
    conversation_id = await start_by_form(visit)
    assert await take(server, conversation_id)
    await operator_says(server, conversation_id, "Je vous écoute.")
    await page.click("#terminer-bouton")
    await page.click("#terminer-oui")
    await page.wait_for_url("**/fin?tchat=domestic_violence")
    form = page.locator("#avis-form")
    await expect(form).to_be_visible()
    await page.click("#avis-envoyer")
    await expect(page.locator("#avis-note-erreur")).to_be_visible()
    await page.check("#avis-4", force=True)
    await page.fill("#avis-texte", "Merci, j'ai été écoutée.")
    await visit.screenshot("13-fin-avis")
    await page.click("#avis-envoyer")
    await expect(page.locator("#avis-merci")).to_have_text("Merci, votre avis est enregistré.")
    await expect(form).to_be_hidden()
    stored = await visit.session_storage()
    assert "pnav.feedback" not in stored and "pnav.tchat" not in stored  # no token left in the tab
    await page.reload()
    await expect(page.locator("#avis")).to_be_hidden()

    async def stored(state: Any) -> list[tuple[int, str | None]]:
        async with state.sessions() as session:
            return [tuple(r) for r in await session.execute(select(Feedback.score, Feedback.comment))]  # type: ignore[misc]

    assert await server.call(stored) == [(4, "Merci, j'ai été écoutée.")]


async def test_feedback_form_has_no_axe_violation(audited: Visit) -> None:
    """The end page with the questions shown, then with the « choose an answer » error: zero violations."""
    page = audited.page
    await audited.goto("/")
    await page.evaluate("sessionStorage.setItem('pnav.feedback', JSON.stringify({token: 'jeton-de-test'}))")
    await audited.goto("/fin?tchat=sexual_violence")
    await expect(page.locator("#avis-form")).to_be_visible()
    assert await violations(audited) == []
    await page.click("#avis-envoyer")
    await expect(page.locator("#avis-note-erreur")).to_be_visible()
    assert await violations(audited) == []
    await page.check("#avis-2", force=True)
    await page.click("#avis-envoyer")
    await expect(page.locator("#avis-merci")).to_contain_text("délai")  # an unknown token: said kindly, then gone
    assert await violations(audited) == []
