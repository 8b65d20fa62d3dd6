"""The consent form of a signalement, drawn from the escalation package's frame: accept → follow-up code shown."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from chat import store
from escalation import signalements
from tests.servers import LiveServer
from tests.web.conftest import OPERATOR_ID, Visit, start_by_form, take

pytestmark = pytest.mark.browser


async def test_consent_form_accepted_gives_a_followup_code_seen_again_at_the_end(visit: Visit,
                                                                                  server: LiveServer) -> None:
    """The visitor reads what is sent, fills the form, consents, sees the code; /fin shows it once more."""
    page = visit.page
    conversation_id = await start_by_form(visit)
    assert await take(server, conversation_id)

    async def propose(state: object) -> None:
        conversation = await store.get(state.sessions, conversation_id)  # type: ignore[attr-defined]
        assert conversation is not None
        await signalements.propose(state, conversation, account_id=OPERATOR_ID,  # type: ignore[arg-type]
                                   actor="operator", summary="Violences du conjoint hier soir.")

    await server.call(propose)
    form = page.locator("#consentement")
    await expect(form.get_by_role("heading", name="Transmettre un signalement")).to_be_visible()
    await expect(form).to_contain_text("Violences du conjoint hier soir.")
    await form.get_by_role("button", name="Transmettre le signalement").click()
    await expect(form.locator(".pnav-consent__problem")).to_contain_text("Cochez la case")
    await form.get_by_label("Nom ou pseudonyme").fill("Camille")
    await form.get_by_role("textbox", name=re.compile("^Téléphone")).fill("06 12 34 56 78")
    await form.get_by_label("J'ai lu ce qui sera transmis").check(force=True)
    await visit.screenshot("12-tchat-consentement", full_page=False)
    await form.get_by_role("button", name="Transmettre le signalement").click()
    code = form.locator(".pnav-code")
    await expect(code).to_be_visible()
    followup_code = (await code.text_content() or "").strip()
    assert len(followup_code) >= 8

    await page.click("#terminer-bouton")
    await page.click("#terminer-oui")
    await page.wait_for_url("**/fin?tchat=domestic_violence")
    await expect(page.locator("#code-suivi .pnav-code")).to_have_text(followup_code)

    await visit.goto("/suivi")
    await page.fill("#code", followup_code)
    await page.click("button[type=submit]")
    await expect(page.locator("#historique")).to_be_visible()
    await expect(page.locator("#historique li").first).not_to_be_empty()
