"""No dead end at "where are you?": a postal code written "54 120", a commune found by its name (accents and case
ignored, homonyms told apart by département), or no place at all — and an empty field says what to do."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import expect

from chat import store
from tests.servers import LiveServer
from tests.web.conftest import Visit

pytestmark = pytest.mark.browser


async def test_commune_search_api_ignores_accents_and_case_and_tells_homonyms_apart(server: LiveServer) -> None:
    """GET /api/v1/communes: "besancon" and "BESANÇON" find Besançon; "saint denis" lists each Saint-Denis with its
    département; five digits (spaces allowed) are a postal code; a one-letter query finds nothing."""
    async with httpx.AsyncClient(base_url=server.base) as http:
        for query in ("besancon", "BESANÇON", "besanç"):
            first = (await http.get("/api/v1/communes", params={"q": query})).json()["communes"][0]
            assert (first["insee"], first["name"], first["department"], first["department_name"],
                    first["force"]) == ("25056", "Besançon", "25", "Doubs", "police")
        homonyms = [(c["name"], c["department"], c["department_name"])
                    for c in (await http.get("/api/v1/communes", params={"q": "saint denis"})).json()["communes"]
                    if c["name"] == "Saint-Denis"]
        assert {("Saint-Denis", "93", "Seine-Saint-Denis"), ("Saint-Denis", "974", "La Réunion")} <= set(homonyms)
        by_code = (await http.get("/api/v1/communes", params={"q": "54 120"})).json()["communes"]
        assert "Baccarat" in [c["name"] for c in by_code]
        assert (await http.get("/api/v1/communes", params={"q": "b"})).json()["communes"] == []
        spaced = await http.post("/api/v1/conversations", json={"category": "sexual_violence", "role": "victim",
                                                                "postal_code": "54 120"})
        assert spaced.status_code == 201 and spaced.json()["insee"] == "54039"
        empty = await http.post("/api/v1/conversations", json={"category": "sexual_violence", "role": "victim",
                                                               "postal_code": ""})
        assert empty.status_code == 422 and empty.json()["error"]["message"].startswith("Indiquez un code postal")
        openapi = (await http.get("/api/v1/openapi.json")).json()
        assert "/api/v1/communes" in openapi["paths"]


async def test_start_by_commune_name_or_spaced_postal_code_or_nothing(visit: Visit, server: LiveServer) -> None:
    """An empty field says "Indiquez un code postal"; "54 120" pasted starts a tchat; "besancon" lets the visitor
    pick Besançon (Doubs); "Je ne veux pas le dire" starts one sans localisation."""
    page = visit.page
    await visit.goto("/commencer?tchat=domestic_violence")
    await page.check("#profil-victim", force=True)
    await page.click("#commencer-bouton")
    await expect(page.locator("#erreur-code")).to_contain_text("Indiquez un code postal")
    await expect(page.locator("#erreur-code")).not_to_contain_text("pas valide")

    await page.fill("#lieu-recherche", "besancon")
    choice = page.get_by_role("radio", name="Besançon")
    await expect(choice).to_be_visible()
    await expect(page.locator("#resultats-nom")).to_contain_text("Doubs (25)")
    await visit.screenshot("13-commencer-commune-par-nom")
    await choice.check(force=True)
    await page.click("#commencer-bouton")
    await page.wait_for_url("**/tchat")
    conversation_id = await visit.tchat_id()
    row = await server.call(lambda state: store.get(state.sessions, conversation_id))
    assert row is not None and (row.insee, row.department, row.force) == ("25056", "25", "police")

    await visit.goto("/commencer?tchat=sexual_violence")
    await page.check("#profil-witness", force=True)
    await page.fill("#lieu-code", "54 120")
    await page.click("#commencer-bouton")
    await page.wait_for_url("**/tchat")
    assert (await visit.session_storage())["pnav.tchat"]["force"] == "gendarmerie"

    await visit.goto("/commencer?tchat=discrimination_hate")
    await page.check("#profil-relative", force=True)
    await page.fill("#lieu-code", "00000")
    await page.click("#commencer-bouton")
    await expect(page.locator("#probleme-titre")).to_have_text("Ce code postal est inconnu")
    await page.click("#probleme-sans-lieu")
    await page.wait_for_url("**/tchat")
    await expect(page.locator("#attente")).to_be_visible()
    conversation_id = await visit.tchat_id()
    row = await server.call(lambda state: store.get(state.sessions, conversation_id))
    assert row is not None and (row.force, row.insee, row.department) == ("", "", "")
