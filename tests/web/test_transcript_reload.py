"""A phone reloads the tchat (mobile browsers reload background tabs): the page after the reload is the page before
it — system events, the consent card and its answer, the follow-up code, "Lu" — and the code can be copied."""

from __future__ import annotations

import re
import secrets
from typing import Any

import pytest
from playwright.async_api import Page, expect

from chat import conversations, store
from chat.db import utcnow
from escalation import codes, signalements
from operators import invitations
from operators.models import Invitation
from operators.suggest import helplines_card
from tests.servers import LiveServer
from tests.web.conftest import OPERATOR_ID, Visit, operator_card, operator_says, start_by_form, take

pytestmark = pytest.mark.browser

# What a person sees of the tchat: every item of the transcript (kind and text), the banner, the queue box, the end.
SNAPSHOT = """() => ({
  items: [...document.querySelectorAll('#messages > li')].map(li => [li.className, li.innerText]),
  banner: document.getElementById('arrivee').hidden ? null : document.getElementById('arrivee-texte').textContent,
  queue: !document.getElementById('attente').hidden,
  closed: !document.getElementById('termine').hidden,
})"""


async def snapshot(page: Page) -> dict[str, Any]:
    shown: dict[str, Any] = await page.evaluate(SNAPSHOT)
    return shown


async def reloaded(page: Page, before: dict[str, Any]) -> dict[str, Any]:
    """Reload, wait until the replay has drawn as many items as there were, and return what the page shows."""
    await page.reload()
    await expect(page.locator("#messages > li")).to_have_count(len(before["items"]))
    if before["closed"]:
        await expect(page.locator("#termine")).to_be_visible()
    else:
        await expect(page.locator("#connexion")).to_have_attribute("data-state", "open")
    return await snapshot(page)


async def propose(server: LiveServer, conversation_id: str, summary: str) -> None:
    async def run(state: Any) -> None:
        conversation = await store.get(state.sessions, conversation_id)
        assert conversation is not None
        await signalements.propose(state, conversation, account_id=OPERATOR_ID, actor="agent", summary=summary)

    await server.call(run)


async def staff_read(server: LiveServer, conversation_id: str, seq: int) -> None:
    await server.call(lambda state: conversations.publish(state, conversation_id,
                                                          {"type": "read", "who": "operator", "seq": seq}))


async def offer_psychologist(server: LiveServer, conversation_id: str) -> None:
    """What the operator's « Inviter une psychologue » does (at any hour): the question, stored with its seq."""
    async def run(state: Any) -> None:
        async with state.sessions.begin() as session:
            invitation = Invitation(id=secrets.token_hex(16), conversation_id=conversation_id, invited_by=OPERATOR_ID,
                                    status="offered", created_at=utcnow())
            session.add(invitation)
            stored = await store.append_event(session, conversation_id,
                                              invitations.offer_frame(invitation, "Une psychologue"))
        assert stored is not None
        await conversations.publish(state, conversation_id, stored.frame())

    await server.call(run)


async def helplines(server: LiveServer, conversation_id: str) -> None:
    conversation = await server.call(lambda state: store.get(state.sessions, conversation_id))
    assert conversation is not None
    await operator_card(server, conversation_id, helplines_card(conversation))


async def test_the_page_after_a_reload_is_the_page_before_it(visit: Visit, server: LiveServer) -> None:
    """Joined line, messages with "Lu", a card, the psychologist question and its answer, the consent card with its
    answer and the code, and after the close the end of the tchat: the same after a reload as before it; the code is
    copied grouped, /suivi takes it bare."""
    page = visit.page
    await visit.context.grant_permissions(["clipboard-read", "clipboard-write"])
    conversation_id = await start_by_form(visit)
    await page.fill("#message", "Bonjour, j'ai besoin d'aide.")
    await page.keyboard.press("Enter")
    await expect(page.locator(".pnav-message--own .pnav-message__status")).to_have_text("Envoyé")
    assert await take(server, conversation_id)
    await expect(page.locator("#messages .pnav-notice--joined")).to_contain_text("a rejoint le tchat")
    seq = await operator_says(server, conversation_id, "Bonjour, je vous lis. Où êtes-vous en ce moment ?")
    await staff_read(server, conversation_id, seq)
    await expect(page.locator(".pnav-message--own .pnav-message__status")).to_have_text("Lu")
    await helplines(server, conversation_id)
    await expect(page.locator("article.pnav-card--helplines")).to_be_visible()
    await offer_psychologist(server, conversation_id)
    await page.get_by_role("button", name="Non merci").click()
    await expect(page.locator(".pnav-card--psychologist")).to_contain_text("continue sans psychologue")

    await propose(server, conversation_id, "Violences du conjoint hier soir.")
    form = page.locator("#consentement")
    await form.get_by_label("Nom ou pseudonyme").fill("Camille")
    await form.get_by_role("textbox", name=re.compile("^Téléphone")).fill("06 12 34 56 78")
    await form.get_by_label("J'ai lu ce qui sera transmis").check(force=True)
    await form.get_by_role("button", name="Transmettre le signalement").click()
    code = (await form.locator(".pnav-code").text_content() or "").strip()
    assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){4}", code) and len(codes.normalise(code) or "") * 5 >= 100
    await expect(page.locator("article.pnav-card--evidence")).to_be_visible()
    await expect(form.get_by_text("Votre signalement a été transmis.", exact=True)).to_have_count(1)

    before = await snapshot(page)
    kinds = [cls.split()[-1] for cls, _ in before["items"]]
    assert kinds == ["pnav-message--own", "pnav-notice--joined", "pnav-message--operator", "pnav-message--card",
                     "pnav-message--card", "pnav-message--card", "pnav-message--card"], kinds
    assert "Lu" in before["items"][0][1] and code in before["items"][5][1]
    assert await reloaded(page, before) == before
    await expect(form.locator(".pnav-code")).to_have_text(code)  # still there, only in this tab
    assert not any(code in str(value) for value in (await visit.session_storage()).get("pnav.tchat", {}).values())

    await server.call(lambda state: conversations.finish(state, conversation_id, status="closed",
                                                         outcome="information_given"))
    await expect(page.locator("#termine")).to_be_visible()
    ended = await snapshot(page)
    assert ended["items"][-1] == ["pnav-notice pnav-notice--left", "La conversation est terminée."]
    assert await reloaded(page, ended) == ended

    await form.get_by_role("button", name="Copier le code").click()
    await expect(form.get_by_role("status")).to_have_text("Code copié.")
    assert await page.evaluate("navigator.clipboard.readText()") == code

    await visit.goto("/suivi")
    await page.fill("#code", code.replace("-", "").lower())
    await page.click("button[type=submit]")
    await expect(page.locator("#historique")).to_contain_text("Signalement transmis au service compétent")


async def test_read_by_the_operator_shows_lu(visit: Visit, server: LiveServer) -> None:
    """When the operator has read up to a message, its status says "Lu" (text, not a colour); later ones "Envoyé"."""
    page = visit.page
    conversation_id = await start_by_form(visit)
    assert await take(server, conversation_id)
    for text in ("Premier message", "Deuxième message"):
        await page.fill("#message", text)
        await page.keyboard.press("Enter")
    statuses = page.locator(".pnav-message--own .pnav-message__status")
    await expect(statuses).to_have_text(["Envoyé", "Envoyé"])
    first = int(await page.locator(".pnav-message--own").first.get_attribute("data-seq") or 0)
    await staff_read(server, conversation_id, first)
    await expect(statuses).to_have_text(["Lu", "Envoyé"])
    await expect(statuses.first).to_have_attribute("data-kind", "read")
