"""In real browsers (desktop console, phone visitor): what an operator with several tchats needs (issue 16, items
7, 11, 12 and 13) — being told that someone waits, a console that keeps its queues and tabs in view, tabs that
tell tchats apart, a close that asks first, and a psychologist who joins only once the visitor agreed."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from chat import conversations, store
from chat.queue_frames import HEAD
from operators.stats.labels import OUTCOME_LABELS
from tests.client import Visitor, start_tchat
from tests.operators.desks import desks, server, sign_in
from tests.operators.staff import make
from tests.servers import LiveServer
from tests.web.conftest import AXE, SCREENSHOTS, TAKE_SCREENSHOTS, WAIT_MS, browser, new_visit, start_by_form
from tests.web.test_accessibility import AXE_RUN

pytestmark = pytest.mark.browser
__all__ = ["browser", "desks", "server"]

DESKTOP = {"width": 1280, "height": 800}

# Records desktop notifications and tones instead of showing or playing them, and lets the test say whether the
# page is hidden (a background tab): the console's own code runs unchanged on top.
SPIES = """
window.__notes = [];
window.__tones = 0;
window.__hidden = false;
const RealNotification = window.Notification;
class SpyNotification {
  constructor(title, options) { window.__notes.push({ title, body: (options && options.body) || "" }); }
  addEventListener() {}
  static get permission() { return RealNotification.permission; }
  static requestPermission() { return RealNotification.requestPermission(); }
}
window.Notification = SpyNotification;
const realStart = OscillatorNode.prototype.start;
OscillatorNode.prototype.start = function (...args) { window.__tones += 1; return realStart.apply(this, args); };
Object.defineProperty(Document.prototype, "hidden", { configurable: true, get: () => window.__hidden });
Object.defineProperty(Document.prototype, "visibilityState", { configurable: true,
  get: () => (window.__hidden ? "hidden" : "visible") });
"""


@pytest.fixture
async def desk(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A desktop context where axe can be injected (CSP bypassed here only) and notifications are allowed."""
    context = await browser.new_context(viewport=DESKTOP, locale="fr-FR", timezone_id="Europe/Paris",
                                        bypass_csp=True)
    context.set_default_timeout(WAIT_MS)
    yield context
    await context.close()


async def violations(page: Page) -> list[dict[str, Any]]:
    await page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = await page.evaluate(AXE_RUN)
    return found


