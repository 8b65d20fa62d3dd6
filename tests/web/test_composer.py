"""Writing and reading on a phone: long texts are never cut silently, new messages come into view (or a marker says
they are there), nothing hides under the quick exit or the message box, right-to-left text reads right to left."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.servers import LiveServer
from tests.web.conftest import Visit, operator_says, start_by_form, take, transcript

pytestmark = pytest.mark.browser

BOX = "el => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }"


async def box(page: Page, selector: str) -> tuple[float, float, float, float]:
    left, top, right, bottom = await page.locator(selector).evaluate(BOX)
    return left, top, right, bottom


def overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def inside(inner: tuple[float, ...], outer: tuple[float, ...]) -> bool:
    return outer[0] <= inner[0] and outer[1] <= inner[1] and inner[2] <= outer[2] and inner[3] <= outer[3]


async def paste(page: Page, selector: str, text: str) -> None:
    """What a person does: the text on the clipboard, then Ctrl+V in the field."""
    await page.evaluate("text => navigator.clipboard.writeText(text)", text)
    await page.focus(selector)
    await page.keyboard.press("Control+V")


async def test_a_long_pasted_text_is_sent_whole_in_several_messages(visit: Visit, server: LiveServer) -> None:
    """25,000 characters pasted: the counter says what will happen; five messages go, in order, each with its own
    client id; the rest stays in the box with an explanation, and goes with the next send. Nothing is lost."""
    page = visit.page
    await visit.context.grant_permissions(["clipboard-read", "clipboard-write"])
    conversation_id = await start_by_form(visit)
    assert await take(server, conversation_id)
    words = [f"mot{i:05d}" for i in range(2800)]  # 8 characters + a space each: 22,400 characters
    text = " ".join(words) + "\n\n" + "é" * 2599  # and a paragraph without a space, cut at the limit
    await page.fill("#message", "x" * 3500)
    await expect(page.locator("#message-compteur")).to_have_text("3 500 / 4 000 caractères")
    await page.fill("#message", "")
    await paste(page, "#message", text)
    assert await page.input_value("#message") == text  # nothing cut by the field itself
    await expect(page.locator("#message-compteur")).to_contain_text("les 20 000 premiers partiront en 5 messages")

    await page.click("#envoyer")
    own = page.locator(".pnav-message--own")
    await expect(own).to_have_count(5)
    await expect(page.locator("#message-erreur")).to_contain_text("La suite")
    rest = await page.input_value("#message")
    assert rest and text.endswith(rest)
    await page.click("#envoyer")
    await expect(own).to_have_count(7)
    await expect(page.locator(".pnav-message--own .pnav-message__status", has_text="Envoyé")).to_have_count(7)
    assert await page.input_value("#message") == ""

    stored = [f for f in await transcript(server, conversation_id) if f["type"] == "message"]
    bodies = [str(f["body"]) for f in stored]
    assert all(len(body) <= 4000 for body in bodies)
    assert "".join(bodies).replace(" ", "").replace("\n", "") == text.replace(" ", "").replace("\n", "")
    assert len({f["client_id"] for f in stored}) == 7
    assert bodies[0].startswith("mot00000 mot00001") and bodies[-1].endswith("é")


async def test_new_messages_are_followed_or_announced_and_nothing_is_covered(visit: Visit,
                                                                            server: LiveServer) -> None:
    """At the bottom, a new message scrolls into view above the message box; scrolled up, a "Nouveau message" marker
    appears and leads to it. The quick exit and the message box never cover the transcript, and the quick exit
    stays on screen."""
    page = visit.page
    conversation_id = await start_by_form(visit)
    assert await take(server, conversation_id)
    for i in range(12):
        await operator_says(server, conversation_id, f"Message numéro {i} : une phrase assez longue pour remplir.")
    last = page.locator(".pnav-message--operator").last
    await expect(last).to_contain_text("Message numéro 11")
    viewport = (0.0, 0.0, 390.0, 844.0)
    exit_button, pane, composer = (await box(page, "#quitter-bouton"), await box(page, "#fil"),
                                   await box(page, "#ecrire"))
    assert inside(exit_button, viewport) and not overlap(exit_button, pane) and not overlap(composer, pane)
    await expect(last).to_be_in_viewport()
    assert inside(await box(page, ".pnav-message--operator >> nth=-1"), pane)

    await page.locator("#fil").evaluate("el => el.scrollTo(0, 0)")
    await expect(page.locator("#titre-tchat")).to_be_in_viewport()
    assert not overlap(await box(page, "#titre-tchat"), exit_button)
    await operator_says(server, conversation_id, "Vous êtes toujours là ?")
    marker = page.locator("#nouveau")
    await expect(marker).to_be_visible()
    await expect(marker).to_contain_text("Nouveau message")
    news = page.locator(".pnav-message--operator", has_text="toujours là")
    await expect(news).not_to_be_in_viewport()
    assert not overlap(await box(page, "#nouveau"), await box(page, "#fil"))
    await marker.click()
    await expect(news).to_be_in_viewport()
    await expect(marker).to_be_hidden()

    await page.locator("#fil").evaluate("el => el.scrollTo(0, el.scrollHeight)")
    await operator_says(server, conversation_id, "Je reste avec vous.")
    await expect(page.locator(".pnav-message--operator", has_text="Je reste avec vous")).to_be_in_viewport()
    await expect(marker).to_be_hidden()
    assert inside(await box(page, ".pnav-message--operator >> nth=-1"), await box(page, "#fil"))
    assert inside(await box(page, "#quitter-bouton"), viewport)


async def test_the_quick_exit_covers_no_title_or_error_on_a_page_that_scrolls(visit: Visit) -> None:
    """On the start page, an error scrolled into view lies below the quick exit, not under it; scrolled anywhere,
    the quick exit stays on screen."""
    page = visit.page
    await visit.goto("/commencer")
    await page.check("#tchat-domestic_violence", force=True)
    await page.check("#profil-victim", force=True)
    await page.fill("#lieu-code", "99999")
    await page.click("#commencer-bouton")
    await expect(page.locator("#probleme")).to_be_focused()
    exit_bar = await box(page, "#quitter")
    for selector in ("#probleme-titre", "#probleme-texte"):
        assert not overlap(await box(page, selector), exit_bar), selector
    for y in (0, 400, 1200, 5000):
        await page.evaluate(f"window.scrollTo(0, {y})")
        assert inside(await box(page, "#quitter-bouton"), (0.0, 0.0, 390.0, 844.0)), y
    await page.evaluate("window.scrollTo(0, 0)")
    assert not overlap(await box(page, "h1"), await box(page, "#quitter"))


async def test_right_to_left_messages_read_right_to_left(visit: Visit, server: LiveServer) -> None:
    """Arabic and Hebrew messages (typed or received) are laid out right to left; French ones left to right."""
    page = visit.page
    conversation_id = await start_by_form(visit)
    assert await take(server, conversation_id)
    await page.fill("#message", "مرحبا، أحتاج إلى مساعدة")
    await expect(page.locator("#message")).to_have_attribute("dir", "auto")
    await page.keyboard.press("Enter")
    await operator_says(server, conversation_id, "שלום, אני כאן")
    await operator_says(server, conversation_id, "Bonjour, je vous lis.")
    direction = "el => getComputedStyle(el).direction"
    bodies = page.locator(".pnav-message__body")
    await expect(bodies).to_have_count(3)
    assert [await bodies.nth(i).evaluate(direction) for i in range(3)] == ["rtl", "rtl", "ltr"]
