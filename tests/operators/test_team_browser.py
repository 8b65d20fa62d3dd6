"""In real browsers (issue 21, part 3): a supervisor reads a live tchat from the live view, whispers to the operator,
the visitor's phone never shows it; the operator asks for help and the supervisor is alerted; axe finds nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.operators.desks import server, sign_in
from tests.operators.staff import make
from tests.servers import LiveServer
from tests.web.conftest import AXE, SCREENSHOTS, TAKE_SCREENSHOTS, WAIT_MS, browser, new_visit, start_by_form
from tests.web.test_accessibility import AXE_RUN

pytestmark = pytest.mark.browser
__all__ = ["browser", "server"]


@pytest.fixture
async def team_desks(browser: Browser) -> AsyncIterator[list[BrowserContext]]:
    """Operator's and supervisor's desks (CSP bypassed for axe only)."""
    contexts = [await browser.new_context(viewport={"width": 1400, "height": 950}, locale="fr-FR",
                                          timezone_id="Europe/Paris", bypass_csp=True) for _ in range(2)]
    for context in contexts:
        context.set_default_timeout(WAIT_MS)
    yield contexts
    for context in contexts:
        await context.close()


async def no_violations(page: Page) -> None:
    await page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = await page.evaluate(AXE_RUN)
    assert found == [], page.url


async def test_supervisor_reads_whispers_and_answers_a_call_for_help(
        browser: Browser, server: LiveServer, team_desks: list[BrowserContext]) -> None:
    """« Lire » opens the tchat read-only; the whisper is marked in both consoles and absent from the visitor's
    screen; « Demander de l'aide » raises an alert on the supervisor's console."""
    officer = await make(server, "agent.equipe", "operator", "police")
    chief = await make(server, "chef.equipe", "supervisor", "police")
    operator = await sign_in(team_desks[0], server, officer)
    supervisor = await sign_in(team_desks[1], server, chief)
    visit = await new_visit(browser, server)
    try:
        visitor = visit.page
        conversation = await start_by_form(visit, category="domestic_violence", postal_code="75011")
        await visitor.fill("#message", "Il est rentré, j'ai peur.")
        await visitor.keyboard.press("Enter")
        await operator.locator(f'.queue-item[data-conversation="{conversation}"] .queue-take').click()
        pane = operator.locator(f"#pane-{conversation}")
        await pane.locator(".chat-body").fill("Je suis là. Pouvez-vous vous mettre à l'abri ?")
        await pane.locator(".chat-body").press("Enter")
        await expect(visitor.locator(".pnav-message--operator")).to_contain_text("mettre à l'abri")

        read = supervisor.locator("#sup-live .sup-read")
        await expect(read).to_have_text("Lire")
        await read.click()
        watched = supervisor.locator(f"#pane-{conversation}")
        await expect(watched.locator(".chat-log")).to_contain_text("Il est rentré, j'ai peur.")
        await expect(watched.locator(".chat-body")).to_have_count(0)  # read-only: no message to the person
        await watched.locator("textarea[name=whisper]").fill("Proposez-lui le 17 s'il devient menaçant.")
        await watched.locator(".chat-whisper-send").click()
        await expect(pane.locator(".chat-line--whisper")).to_contain_text("Proposez-lui le 17")
        await expect(pane.locator(".chat-whisper-mark")).to_have_text("Message interne — la personne ne le voit pas")
        await expect(watched.locator(".chat-line--whisper")).to_contain_text("Vous")

        await pane.locator(".chat-help").click()
        await expect(pane.locator(".chat-help-state")).to_contain_text("1 superviseur·e(s)")
        await expect(supervisor.locator("#alert-list")).to_contain_text("demande de l'aide")
        await pane.locator(".chat-body").fill("Je reste avec vous.")
        await pane.locator(".chat-body").press("Enter")
        await expect(visitor.locator(".pnav-message--operator").last).to_contain_text("Je reste avec vous.")
        assert "Proposez-lui" not in await visitor.content()
        await no_violations(supervisor)
        await no_violations(operator)
        if TAKE_SCREENSHOTS:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            await supervisor.screenshot(path=str(SCREENSHOTS / "45-supervision-lecture-chuchotement.png"))
            await operator.screenshot(path=str(SCREENSHOTS / "46-console-chuchotement-aide.png"))
        await watched.locator(".chat-unwatch").click()
        await expect(watched).to_have_count(0)
    finally:
        await visit.context.close()
