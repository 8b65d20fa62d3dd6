"""The whole visitor path on a phone: home → start → queue → an operator joins → conversation → end."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from chat import conversations
from tests.client import start_tchat
from tests.servers import LiveServer
from tests.web.conftest import Visit, operator_card, operator_says, start_by_form, status_of, take, transcript

pytestmark = pytest.mark.browser


async def test_full_path_queue_operator_joins_and_both_write(visit: Visit, server: LiveServer) -> None:
    """A visitor starts a tchat, waits 2nd in line, sees the operator join, and both exchange messages."""
    page = visit.page
    ahead = await start_tchat(server, postal_code="75011", category="domestic_violence")

    await visit.goto("/")
    entries = await page.evaluate("history.length")
    await visit.screenshot("01-accueil")
    await page.get_by_role("link", name="Violences conjugales").click()
    await page.wait_for_url("**/commencer?tchat=domestic_violence")
    await expect(page.locator("#tchat-domestic_violence")).to_be_checked()
    await page.check("#profil-victim", force=True)
    await page.fill("#lieu-code", "75011")
    await visit.screenshot("02-commencer")
    await page.click("#commencer-bouton")
    await page.wait_for_url("**/tchat")
    await expect(page.locator("#connexion")).to_have_attribute("data-state", "open")
    conversation_id = await visit.tchat_id()

    await expect(page.locator("#attente-position")).to_contain_text("2e dans la file")
    await expect(page.locator("#attente-estimation")).to_contain_text("pas encore estimer")

    await page.fill("#message", "Bonjour, j'ai besoin d'aide.")
    await page.keyboard.press("Enter")
    await expect(page.locator(".pnav-message--own .pnav-message__status")).to_have_text("Envoyé")

    assert await take(server, ahead["id"])
    await expect(page.locator("#attente-position")).to_contain_text("prochaine personne")
    await expect(page.locator("#attente-estimation")).to_contain_text("environ")
    await visit.screenshot("03-tchat-attente", full_page=False)

    assert await take(server, conversation_id)
    await expect(page.locator("#arrivee")).to_be_visible()
    await expect(page.locator("#arrivee-texte")).to_have_text("Vous êtes en conversation avec la police.")
    await expect(page.locator("#messages .pnav-notice--joined")).to_contain_text("a rejoint le tchat")
    await expect(page.locator("#attente")).to_be_hidden()
    await expect(page.locator("#alertes")).to_contain_text("a rejoint le tchat")

    await operator_says(server, conversation_id, "Bonjour, je suis là. Vous êtes en sécurité en ce moment ?")
    operator_message = page.locator(".pnav-message--operator")
    await expect(operator_message).to_have_count(1)
    await expect(operator_message).to_contain_text("Vous êtes en sécurité")
    await expect(operator_message.locator(".pnav-message__author")).to_contain_text("Police")
    await expect(page.locator("#annonces")).to_contain_text("Vous êtes en sécurité")

    await page.fill("#message", "Oui, il est parti.\nJe suis seule.")
    await page.click("#envoyer")
    await expect(page.locator(".pnav-message--own")).to_have_count(2)
    await expect(page.locator(".pnav-message--own").nth(1).locator(".pnav-message__status")).to_have_text("Envoyé")

    await operator_card(server, conversation_id, {
        "kind": "helplines", "title": "Numéros utiles",
        "items": [{"number": "3919", "name": "Violences Femmes Info", "availability": "24h/24 7j/7",
                   "cost": "gratuit"}],
    })
    card = page.locator("article.pnav-card")
    await expect(card.get_by_role("heading", name="Numéros utiles")).to_be_visible()
    await expect(card.get_by_role("link", name="Appeler le 3919")).to_have_attribute("href", "tel:3919")
    await visit.screenshot("04-tchat-conversation", full_page=False)

    bodies = [(f["author"], f.get("body")) for f in await transcript(server, conversation_id) if f["type"] == "message"]
    assert bodies == [
        ("visitor", "Bonjour, j'ai besoin d'aide."),
        ("operator", "Bonjour, je suis là. Vous êtes en sécurité en ce moment ?"),
        ("visitor", "Oui, il est parti.\nJe suis seule."),
    ]
    # The tchat never entered the tab's history: every step replaced the previous page.
    assert await page.evaluate("history.length") == entries

    await page.click("#terminer-bouton")
    await page.click("#terminer-oui")
    await page.wait_for_url("**/fin?tchat=domestic_violence")
    await expect(page.get_by_role("heading", name="Garder des preuves")).to_be_visible()
    await expect(page.locator(".pnav-numbers")).to_contain_text("3919")
    assert "pnav.tchat" not in await visit.session_storage()
    assert await status_of(server, conversation_id) == "abandoned"
    await visit.screenshot("05-fin")


async def test_operator_closing_ends_the_tchat_for_the_visitor(visit: Visit, server: LiveServer) -> None:
    """When the operator closes, the composer goes away and the end page with resources is offered."""
    page = visit.page
    conversation_id = await start_by_form(visit)
    assert await take(server, conversation_id)
    await operator_says(server, conversation_id, "Je vous laisse le 3919. Prenez soin de vous.")
    await server.call(lambda state: conversations.finish(state, conversation_id, status="closed",
                                                         outcome="oriented_association"))
    await expect(page.locator("#termine")).to_be_visible()
    await expect(page.locator("#ecrire")).to_be_hidden()
    await expect(page.locator("#termine-lien")).to_have_attribute("href", "/fin?tchat=domestic_violence")


async def test_commune_picker_when_the_postal_code_has_two_forces(visit: Visit, server: LiveServer) -> None:
    """03200 covers Vichy (police) and Le Vernet (gendarmerie): the visitor picks the commune, then starts."""
    page = visit.page
    await visit.goto("/commencer")
    await page.check("#tchat-sexual_violence", force=True)
    await page.check("#profil-witness", force=True)
    await page.fill("#lieu-code", "03200")
    await page.click("#commencer-bouton")
    picker = page.locator("#champ-commune")
    await expect(picker).to_be_visible()
    await expect(picker).to_contain_text("Le Vernet")
    await expect(picker).to_contain_text("Vous répondra : gendarmerie nationale")
    await visit.screenshot("06-commencer-commune")
    await page.get_by_label("Le Vernet").check(force=True)
    await page.click("#commencer-bouton")
    await page.wait_for_url("**/tchat")
    stored = await visit.session_storage()
    assert stored["pnav.tchat"]["force"] == "gendarmerie"


async def test_unknown_and_malformed_postal_codes_show_a_message_and_the_numbers(visit: Visit) -> None:
    """A malformed or unknown code gets a French explanation and the national numbers, never a dead end."""
    page = visit.page
    await visit.goto("/commencer?tchat=discrimination_hate")
    await page.check("#profil-relative", force=True)
    await page.fill("#lieu-code", "7501")
    await page.click("#commencer-bouton")
    await expect(page.locator("#erreur-code")).to_contain_text("5 chiffres")
    await expect(page.locator("#probleme")).to_contain_text("17")

    await page.fill("#lieu-code", "99999")
    await page.click("#commencer-bouton")
    await expect(page.locator("#probleme-titre")).to_have_text("Ce code postal est inconnu")
    await expect(page.locator("#probleme .pnav-numbers")).to_contain_text("112")
    await expect(page.locator("#probleme .pnav-numbers")).to_contain_text("116 006")
    await visit.screenshot("07-commencer-code-inconnu")
    assert "pnav.tchat" not in await visit.session_storage()
