"""In real browsers: an operator signs in with TOTP, takes a visitor's tchat, invites a psychologist who joins;
all three see each other's messages."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, expect

from chat import conversations
from operators import accounts, canned
from tests.client import Visitor, start_tchat
from tests.operators.desks import desks, server, sign_in
from tests.operators.staff import make
from tests.servers import LiveServer
from tests.web.conftest import SCREENSHOTS, TAKE_SCREENSHOTS, browser, new_visit, start_by_form

pytestmark = pytest.mark.browser
__all__ = ["browser", "desks", "server"]  # fixtures shared with tests/web and tests/operators/desks.py


async def test_operator_visitor_and_psychologist_chat_together(browser: Browser, server: LiveServer,
                                                               desks: list[BrowserContext]) -> None:
    """Operator (TOTP sign-in) takes the visitor's tchat, invites a psychologist; every message reaches all three."""
    officer = await make(server, "agent.navigateur", "operator", "police")
    psychologist = await make(server, "psy.navigateur", "psychologist")
    errors: list[str] = []
    operator = await sign_in(desks[0], server, officer, errors)

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

        psy = await sign_in(desks[1], server, psychologist, errors)
        await pane.locator(".chat-invite").click()
        await visitor.locator(".pnav-card--psychologist").get_by_role("button", name="Oui, d'accord").click()
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
        if TAKE_SCREENSHOTS:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            await operator.screenshot(path=str(SCREENSHOTS / "20-console-operateur.png"))
            await psy.screenshot(path=str(SCREENSHOTS / "21-console-psychologue.png"))

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
        await pane.locator(".chat-close-yes").click()
        await expect(pane.locator(".chat-status")).to_contain_text("Conversation clôturée")
        await expect(visitor.locator("#termine")).to_be_visible()
        await expect(psy_pane.locator(".chat-status")).to_contain_text("Conversation clôturée")
        assert errors == []
    finally:
        await visit.context.close()


async def test_supervisor_watches_a_flagged_tchat(browser: Browser, server: LiveServer,
                                                  desks: list[BrowserContext]) -> None:
    """A supervisor sees queue lengths, the operators online with their load and a flagged tchat, and opens it
    read-only; the operator's tab shows an unread count and the page title announces new messages."""
    chief = await make(server, "chef.navigateur", "supervisor", "police")
    officer = await make(server, "agent.onglets", "operator", "police")
    errors: list[str] = []
    await server.call(lambda state: canned.save(state.sessions, None, title="Bonjour", body="Bonjour, je suis là.",
                                                position=98, by=chief.account_id, actor=chief.username))
    await server.call(lambda state: canned.save(state.sessions, None, title="Вітаємо", body="Вітаємо. Ми тут.",
                                                position=99, by=chief.account_id, actor=chief.username,
                                                language="uk"))
    await server.call(lambda state: accounts.update_profile(state.sessions, officer.username, actor=chief.username,
                                                            languages=["ar"]))
    operator = await sign_in(desks[0], server, officer, errors)
    first = await start_tchat(server, postal_code="75011", language="uk")
    second = await start_tchat(server, postal_code="75011", category="discrimination_hate")
    for started in (first, second):
        await operator.locator(f'.queue-item[data-conversation="{started["id"]}"] .queue-take').click()
        await expect(operator.locator(f"#pane-{started['id']}")).to_be_visible()
    earlier = await start_tchat(server, postal_code="75011", category="domestic_violence")
    waiting = await start_tchat(server, postal_code="75011", category="domestic_violence", language="ar")
    # Pick mode: this operator speaks Arabic, so the tchat in Arabic is listed before the earlier one in French.
    listed = operator.locator('.queue[data-category="domestic_violence"] .queue-item')
    await expect(listed).to_have_count(2)
    await expect(listed.first).to_have_attribute("data-conversation", waiting["id"])
    await expect(listed.nth(1)).to_have_attribute("data-conversation", earlier["id"])
    # The visitor's language (issue 22): in the queue, and in the head of the tchat.
    await expect(operator.locator(f'.queue-item[data-conversation="{waiting["id"]}"]')).to_contain_text(
        "écrit en arabe")
    await expect(operator.locator(f"#pane-{first['id']} .chat-meta")).to_contain_text("écrit en ukrainien")
    # Canned answers in the visitor's language come first in that tchat, French first in the others.
    answers = operator.locator(f"#pane-{first['id']} .chat-canned-answer")
    await expect(answers.first).to_have_attribute("data-language", "uk")
    await expect(operator.locator(f"#pane-{second['id']} .chat-canned-answer").first).to_have_attribute(
        "data-language", "fr")

    async def flag(state: Any) -> None:
        await conversations.set_flags(state, first["id"], emergency=True, minor=False)

    await server.call(flag)
    visitor = Visitor(server, first["token"])
    await visitor.connect()
    await visitor.send({"type": "send", "client_id": "v1", "body": "Il est revenu."})
    first_tab = operator.locator(f"#tab-{first['id']}")
    await expect(first_tab.locator(".chat-tab-unread")).to_have_text(" (1)")
    await expect(operator).to_have_title(re.compile(r"^\(1\) Nouveau message"))
    await first_tab.click()
    await expect(first_tab.locator(".chat-tab-unread")).to_have_text("")

    watch = await sign_in(desks[1], server, chief, errors)
    await expect(watch.locator("#sup-queues")).to_contain_text("Violences conjugales")
    await expect(watch.locator("#sup-operators")).to_contain_text("Agent.Onglets — disponible — 2/4 tchat(s)")
    flagged = watch.locator(".sup-flagged")
    await expect(flagged).to_contain_text("URGENCE")
    await expect(watch.locator(f'.queue-item[data-conversation="{waiting["id"]}"]')).to_be_visible()
    await expect(watch.locator(".queue-take")).to_have_count(0)
    await flagged.locator(".sup-watch").click()
    pane = watch.locator(f"#pane-{first['id']}")
    await expect(pane.locator(".chat-log")).to_contain_text("Il est revenu.")
    await expect(pane.locator(".chat-compose")).to_have_count(0)
    assert errors == []
    await visitor.close()