async def test_console_keeps_queues_and_tabs_in_view_and_tells_tchats_apart(
        server: LiveServer, desk: BrowserContext) -> None:
    """After a long transcript the queues and the tab bar are still on screen and the log scrolls in its own box;
    tabs name category, commune and first words, say whether the visitor is connected, and follow the arrow keys;
    queue entries give the role and whether the person already wrote."""
    officer = await make(server, "agent.quatre", "operator", "police")
    errors: list[str] = []
    operator = await sign_in(desk, server, officer, errors)
    first = await start_tchat(server, postal_code="75011", category="domestic_violence")
    second = await start_tchat(server, postal_code="69001", category="discrimination_hate", role="witness")
    visitor = Visitor(server, first["token"])
    await visitor.connect()
    await visitor.send({"type": "send", "client_id": "v0", "body": "Mon conjoint me suit partout depuis hier soir"})
    await visitor.expect("ack")

    item = operator.locator(f'.queue-item[data-conversation="{first["id"]}"]')
    await expect(item.locator(".queue-role")).to_have_text("Victime")
    await expect(item.locator(".queue-wrote")).to_have_text("a déjà écrit")
    other = operator.locator(f'.queue-item[data-conversation="{second["id"]}"]')
    await expect(other.locator(".queue-role")).to_have_text("Témoin")
    await expect(other.locator(".queue-wrote")).to_have_text("n'a pas encore écrit")

    for started in (first, second):
        await operator.locator(f'.queue-item[data-conversation="{started["id"]}"] .queue-take').click()
        await expect(operator.locator(f"#pane-{started['id']}")).to_be_visible()
    waiting = await start_tchat(server, postal_code="75011", category="sexual_violence")
    tab1, tab2 = operator.locator(f"#tab-{first['id']}"), operator.locator(f"#tab-{second['id']}")
    await expect(tab1).to_contain_text("Violences conjugales · Paris 11e Arrondissement")
    await expect(tab1).to_contain_text("« Mon conjoint me suit partout depuis… »")
    await expect(tab2).to_contain_text("Discriminations · Lyon 1er Arrondissement")
    await expect(tab2).to_contain_text("arrivée à")
    await expect(tab1.locator(".chat-tab-presence")).to_have_text("en ligne")
    await expect(tab2.locator(".chat-tab-presence")).to_have_text("hors ligne")

    async def long_transcript(state: Any) -> None:
        for n in range(60):
            await conversations.post(state, first["id"], author="visitor", body=f"Message numéro {n} : " + "mot " * 12)

    await tab1.click()
    await server.call(long_transcript)
    pane = operator.locator(f"#pane-{first['id']}")
    await expect(pane.locator(".chat-log li").last).to_contain_text("Message numéro 59")
    await operator.wait_for_timeout(200)  # let the layout settle after the last line
    height = DESKTOP["height"]
    for locator in (operator.locator("#queues-title"), operator.locator("#tabs"),
                    operator.locator(f'.queue-item[data-conversation="{waiting["id"]}"]'),
                    pane.locator(".chat-log li").last, pane.locator(".chat-body")):
        box = await locator.bounding_box()
        assert box is not None
        shown = (await locator.evaluate("n => n.outerHTML"))[:80]
        assert box["y"] >= 0 and box["y"] + box["height"] <= height + 1, shown
    await expect(operator.locator("#notice")).to_be_hidden()  # reading 60 lines did not exhaust the frame budget
    log = await pane.locator(".chat-log").evaluate("n => [n.scrollHeight, n.clientHeight, n.scrollTop]")
    assert log[0] > log[1] and log[2] > 0, log  # the transcript scrolls in its own box, at its end

    await tab1.focus()
    await operator.keyboard.press("ArrowRight")
    await expect(tab2).to_be_focused()
    await expect(tab2).to_have_attribute("aria-selected", "true")
    await expect(operator.locator(f"#pane-{second['id']}")).to_be_visible()
    await expect(tab1).to_have_attribute("tabindex", "-1")
    await operator.keyboard.press("ArrowRight")  # wraps around
    await expect(tab1).to_be_focused()
    await operator.keyboard.press("End")
    await expect(tab2).to_have_attribute("aria-selected", "true")
    await operator.keyboard.press("Home")
    await expect(tab1).to_have_attribute("aria-selected", "true")

    await visitor.close()
    await expect(tab1.locator(".chat-tab-presence")).to_have_text("hors ligne")
    await expect(pane.locator(".chat-presence")).to_contain_text("pas connectée")
    found = await violations(operator)
    assert found == [], found
    if TAKE_SCREENSHOTS:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await operator.screenshot(path=str(SCREENSHOTS / "22-console-plusieurs-tchats.png"))
    assert errors == []


async def test_someone_waiting_changes_the_title_chimes_and_notifies_without_their_words(
        server: LiveServer, desk: BrowserContext) -> None:
    """A new person in the queues: « (1) en attente » in the title, a tone (not once muted) and, page hidden, a
    desktop notification that names the tchat but never what the visitor wrote."""
    officer = await make(server, "agent.alerte", "operator", "police")
    await desk.grant_permissions(["notifications"], origin=server.base)
    await desk.add_init_script(SPIES)
    operator = await sign_in(desk, server, officer)
    await expect(operator).to_have_title(re.compile(r"^Console"))
    # Every queue's first snapshot is in (its force's three and the three sans localisation): what arrives next is news.
    await expect(operator.locator("#queue-list")).to_have_attribute("data-snapshots", "6")
    await operator.evaluate("window.__hidden = true")

    words = "Il m'a frappée hier soir, je suis chez ma sœur"
    started = await start_tchat(server, postal_code="75011", category="domestic_violence")
    visitor = Visitor(server, started["token"])
    await visitor.connect()
    await visitor.send({"type": "send", "client_id": "v1", "body": words})
    await expect(operator).to_have_title(re.compile(r"^\(1\) en attente — Console"))
    item = operator.locator(f'.queue-item[data-conversation="{started["id"]}"]')
    await expect(item.locator(".queue-wrote")).to_have_text("a déjà écrit")
    notes = await operator.evaluate("window.__notes")
    assert notes == [{"title": "Une personne attend", "body": "Violences conjugales — Victime"}]
    assert not any(word in str(notes) for word in ("frapp", "sœur", "soir"))
    assert await operator.evaluate("window.__tones") >= 1

    await operator.get_by_role("button", name="Son activé").click()
    await expect(operator.locator("#sound-toggle")).to_have_attribute("aria-pressed", "false")
    tones = await operator.evaluate("window.__tones")
    await start_tchat(server, postal_code="75011", category="sexual_violence")
    await expect(operator).to_have_title(re.compile(r"^\(2\) en attente"))
    assert await operator.evaluate("window.__tones") == tones
    assert len(await operator.evaluate("window.__notes")) == 2
    await operator.evaluate("window.__hidden = false")
    assert await violations(operator) == []
    await visitor.close()


