"""Offer mode in real browsers (issue 21, part 2): the supervisor switches the force to « proposition à tour de rôle »,
the operator is offered the waiting person with a countdown and accepts; the live view shows status, load and
capacity; axe finds nothing."""

from __future__ import annotations

import pytest
from playwright.async_api import BrowserContext, expect

from tests.client import start_tchat
from tests.operators.desks import server, sign_in
from tests.operators.staff import make
from tests.operators.test_team_browser import no_violations, team_desks
from tests.servers import LiveServer
from tests.web.conftest import SCREENSHOTS, TAKE_SCREENSHOTS, browser

pytestmark = pytest.mark.browser
__all__ = ["browser", "server", "team_desks"]


async def test_offer_mode_in_the_consoles(server: LiveServer, team_desks: list[BrowserContext]) -> None:
    """Mode switched by the supervisor → the operator sees the offer (no « Prendre en charge »), accepts it, sets
    « En pause »; the supervisor's live view follows: mode, status, load / capacity."""
    officer = await make(server, "agent.propose", "operator", "police")
    chief = await make(server, "chef.propose", "supervisor", "police")
    operator = await sign_in(team_desks[0], server, officer)
    supervisor = await sign_in(team_desks[1], server, chief)
    await expect(supervisor.locator("#mode-current")).to_have_text("Mode actuel : prise en charge libre.")
    await supervisor.check("#mode-offer", force=True)
    await supervisor.click("#mode-apply")
    await expect(supervisor.locator("#mode-current")).to_have_text("Mode actuel : proposition à tour de rôle.")
    await expect(operator.locator("#team-info")).to_contain_text("proposition à tour de rôle")

    tchat = await start_tchat(server, postal_code="75011", category="sexual_violence")
    box = operator.locator("#offer")
    await expect(box).to_be_visible()
    await expect(operator.locator("#offer-text")).to_contain_text("Violences sexuelles")
    await expect(operator.locator("#offer-countdown")).to_contain_text("pour accepter")
    await expect(operator.locator(".queue-take")).to_have_count(0)
    await no_violations(operator)
    if TAKE_SCREENSHOTS:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await operator.screenshot(path=str(SCREENSHOTS / "47-mode-proposition-operateur.png"))
    await operator.click("#offer-accept")
    await expect(operator.locator(f"#pane-{tchat['id']}")).to_be_visible()
    await expect(box).to_be_hidden()
    await expect(supervisor.locator("#sup-operators")).to_contain_text("disponible — 1/4 tchat(s)")
    await operator.select_option("#my-status", "paused")
    # Within the next 5 s snapshot of the live view.
    await expect(supervisor.locator("#sup-operators")).to_contain_text("en pause — 1/4 tchat(s)")
    await no_violations(supervisor)
    if TAKE_SCREENSHOTS:
        await supervisor.screenshot(path=str(SCREENSHOTS / "48-mode-proposition-supervision.png"))
