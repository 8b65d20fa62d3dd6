"""Quick exit: Escape twice or the button wipes the tab's storage, replaces the page, and ends the tchat."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from chat.pages import DEFAULT_QUICK_EXIT_URL
from tests.servers import LiveServer
from tests.web.conftest import Visit, operator_says, start_by_form, status_of, take

pytestmark = pytest.mark.browser


async def test_escape_twice_leaves_no_trace_and_abandons_the_tchat(visit: Visit, server: LiveServer) -> None:
    """Escape twice: storage wiped, neutral site in place of the tchat, no tchat in history, tchat abandoned."""
    page = visit.page
    conversation_id = await start_by_form(visit)
    entries = await page.evaluate("history.length")
    assert await take(server, conversation_id)
    await operator_says(server, conversation_id, "Je vous écoute.")
    await expect(page.locator(".pnav-message--operator")).to_have_count(1)
    await page.fill("#message", "Il revient")

    await page.keyboard.press("Escape")
    await page.keyboard.press("Escape")
    await page.wait_for_url(DEFAULT_QUICK_EXIT_URL)

    assert visit.exit_hits == [DEFAULT_QUICK_EXIT_URL]
    # The neutral page replaced the tchat: the tab's history did not grow, "back" cannot show the tchat.
    assert await page.evaluate("history.length") == entries
    await page.go_back()
    assert "/tchat" not in page.url and "/commencer" not in page.url
    for _ in range(50):
        if await status_of(server, conversation_id) == "abandoned":
            break
        await page.wait_for_timeout(100)
    assert await status_of(server, conversation_id) == "abandoned"

    # Same tab, same origin again: the tab's storage for pnav is empty, no tchat can be reopened.
    await visit.goto("/tchat")
    assert await visit.session_storage() == {}
    await expect(page.locator("#tchat-absent")).to_be_visible()
    await expect(page.locator("#ecrire")).to_be_hidden()


async def test_the_button_works_without_a_tchat_and_is_always_on_screen(visit: Visit) -> None:
    """The quick exit button is visible at the top of every page, even scrolled down, and leaves at once."""
    page = visit.page
    for path in ("/", "/commencer", "/tchat", "/fin", "/suivi", "/mentions-legales"):
        await visit.goto(path)
        await page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
        button = page.get_by_role("link", name="Quitter rapidement")
        await expect(button).to_be_in_viewport()
        box = await button.bounding_box()
        assert box is not None and box["y"] < 20
        # Nothing is drawn over it: the element at its centre is the button itself.
        on_top = await page.evaluate(
            "([x, y]) => document.elementFromPoint(x, y)?.closest('#quitter-bouton') !== null",
            [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2])
        assert on_top, path
    await page.evaluate("sessionStorage.setItem('pnav.note', '1')")
    await page.get_by_role("link", name="Quitter rapidement").click()
    await page.wait_for_url(DEFAULT_QUICK_EXIT_URL)
    await visit.goto("/")
    assert await visit.session_storage() == {}


async def test_escape_pressed_once_does_nothing(visit: Visit) -> None:
    """A single Escape (closing a keyboard, a menu) does not throw the visitor out."""
    page = visit.page
    await visit.goto("/commencer")
    await page.keyboard.press("Escape")
    await page.wait_for_timeout(1700)
    await page.keyboard.press("Escape")
    await page.wait_for_timeout(300)
    assert page.url.endswith("/commencer")
    assert visit.exit_hits == []
