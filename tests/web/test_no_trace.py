"""A borrowed phone: no field of the visitor's pages is remembered or suggested by the browser, and nothing typed is
left in the browser once the tab is closed — checked on a real Chromium profile on disk."""

from __future__ import annotations

import re
import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, async_playwright, expect

from tests.servers import LiveServer
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE, WAIT_MS, Visit, start_by_form, take
from tests.web.test_transcript_reload import propose

pytestmark = pytest.mark.browser

# Words that make a browser's autofill take a field for a person's details (Chromium's own heuristics read the name
# and id attributes as well as the label).
HINTS = re.compile(r"name|nom|prenom|phone|t[eé]l|mobile|portable|mail|courriel|adress|address|street|rue|postal|"
                   r"zip|\bcp\b|city|ville|country|pays|birth|naissance|code.?postal", re.IGNORECASE)
FIELDS = """() => [...document.querySelectorAll('input, textarea, select')].map(el => ({
  tag: el.tagName.toLowerCase(), type: el.type, name: el.getAttribute('name'), id: el.id,
  autocomplete: el.getAttribute('autocomplete'), form: el.form ? el.form.getAttribute('autocomplete') : null,
}))"""
TEXT_TYPES = ("text", "search", "tel", "email", "url", "number", "password", "textarea")


async def fields_of(page: Page) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = await page.evaluate(FIELDS)
    return found


def problems(fields: list[dict[str, Any]]) -> list[str]:
    wrong = []
    for field in fields:
        where = f"{field['tag']}#{field['id']}"
        if field["type"] in TEXT_TYPES or field["tag"] == "textarea":
            if field["autocomplete"] != "off":
                wrong.append(f"{where}: autocomplete={field['autocomplete']!r}")
            if field["type"] in ("tel", "email", "password"):
                wrong.append(f"{where}: type={field['type']}")
            if field["form"] is not None and field["form"] != "off":
                wrong.append(f"{where}: its form autocompletes")
        for attribute in ("name", "id"):
            if field[attribute] and HINTS.search(field[attribute]):
                wrong.append(f"{where}: {attribute}={field[attribute]!r}")
    return wrong


async def test_no_visitor_field_invites_the_browser_to_remember(visit: Visit, server: LiveServer) -> None:
    """Every field of every visitor form (start, commune search, tchat, consent, follow-up) has autocomplete="off",
    and no name, id or type that autofill would take for a person's details."""
    page = visit.page
    seen: list[dict[str, Any]] = []
    await visit.goto("/commencer")
    await page.fill("#lieu-recherche", "saint denis")
    await expect(page.locator("#resultats-nom input").first).to_be_visible()
    seen += await fields_of(page)
    conversation_id = await start_by_form(visit)
    assert await take(server, conversation_id)
    await propose(server, conversation_id, "Des menaces au téléphone.")
    await expect(page.locator("#consentement form")).to_be_visible()
    seen += await fields_of(page)
    await visit.goto("/suivi")
    seen += await fields_of(page)
    assert {"lieu-code", "lieu-recherche", "message", "code"} <= {f["id"] for f in seen}
    assert sum(1 for f in seen if f["id"].startswith("consentement-")) >= 5
    assert problems(seen) == []


async def test_nothing_typed_stays_in_the_browser_after_the_tab_closes(server: LiveServer) -> None:
    """On a Chromium profile on disk: start a tchat, write, fill and send the consent form, look up the follow-up
    code; close the tab. A new tab finds no storage, no cookie, no database; once the browser is closed, its profile
    holds no autofill entry and none of what was typed."""
    typed = {"message": "Mon voisin me menace depuis mardi", "name": "Dominique Quatrevingt",
             "phone": "06 98 76 54 32", "email": "dominique.quatrevingt@example.org"}
    profile = Path(tempfile.mkdtemp(prefix="pnav-profile-"))
    try:
        code = await _use_and_close(server, profile, typed)
        for web_data in profile.rglob("Web Data"):
            with sqlite3.connect(web_data) as database:
                assert database.execute("SELECT name, value FROM autofill").fetchall() == []
        for path in (p for p in profile.rglob("*") if p.is_file()):
            content = path.read_bytes()
            for what, text in [*typed.items(), ("code", code), ("draft", DRAFT)]:
                assert text.encode() not in content, f"{what} found in {path.relative_to(profile)}"
    finally:
        shutil.rmtree(profile, ignore_errors=True)


DRAFT = "Un brouillon jamais envoyé"


async def _use_and_close(server: LiveServer, profile: Path, typed: dict[str, str]) -> str:
    """The whole visit in a browser whose profile lives in ``profile``; returns the follow-up code it was given."""
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, viewport=PHONE, locale="fr-FR")
        context.set_default_timeout(WAIT_MS)
        page = await context.new_page()
        visit = Visit(server, context, page)
        conversation_id = await start_by_form(visit, postal_code="75011")
        assert await take(server, conversation_id)
        await page.fill("#message", typed["message"])
        await page.keyboard.press("Enter")
        await expect(page.locator(".pnav-message--own .pnav-message__status")).to_have_text("Envoyé")
        await propose(server, conversation_id, "Menaces répétées du voisin.")
        form = page.locator("#consentement")
        await form.get_by_label("Nom ou pseudonyme").fill(typed["name"])
        await form.get_by_role("textbox", name=re.compile("^Téléphone")).fill(typed["phone"])
        await form.get_by_role("textbox", name=re.compile("^Adresse électronique")).fill(typed["email"])
        await form.get_by_label("J'ai lu ce qui sera transmis").check(force=True)
        await form.get_by_role("button", name="Transmettre le signalement").click()
        code = (await form.locator(".pnav-code").text_content() or "").strip()
        await page.fill("#message", DRAFT)
        await visit.goto("/suivi")
        await page.fill("#code", code)
        await page.click("button[type=submit]")
        await expect(page.locator("#historique")).to_be_visible()
        await page.close()

        fresh = await context.new_page()
        await fresh.goto(server.base + "/")
        left = await fresh.evaluate("""async () => ({
          local: localStorage.length, session: sessionStorage.length,
          databases: (await indexedDB.databases()).length, caches: (await caches.keys()).length,
        })""")
        assert left == {"local": 0, "session": 0, "databases": 0, "caches": 0}
        assert await context.cookies() == []
        await context.close()
    return code
