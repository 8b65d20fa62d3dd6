"""A phone loses its connection mid-tchat: what was typed meanwhile arrives once, nothing is missing or doubled."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.async_api import WebSocketRoute, expect

from tests.servers import LiveServer
from tests.web.conftest import Visit, operator_says, start_by_form, take, transcript

pytestmark = pytest.mark.browser


async def assert_exactly_once(visit: Visit, conversation_id: str) -> list[dict[str, Any]]:
    """The page shows every stored message, card and event once (an operator joining is a line of its own), in seq
    order, and nothing else with a seq; returns the messages."""
    stored = await transcript(visit.server, conversation_id)
    shown = await visit.page.eval_on_selector_all(
        "#messages > li[data-seq]",
        "items => items.map(li => [Number(li.dataset.seq), li.querySelector('.pnav-message__body')?.textContent])")
    assert [seq for seq, _ in shown] == [f["seq"] for f in stored]
    assert [body for _, body in shown] == [f.get("body") for f in stored]
    return [f for f in stored if f["type"] == "message"]


async def test_offline_then_back_messages_typed_meanwhile_arrive_once(visit: Visit, server: LiveServer) -> None:
    """Network off: three messages typed (two identical) wait; the operator writes; back online, all arrive once."""
    page = visit.page
    conversation_id = await start_by_form(visit)
    assert await take(server, conversation_id)
    await operator_says(server, conversation_id, "Bonjour, je vous lis.")
    await expect(page.locator(".pnav-message--operator")).to_have_count(1)

    await visit.context.set_offline(True)
    await expect(page.locator("#connexion")).to_have_attribute("data-state", "offline")
    for text in ("Je suis dans la salle de bain.", "Oui", "Oui"):
        await page.fill("#message", text)
        await page.keyboard.press("Enter")
    pending = page.locator(".pnav-message--own .pnav-message__status")
    await expect(pending).to_have_count(3)
    await expect(pending.nth(2)).to_contain_text("En attente du réseau")
    await operator_says(server, conversation_id, "Êtes-vous en sécurité ?")
    await operator_says(server, conversation_id, "Répondez quand vous pouvez.")
    await visit.screenshot("08-tchat-hors-ligne", full_page=False)
    # The outbox survives in the tab's storage while offline, with one client id per message.
    outbox = (await visit.session_storage())["pnav.outbox"]
    assert [item["body"] for item in outbox] == ["Je suis dans la salle de bain.", "Oui", "Oui"]
    assert len({item["client_id"] for item in outbox}) == 3

    await visit.context.set_offline(False)
    await expect(page.locator("#connexion")).to_have_attribute("data-state", "open")
    await expect(page.locator(".pnav-message--operator")).to_have_count(3)
    await expect(page.locator(".pnav-message--own .pnav-message__status", has_text="Envoyé")).to_have_count(3)

    stored = await assert_exactly_once(visit, conversation_id)
    # Stored in the order the server received them: the operator's two while the phone was away, then the three.
    assert [(f["author"], f["body"]) for f in stored] == [
        ("operator", "Bonjour, je vous lis."),
        ("operator", "Êtes-vous en sécurité ?"),
        ("operator", "Répondez quand vous pouvez."),
        ("visitor", "Je suis dans la salle de bain."),
        ("visitor", "Oui"),
        ("visitor", "Oui"),
    ]
    assert (await visit.session_storage()).get("pnav.outbox") == []


async def test_socket_cut_by_the_network_with_a_lost_ack(visit: Visit, server: LiveServer) -> None:
    """The socket dies after a message was stored but before its ack arrived, and while another was in flight.

    The client reconnects with backoff, resumes after its last seq and resends both with their client ids:
    the stored one is not stored twice, the lost one is stored once, and the page shows each exactly once.
    """
    page = visit.page
    state: dict[str, Any] = {"mode": "pass", "routes": []}

    async def proxy(ws: WebSocketRoute) -> None:
        upstream = ws.connect_to_server()
        state["routes"].append(ws)

        def from_page(message: str | bytes) -> None:
            frame = json.loads(message)
            if state["mode"] == "swallow_send" and frame.get("type") == "send":
                return  # lost on the way to the server
            upstream.send(message)

        def from_server(message: str | bytes) -> None:
            if state["mode"] in ("deaf", "swallow_send"):
                return  # the phone hears nothing: acks and messages are lost
            ws.send(message)

        ws.on_message(from_page)
        upstream.on_message(from_server)

    await page.route_web_socket("**/ws/visitor", proxy)
    conversation_id = await start_by_form(visit)
    assert await take(server, conversation_id)
    await expect(page.locator("#arrivee")).to_be_visible()

    state["mode"] = "deaf"  # the server stores this one, but its ack never reaches the phone
    await page.fill("#message", "Premier message")
    await page.keyboard.press("Enter")
    for _ in range(50):
        if any(f.get("body") == "Premier message" for f in await transcript(server, conversation_id)):
            break
        await page.wait_for_timeout(100)
    await operator_says(server, conversation_id, "Je suis toujours là.")
    state["mode"] = "swallow_send"  # this one never reaches the server
    await page.fill("#message", "Deuxième message")
    await page.keyboard.press("Enter")
    await page.wait_for_timeout(300)
    statuses = page.locator(".pnav-message--own .pnav-message__status")
    await expect(statuses).to_have_count(2)
    await expect(statuses.nth(0)).to_have_text("Envoi…")

    state["mode"] = "pass"
    await state["routes"][-1].close(code=1012, reason="coupure")
    await expect(page.locator("#connexion")).to_have_attribute("data-state", "waiting")
    await expect(page.locator("#connexion")).to_have_attribute("data-state", "open")
    assert len(state["routes"]) >= 2, "the client did not reconnect"

    await expect(page.locator(".pnav-message--own .pnav-message__status", has_text="Envoyé")).to_have_count(2)
    await expect(page.locator(".pnav-message--operator")).to_have_count(1)
    stored = await assert_exactly_once(visit, conversation_id)
    assert [(f["author"], f["body"]) for f in stored] == [
        ("visitor", "Premier message"),
        ("operator", "Je suis toujours là."),
        ("visitor", "Deuxième message"),
    ]


async def test_reload_keeps_the_conversation_and_the_unsent_messages(visit: Visit, server: LiveServer) -> None:
    """A reload (or a phone killing the tab's page) shows the whole conversation again and sends what waited."""
    page = visit.page
    conversation_id = await start_by_form(visit)
    assert await take(server, conversation_id)
    await operator_says(server, conversation_id, "Bonjour.")
    await expect(page.locator(".pnav-message--operator")).to_have_count(1)
    await visit.context.set_offline(True)
    await page.fill("#message", "Écrit avant le rechargement")
    await page.keyboard.press("Enter")
    await visit.context.set_offline(False)
    await page.reload()
    await expect(page.locator("#connexion")).to_have_attribute("data-state", "open")
    await expect(page.locator(".pnav-message--own .pnav-message__status", has_text="Envoyé")).to_have_count(1)
    await expect(page.locator("#arrivee")).to_be_visible()
    stored = await assert_exactly_once(visit, conversation_id)
    assert [f["body"] for f in stored] == ["Bonjour.", "Écrit avant le rechargement"]