async def test_closing_asks_first_and_a_failed_sign_in_keeps_the_username(
        server: LiveServer, desk: BrowserContext) -> None:
    """« Clôturer » asks « Clôturer ce tchat ? » with the outcome; « Non » keeps it open, « Oui » closes it, with the
    statistics' label; a wrong code brings the form back with the username filled in."""
    officer = await make(server, "agent.prudent", "operator", "police")
    page = await desk.new_page()
    await page.goto(server.base + "/login")
    await page.fill("#username", officer.username)
    await page.fill("#password", officer.password)
    await page.fill("#totp", "000000")
    await page.click("#login-submit")
    await expect(page.locator("#login-error")).to_be_visible()
    await expect(page.locator("#username")).to_have_value(officer.username)
    await expect(page.locator("#password")).to_have_value("")
    await expect(page.locator("#password")).to_be_focused()
    assert await violations(page) == []
    await page.close()

    operator = await sign_in(desk, server, officer)
    started = await start_tchat(server, postal_code="75011")
    await operator.locator(f'.queue-item[data-conversation="{started["id"]}"] .queue-take').click()
    pane = operator.locator(f"#pane-{started['id']}")
    await pane.locator("select[name=outcome]").select_option("information_given")
    await pane.locator(".chat-close-button").click()
    question = pane.locator(".chat-close-question")
    await expect(question).to_have_text(re.compile(r"^Clôturer ce tchat \? Issue : Information donnée\."))
    await expect(pane.locator(".chat-close-no")).to_be_focused()
    assert await violations(operator) == []
    await pane.locator(".chat-close-no").click()
    await expect(question).to_be_hidden()
    await operator.wait_for_timeout(300)
    await expect(pane.locator(".chat-compose")).to_be_visible()  # still open: nothing was sent
    await pane.locator(".chat-close-button").click()
    await pane.locator(".chat-close-yes").click()
    await expect(pane.locator(".chat-status")).to_have_text(
        f"Conversation clôturée : {OUTCOME_LABELS['information_given']}.")
    options = await operator.locator("#pane-template").evaluate(
        "t => [...t.content.querySelectorAll('select[name=outcome] option')].filter(o => o.value)"
        ".map(o => [o.value, o.textContent.trim()])")
    assert dict(options) == OUTCOME_LABELS


