"""A tchat started sans localisation waits in a queue both forces see; the operator who takes it sets the commune in
the console, which gives it a département, a competent local service and nearby support."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, expect
from sqlalchemy import select

from audit.models import AuditEvent
from chat import store
from tests.operators.desks import desks, server, sign_in
from tests.operators.staff import make
from tests.servers import LiveServer
from tests.web.conftest import browser, new_visit

pytestmark = pytest.mark.browser
__all__ = ["browser", "desks", "server"]  # fixtures shared with tests/web and tests/operators/desks.py


async def test_both_forces_see_it_the_taker_sets_the_commune(browser: Browser, server: LiveServer,
                                                             desks: list[BrowserContext]) -> None:
    """Police and gendarmerie consoles list the tchat ("Lieu non indiqué"); the gendarme who takes it finds
    « baccarat » and sets it: the tchat gets Baccarat (54), its brigade and nearby support; the police queue empties."""
    police = await sign_in(desks[0], server, await make(server, "agent.police", "operator", "police"))
    gendarme = await sign_in(desks[1], server, await make(server, "agent.gendarme", "operator", "gendarmerie"))
    visit = await new_visit(browser, server)
    try:
        page = visit.page
        await visit.goto("/commencer?tchat=sexual_violence")
        await page.check("#profil-victim", force=True)
        await page.check("#sans-lieu", force=True)
        await expect(page.locator("#lieu-code")).to_be_disabled()
        await page.click("#commencer-bouton")
        await page.wait_for_url("**/tchat")
        conversation_id = await visit.tchat_id()
        await expect(page.locator("#attente")).to_be_visible()

        for console in (police, gendarme):
            item = console.locator(f'.queue-item[data-conversation="{conversation_id}"]')
            await expect(item).to_contain_text("Lieu non indiqué")
        await gendarme.locator(f'.queue-item[data-conversation="{conversation_id}"] .queue-take').click()
        pane = gendarme.locator(f"#pane-{conversation_id}")
        await expect(pane.locator(".chat-meta")).to_contain_text("Lieu non indiqué")
        await expect(police.locator(f'.queue-item[data-conversation="{conversation_id}"]')).to_have_count(0)
        await expect(page.locator("#messages .pnav-notice--joined")).to_contain_text("gendarme")

        await pane.locator(".chat-commune summary").click()
        await pane.get_by_label("Nom de la commune ou code postal").fill("baccarat")
        await pane.locator(".chat-commune-choice", has_text="Baccarat").click()
        await expect(pane.locator(".chat-meta")).to_contain_text("Baccarat (54120)")
        await expect(pane.locator(".chat-log")).to_contain_text("Commune indiquée : Baccarat (54)")
        await expect(pane.locator(".chat-commune")).to_be_hidden()

        row = await server.call(lambda state: store.get(state.sessions, conversation_id))
        assert row is not None
        assert (row.force, row.insee, row.commune_name, row.department, row.postal_code) == (
            "gendarmerie", "54039", "Baccarat", "54", "54120")
        assert row.local_service_id and row.local_service_id.startswith("gendarmerie-54")

        await pane.get_by_role("button", name="Proposer des aides à proximité").click()
        await expect(page.locator("article.pnav-card--support")).to_contain_text("Baccarat")

        async def audited(state: Any) -> list[str]:
            async with state.sessions() as session:
                return list(await session.scalars(select(AuditEvent.action).where(
                    AuditEvent.target == conversation_id)))

        assert "conversation.located" in await server.call(audited)
    finally:
        await visit.context.close()
