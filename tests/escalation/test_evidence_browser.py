"""In real browsers (issue 20): the visitor attaches files from her phone — the connection cut mid-upload, the file
stored once — and sees her receipts; the operator sees the metadata-free preview; she consents with one document
unticked; the local service downloads the other, byte for byte; she adds one more from /suivi."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Route, expect
from sqlalchemy import func, select

from chat.attachments.models import Attachment
from tests.conftest import wipe
from tests.escalation.conftest import Live
from tests.escalation.flow import PARIS_11
from tests.evidence import pdf_document, photo_with_metadata, screenshot_png
from tests.operators.desks import sign_in
from tests.operators.staff import make
from tests.servers import LiveServer
from tests.web.conftest import SCREENSHOTS, TAKE_SCREENSHOTS, WAIT_MS, browser, new_visit, start_by_form
from tests.web.test_accessibility import AXE, AXE_RUN

pytestmark = pytest.mark.browser
__all__ = ["browser"]


@pytest.fixture
async def live(escalation_servers: dict[str, tuple[LiveServer, str]]) -> Live:
    server, url = escalation_servers["sqlite-memory"]
    await wipe(url)
    server.state.extensions.pop("escalation.followup_limiter", None)
    return Live(server, url)


@pytest.fixture
async def desks(browser: Browser) -> AsyncIterator[list[BrowserContext]]:
    """Two desktop browsers: the operator's and the local service's (each its own session cookie)."""
    contexts = []
    for _ in range(2):
        context = await browser.new_context(viewport={"width": 1366, "height": 1100}, locale="fr-FR",
                                            timezone_id="Europe/Paris", bypass_csp=True, accept_downloads=True)
        context.set_default_timeout(WAIT_MS)
        contexts.append(context)
    yield contexts
    for context in contexts:
        await context.close()


async def _attachments(server: LiveServer) -> int:
    async def count(state: Any) -> int:
        async with state.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(Attachment)) or 0)

    return await server.call(count)


async def test_evidence_from_phone_to_local_service(live: Live, browser: Browser, desks: list[BrowserContext],
                                                    tmp_path: Path) -> None:
    """Attach (network cut mid-upload, stored once), receipt, operator preview, consent with one document unticked,
    the service downloads the other with a matching SHA-256, one more added from /suivi; axe finds nothing."""
    server = live.server
    photo, document, later = photo_with_metadata(1200, 900), pdf_document(), screenshot_png(390, 600)
    (tmp_path / "IMG_2031.jpg").write_bytes(photo)
    (tmp_path / "plainte.pdf").write_bytes(document)
    (tmp_path / "nouvelle-capture.png").write_bytes(later)
    (tmp_path / "encore.png").write_bytes(screenshot_png(200, 120))
    officer = await make(server, "agent.preuves", "operator", "police")
    operator = await sign_in(desks[0], server, officer)

    visit = await new_visit(browser, server, bypass_csp=True)
    try:
        phone = visit.page
        conversation = await start_by_form(visit, category="discrimination_hate", postal_code="75011")
        item = operator.locator(f'.queue-item[data-conversation="{conversation}"]')
        await item.locator(".queue-take").click()
        pane = operator.locator(f"#pane-{conversation}")
        await expect(pane).to_be_visible()
        await pane.get_by_role("button", name="Inviter à déposer des captures d'écran").click()
        card = phone.locator(".pnav-card--evidence_upload")
        await expect(card).to_contain_text("Vous pouvez déposer des captures d'écran ici")

        # The first upload reaches the server, then the connection drops before the answer: the page retries
        # with the same client_id and the server keeps one file.
        cut: list[str] = []

        async def cut_once(route: Route) -> None:
            if not cut:
                cut.append(route.request.url)
                await route.fetch()  # the server receives and stores the file…
                await route.abort("connectionreset")  # …and the phone never hears back
                return
            await route.continue_()

        await phone.route("**/api/v1/attachments", cut_once)
        await card.get_by_role("button", name="Choisir des captures ou des documents").click()
        notice = phone.locator("#avant-envoi")
        await expect(notice).to_be_visible()
        await expect(notice).to_contain_text("le lieu et l'heure")
        await phone.add_script_tag(path=str(AXE))
        assert await phone.evaluate(AXE_RUN) == []
        async with phone.expect_file_chooser() as chooser:
            await phone.get_by_role("button", name="J'ai compris, choisir les fichiers").click()
        await (await chooser.value).set_files([str(tmp_path / "IMG_2031.jpg"), str(tmp_path / "plainte.pdf")])

        receipts = phone.locator(".pnav-attachment .pnav-receipt")
        await expect(receipts).to_have_count(2, timeout=WAIT_MS * 2)
        first = phone.locator(".pnav-attachment", has_text="capture-1.jpg")
        await expect(first.locator(".pnav-receipt__hash")).to_have_text(hashlib.sha256(photo).hexdigest())
        await expect(first.locator(".pnav-receipt__check")).to_have_text(
            "C'est bien l'empreinte du fichier envoyé depuis cet appareil.")
        await expect(phone.locator(".pnav-attachment", has_text="document-2.pdf")
                     .locator(".pnav-receipt__hash")).to_have_text(hashlib.sha256(document).hexdigest())
        assert cut and await _attachments(server) == 2  # the file cut mid-upload is stored once
        await expect(phone.locator(".pnav-message__status[data-kind=failed]")).to_have_count(0)
        await phone.add_script_tag(path=str(AXE))
        assert await phone.evaluate(AXE_RUN) == []
        await first.scroll_into_view_if_needed()
        await visit.screenshot("40-tchat-recu", full_page=False)

        preview = pane.locator(".chat-attachment-preview")
        await expect(preview).to_have_count(1)
        await expect(preview).to_have_attribute("alt", "Aperçu de capture-1.jpg, sans ses métadonnées")
        assert await preview.evaluate("img => img.complete && img.naturalWidth") == 900  # upright, as photographed
        await expect(pane.locator(".chat-attachment", has_text="document-2.pdf")).to_contain_text(
            "Document non affiché ici")
        await operator.add_script_tag(path=str(AXE))
        assert await operator.evaluate(AXE_RUN) == []
        if TAKE_SCREENSHOTS:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            await pane.locator(".chat-attachment").first.evaluate("""node => {
                const log = node.closest('.chat-log');
                log.scrollTop += node.getBoundingClientRect().top - log.getBoundingClientRect().top - 40;
                window.scrollTo(0, 0);
            }""")
            await operator.screenshot(path=str(SCREENSHOTS / "41-console-apercu.png"))

        await pane.locator(".chat-signalement summary").click()
        await pane.locator(".chat-signalement-form textarea").fill("Harcèlement en ligne, captures jointes.")
        await pane.get_by_role("button", name="Demander le consentement de la personne").click()
        form = phone.locator("#consentement")
        await expect(form).to_contain_text("Documents à transmettre")
        # One more, sent while the form waits (the composer's button: the notice was read already): it joins the
        # form's list, ticked.
        async with phone.expect_file_chooser() as chooser:
            await phone.locator("#joindre").click()
        await (await chooser.value).set_files(str(tmp_path / "encore.png"))
        await expect(form.get_by_label("capture-3.png", exact=False)).to_be_checked()
        await form.get_by_label("capture-1.jpg", exact=False).uncheck(force=True)
        await expect(form.get_by_label("document-2.pdf", exact=False)).to_be_checked()
        await form.locator("input[data-field=name]").fill("Camille")
        await form.locator("input[data-field=phone]").fill("06 12 34 56 78")
        await form.locator("input[data-field=consent]").check(force=True)
        await phone.add_script_tag(path=str(AXE))
        assert await phone.evaluate(AXE_RUN) == []
        await form.get_by_role("button", name="Transmettre le signalement").click()
        code = (await form.locator(".pnav-code").text_content() or "").strip()
        assert code
    finally:
        await visit.context.close()

    service = await make(server, "commissariat.preuves", "local_service", "police", service_id=PARIS_11)
    office = await desks[1].new_page()
    await office.goto(server.base + "/login")
    await office.fill("#username", service.username)
    await office.fill("#password", service.password)
    await office.fill("#totp", service.code())
    await office.click("#login-submit")
    await office.goto(server.base + "/service")
    await office.locator("a[href^='/service/signalements/']").first.click()
    listed = office.locator(".signalement-document")
    await expect(listed).to_have_count(2)
    await expect(office.locator(".signalement-documents")).to_contain_text("capture-3.png")
    await expect(office.locator(".signalement-documents")).not_to_contain_text("capture-1.jpg")
    pdf = listed.filter(has_text="document-2.pdf")
    async with office.expect_download() as downloading:
        await pdf.get_by_role("link", name="Télécharger l'original").click()
    download = await downloading.value
    assert download.suggested_filename == "document-2.pdf"
    assert Path(await download.path()).read_bytes() == document
    await office.add_script_tag(path=str(AXE))
    assert await office.evaluate(AXE_RUN) == []

    visit = await new_visit(browser, server, bypass_csp=True)
    try:
        phone = visit.page
        await visit.goto("/suivi")
        await phone.fill("#code", code)
        await phone.click("#suivi button[type=submit]")
        documents = phone.locator("#documents")
        handed = [hashlib.sha256(document).hexdigest(), hashlib.sha256(screenshot_png(200, 120)).hexdigest()]
        await expect(documents.locator(".pnav-receipt__hash")).to_have_text(handed)
        await phone.set_input_files("#document", str(tmp_path / "nouvelle-capture.png"))
        await phone.get_by_role("button", name="Envoyer le document").click()
        await expect(documents.locator(".pnav-receipt__hash")).to_have_text(
            [*handed, hashlib.sha256(later).hexdigest()])
        await expect(phone.locator("#ajout-etat")).to_contain_text("Fichier reçu : capture-4.png")
        await phone.add_script_tag(path=str(AXE))
        assert await phone.evaluate(AXE_RUN) == []
        await visit.screenshot("42-suivi-documents", full_page=True)
    finally:
        await visit.context.close()
    await office.reload()
    await expect(office.locator(".signalement-document")).to_have_count(3)
    await expect(office.locator(".signalement-documents")).to_contain_text("ajouté depuis le suivi")