async def test_visitor_is_asked_before_the_psychologist_joins(browser: Browser, server: LiveServer,
                                                              desk: BrowserContext,
                                                              desks: list[BrowserContext]) -> None:
    """The operator sees before clicking whether a psychologist is online; the visitor (phone) is asked and may
    refuse — nothing reaches the psychologist — or accept; a stale refusal next to the button is replaced."""
    officer = await make(server, "agent.psyche", "operator", "police")
    psychologist = await make(server, "psy.psyche", "psychologist")
    errors: list[str] = []
    operator = await sign_in(desk, server, officer, errors)
    visit = await new_visit(browser, server, bypass_csp=True)
    try:
        visitor = visit.page
        conversation = await start_by_form(visit, category="domestic_violence", postal_code="75011")
        await operator.locator(f'.queue-item[data-conversation="{conversation}"] .queue-take').click()
        pane = operator.locator(f"#pane-{conversation}")
        availability = pane.locator(".chat-psy-availability")
        await expect(availability).to_contain_text("aucune psychologue connectée")

        psy = await sign_in(desks[0], server, psychologist, errors)
        await expect(availability).to_have_text(re.compile(r"Psychologue : 1 connectée"))

        await pane.get_by_role("button", name="Proposer une psychologue").click()
        card = visitor.locator(".pnav-card--psychologist")
        await expect(card).to_contain_text("Une psychologue peut se joindre à la conversation. D'accord ?")
        await expect(pane.locator(".chat-psy-state")).to_contain_text("en attente de sa réponse")
        await visit.screenshot("30-tchat-psychologue-question", full_page=False)
        assert await violations(visitor) == []
        await card.get_by_role("button", name="Non merci").click()
        await expect(card).to_contain_text("la conversation continue sans psychologue")
        await expect(pane.locator(".chat-psy-state")).to_contain_text("ne souhaite pas")
        await operator.wait_for_timeout(300)
        await expect(psy.locator(".invitation")).to_have_count(0)

        await pane.get_by_role("button", name="Proposer une psychologue").click()
        await expect(pane.locator(".chat-psy-state")).to_contain_text("en attente de sa réponse")  # refusal gone
        second = visitor.locator(".pnav-card--psychologist").last
        await second.get_by_role("button", name="Oui, d'accord").click()
        await expect(second).to_contain_text("Vous avez accepté")
        await expect(pane.locator(".chat-psy-state")).to_contain_text("invitation envoyée (1 psychologue(s)")
        await psy.locator(".invitation-accept").click()
        await expect(visitor.locator("#tchat")).to_contain_text("psychologue a rejoint")
        await expect(pane.locator(".chat-psy-state")).to_be_hidden()
        assert await violations(operator) == []
        assert errors == []
    finally:
        await visit.context.close()


async def test_a_long_queue_shows_its_head_and_a_count_and_chimes_only_for_arrivals(
        server: LiveServer, desk: BrowserContext) -> None:
    """Issue 19, item 2: past ``HEAD`` waiting, a console lists the head and counts the others; a new arrival (not
    listed) still chimes and notifies, people moving up into the head after a take do not."""
    category = "discrimination_hate"

    async def waiting() -> int:
        return len(await server.call(lambda s: store.queue(s.sessions, "police", category)))

    for _ in range(max(0, HEAD + 2 - await waiting())):
        await start_tchat(server, postal_code="75011", category=category)
    total = await waiting()
    officer = await make(server, "agent.longue", "operator", "police")
    await desk.grant_permissions(["notifications"], origin=server.base)
    await desk.add_init_script(SPIES)
    operator = await sign_in(desk, server, officer)
    await expect(operator.locator("#queue-list")).to_have_attribute("data-snapshots", "6")
    await operator.evaluate("window.__hidden = true")
    block = operator.locator(f'.queue[data-category="{category}"]')
    await expect(block.locator("h3")).to_have_text(re.compile(rf"\({total}\)$"))
    await expect(block.locator(".queue-item")).to_have_count(HEAD)
    await expect(block.locator(".queue-more")).to_have_text(
        f"{total - HEAD} autres personnes attendent plus loin dans la file.")

    await start_tchat(server, postal_code="75011", category=category, role="witness")
    await expect(block.locator("h3")).to_have_text(re.compile(rf"\({total + 1}\)$"))
    notes = await operator.evaluate("window.__notes")
    assert notes[-1]["title"] == "Une personne attend" and notes[-1]["body"].endswith("— Témoin"), notes

    await block.locator(".queue-take").first.click()
    await expect(block.locator("h3")).to_have_text(re.compile(rf"\({total}\)$"))
    await expect(block.locator(".queue-item")).to_have_count(HEAD)
    assert await operator.evaluate("window.__notes") == notes  # someone moved up into the head: not news
    await operator.evaluate("window.__hidden = false")
