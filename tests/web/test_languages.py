"""The whole visitor path in English and in Arabic on a phone: language menu, start, queue, tchat, card, end.

Each step checks the page speaks the chosen language (server-rendered text and the scripts' strings), keeps it in
the URL and in sessionStorage only, and has no axe violation; in Arabic the page is right to left and mirrored.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from chat import store
from escalation import signalements
from tests.client import start_tchat
from tests.servers import LiveServer
from tests.web.conftest import OPERATOR_ID, Visit, new_visit, operator_card, operator_says, take
from tests.web.test_accessibility import violations

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class Expected:
    code: str
    menu: str
    direction: str
    category: str
    start: str
    queue: str
    joined: str
    sent: str
    card_title: str
    hours: str
    evidence: str
    distance: str
    consent_reference: str
    consent_title: str


ENGLISH = Expected("en", "English", "ltr", "Domestic violence", "Start the chat", "number 2 in the queue",
                   "You are talking with the police.", "Sent", "Useful numbers", "24/7", "Keep evidence",
                   "About 1.5 km away", "The French text below is the official version", "Send a report")
ARABIC = Expected("ar", "العربية", "rtl", "العنف الزوجي", "ابدأ الدردشة", "الثاني في قائمة الانتظار",
                  "أنت تتحدث مع الشرطة.", "أُرسلت", "أرقام مفيدة", "24 ساعة في اليوم", "الاحتفاظ بالأدلة",
                  "على بعد 1.5 كم تقريبًا", "النص الفرنسي أدناه هو النسخة المعتمدة", "إرسال بلاغ")


@pytest.fixture
async def audited(browser: Browser, server: LiveServer) -> AsyncIterator[Visit]:
    current = await new_visit(browser, server, bypass_csp=True)
    try:
        yield current
        assert current.foreign_requests() == []
        assert await current.context.cookies() == []
    finally:
        await current.context.close()


async def in_language(visit: Visit, expected: Expected) -> None:
    page = visit.page
    await expect(page.locator("html")).to_have_attribute("lang", expected.code)
    await expect(page.locator("html")).to_have_attribute("dir", expected.direction)
    assert f"lang={expected.code}" in page.url
    assert await violations(visit) == [], page.url


@pytest.mark.parametrize("expected", [ENGLISH, ARABIC], ids=["en", "ar"])
async def test_visitor_path_in_another_language(audited: Visit, server: LiveServer, expected: Expected) -> None:
    visit, page = audited, audited.page
    ahead = await start_tchat(server, postal_code="75011", category="domestic_violence")

    # A browser set to French: the visitor picks the language in the menu, where it is named in itself.
    await visit.goto("/")
    await expect(page.locator("html")).to_have_attribute("lang", "fr")
    await page.locator("#langues").get_by_role("link", name=expected.menu).click()
    await page.wait_for_url(f"**/?lang={expected.code}")
    await in_language(visit, expected)
    assert (await visit.session_storage())["pnav.lang"] == expected.code
    assert await page.evaluate("document.cookie") == ""

    await page.get_by_role("link", name=expected.category).click()
    await page.wait_for_url(f"**/commencer?tchat=domestic_violence&lang={expected.code}")
    await in_language(visit, expected)
    await page.check("#profil-victim", force=True)
    await page.fill("#lieu-code", "75011")
    await page.get_by_role("button", name=expected.start).click()

    await page.wait_for_url(f"**/tchat?lang={expected.code}")
    await expect(page.locator("#connexion")).to_have_attribute("data-state", "open")
    await expect(page.locator("#attente-position")).to_contain_text(expected.queue)
    await in_language(visit, expected)

    conversation_id = await visit.tchat_id()
    # The tchat carries the visitor's language: the queue and the console show it, statistics count by it.
    row = await server.call(lambda state: store.get(state.sessions, conversation_id))
    assert row is not None and row.language == expected.code
    assert await take(server, ahead["id"]) and await take(server, conversation_id)
    await expect(page.locator("#arrivee-texte")).to_have_text(expected.joined)
    await page.fill("#message", "Hello" if expected.code == "en" else "مرحبا، أحتاج إلى مساعدة.")
    await page.keyboard.press("Enter")
    own = page.locator(".pnav-message--own")
    await expect(own.locator(".pnav-message__status")).to_have_text(expected.sent)
    await operator_says(server, conversation_id, "Bonjour, je suis là.")
    await operator_card(server, conversation_id, {
        "kind": "helplines", "title": "Numéros utiles",
        "items": [{"number": "3919", "name": "Violences Femmes Info", "availability": "24h/24 7j/7",
                   "cost": "gratuit", "distance_km": 1.5}],
    })
    card = page.locator("article.pnav-card")
    await expect(card.get_by_role("heading", name=expected.card_title)).to_be_visible()
    await expect(card).to_contain_text(expected.hours)
    await expect(card).to_contain_text(expected.distance)
    await expect(card).to_contain_text("Violences Femmes Info")  # names stay as they are
    # The operator's words are shown as typed; the layout mirrors in a right-to-left language.
    operator = page.locator(".pnav-message--operator")
    await expect(operator).to_contain_text("Bonjour, je suis là.")
    own_box, operator_box = await own.bounding_box(), await operator.bounding_box()
    exit_box = await page.locator("#quitter-bouton").bounding_box()
    assert own_box and operator_box and exit_box
    viewport = page.viewport_size
    assert viewport
    if expected.direction == "rtl":
        assert own_box["x"] < operator_box["x"] and exit_box["x"] < viewport["width"] / 2
    else:
        assert own_box["x"] > operator_box["x"] and exit_box["x"] > viewport["width"] / 2
    await in_language(visit, expected)
    await visit.screenshot(f"50-tchat-{expected.code}", full_page=False)

    # The consent form comes in the visitor's language; its consent text's header says, in that language, that the
    # French text (shown under the translation, lang="fr") is the reference, and says it once.
    async def propose(state: Any) -> None:
        conversation = await store.get(state.sessions, conversation_id)
        assert conversation is not None
        await signalements.propose(state, conversation, account_id=OPERATOR_ID, actor="operator",
                                   summary="Des coups hier soir.")

    await server.call(propose)
    await expect(page.locator("#consentement").get_by_role("heading", name=expected.consent_title)).to_be_visible()
    reference = page.locator("#consentement .pnav-consent__reference")
    await expect(reference).to_have_count(1)
    await expect(reference).to_contain_text(expected.consent_reference)
    await expect(page.locator("#consentement .pnav-consent__translation")).not_to_have_attribute("lang", "fr")
    await expect(page.locator("#consentement .pnav-consent__text")).to_have_attribute("lang", "fr")
    await in_language(visit, expected)

    await page.click("#terminer-bouton")
    await page.click("#terminer-oui")
    await page.wait_for_url(f"**/fin?tchat=domestic_violence&lang={expected.code}")
    await expect(page.get_by_role("heading", name=expected.evidence)).to_be_visible()
    await in_language(visit, expected)
    await visit.screenshot(f"51-fin-{expected.code}")

    # A page opened without the parameter (a typed address) comes back in the language chosen in this tab.
    await visit.goto("/suivi")
    await page.wait_for_url(f"**/suivi?lang={expected.code}")
    await in_language(visit, expected)
    await visit.goto(f"/mentions-legales?lang={expected.code}")
    await expect(page.locator("#version-de-reference")).to_be_visible()
    await in_language(visit, expected)

    # The quick exit forgets the language with everything else.
    await page.click("#quitter-bouton")
    await page.wait_for_url("https://meteofrance.com/**")
    assert await visit.session_storage() == {}
