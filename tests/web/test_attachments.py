"""The visitor's files on a phone: dropped onto the tchat (the notice first), sent while offline then on their own
when the network returns, a refused file explained in French and removable; the receipt survives a reload."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import func, select

from chat.attachments.models import Attachment
from tests.evidence import screenshot_png
from tests.servers import LiveServer
from tests.web.conftest import Visit, new_visit, start_by_form, take
from tests.web.test_accessibility import AXE, AXE_RUN

pytestmark = pytest.mark.browser

DROP = """async ([name, type, data]) => {
  const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], name, { type }));
  const target = document.getElementById("fil");
  for (const kind of ["dragenter", "dragover", "drop"]) {
    target.dispatchEvent(new DragEvent(kind, { dataTransfer: transfer, bubbles: true, cancelable: true }));
  }
}"""


async def _count(server: LiveServer) -> int:
    async def count(state: Any) -> int:
        async with state.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(Attachment)) or 0)

    return await server.call(count)


async def test_drop_offline_refused_and_reload(browser: Browser, server: LiveServer) -> None:
    """A dropped file waits for the notice, then goes; one dropped offline leaves when the network returns, stored
    once; HTML named .png is refused with the server's French message and can be removed; a reload keeps receipts."""
    visit = await new_visit(browser, server, bypass_csp=True)  # bypass: axe is injected as an inline script
    try:
        await _flow(visit, server)
        assert visit.foreign_requests() == []
    finally:
        await visit.context.close()


async def _flow(visit: Visit, server: LiveServer) -> None:
    page = visit.page
    conversation = await start_by_form(visit)
    assert await take(server, conversation)
    image = screenshot_png(300, 500)
    await page.evaluate(DROP, ["Capture.png", "image/png", base64.b64encode(image).decode()])
    await expect(page.locator("#avant-envoi")).to_be_visible()
    await page.get_by_role("button", name="J'ai compris, choisir les fichiers").click()
    receipt = page.locator(".pnav-attachment .pnav-receipt__hash")
    await expect(receipt).to_have_text([hashlib.sha256(image).hexdigest()])

    await visit.context.set_offline(True)
    second = screenshot_png(200, 200)
    await page.evaluate(DROP, ["Autre.png", "image/png", base64.b64encode(second).decode()])  # no notice again
    await expect(page.locator(".pnav-message__status[data-kind=waiting]")).to_contain_text("En attente du réseau")
    await visit.context.set_offline(False)
    await expect(receipt).to_have_count(2)
    assert await _count(server) == 2

    await page.evaluate(DROP, ["piege.png", "image/png", base64.b64encode(b"<!doctype html><script>1</script>")
                               .decode()])
    failed = page.locator(".pnav-message__status[data-kind=failed]")
    await expect(failed).to_contain_text("Ce type de fichier n'est pas accepté")
    await page.add_script_tag(path=str(AXE))
    assert await page.evaluate(AXE_RUN) == []
    await page.get_by_role("button", name="Retirer").click()
    await expect(failed).to_have_count(0)
    assert await _count(server) == 2

    await page.reload()
    await page.wait_for_selector("#connexion[data-state='open']")
    await expect(page.locator(".pnav-attachment .pnav-receipt__hash")).to_have_text(
        [hashlib.sha256(image).hexdigest(), hashlib.sha256(second).hexdigest()])
    await expect(page.locator(".pnav-attachment__name")).to_contain_text(["capture-1.png", "capture-2.png"])
