"""Evidence from end to end over HTTP and the sockets, on SQLite + memory and PostgreSQL + Redis: the receipt, the
transcript, metadata-free previews for entitled staff only, the consent form's documents, the local service's
download, the documents added from /suivi."""

from __future__ import annotations

import hashlib
import io
import logging
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import func, select

from audit.models import AuditEvent
from chat.attachments.models import Attachment, AttachmentBlob
from chat.models import Message
from escalation.models import Signalement
from tests.client import Visitor, start_tchat
from tests.escalation.conftest import Live
from tests.escalation.flow import PARIS_11, Browser, consent, propose, taken_tchat
from tests.evidence import pdf_document, photo_with_metadata, screenshot_png, upload
from tests.operators.staff import ConsoleClient, console_for, make, session_cookie, visitor_answers_offer


async def _count(live: Live, model: Any, *where: Any) -> int:
    async def count(state: Any) -> int:
        async with state.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    return await live.server.call(count)


async def test_receipt_transcript_preview_and_retry(esc: Live, caplog: pytest.LogCaptureFixture) -> None:
    """The receipt's SHA-256 is the digest of the bytes sent; the attachment takes the next seq; consoles get a
    preview without EXIF, XMP or GPS; a retry with the same client_id stores it once; the logs (at INFO, pnav's
    level: the database driver's DEBUG lines echo every SQL parameter) name no file."""
    caplog.set_level(logging.INFO)
    server = esc.server
    tchat = await taken_tchat(server)
    await tchat.visitor.send({"type": "send", "client_id": "m-1", "body": "Voici ce qu'il m'envoie."})
    message_seq = (await tchat.visitor.expect("ack"))["seq"]
    photo = photo_with_metadata()
    sent = await upload(server, tchat.token, photo, client_id="f-1")
    assert sent.status_code == 201, sent.text
    receipt = sent.json()
    assert receipt["sha256"] == hashlib.sha256(photo).hexdigest() and receipt["size"] == len(photo)
    assert receipt["media_type"] == "image/jpeg" and receipt["seq"] == message_seq + 1
    assert receipt["name"] == "capture-1.jpg" and receipt["received_at"].endswith("Z")
    assert sent.headers["cache-control"] == "no-store"

    frame = await tchat.visitor.expect("attachment")
    assert {k: frame[k] for k in ("seq", "id", "sha256", "size", "media_type", "name", "author")} == {
        "seq": receipt["seq"], "id": receipt["id"], "sha256": receipt["sha256"], "size": len(photo),
        "media_type": "image/jpeg", "name": "capture-1.jpg", "author": "visitor"}
    assert "preview_url" not in frame and frame["at"] == receipt["received_at"]
    seen = await tchat.console.expect("attachment", conversation=tchat.id)
    assert seen["preview_url"] == f"/console/pieces/{receipt['id']}/apercu"

    operator = await Browser.sign_in(server, tchat.operator)
    try:
        preview = await operator.get(seen["preview_url"])
    finally:
        await operator.close()
    assert preview.status_code == 200 and preview.headers["content-type"] == "image/jpeg"
    assert preview.headers["cache-control"] == "no-store"
    image = Image.open(io.BytesIO(preview.content))
    assert image.size == (480, 640)  # turned upright by its EXIF orientation, then the EXIF is gone
    assert dict(image.getexif()) == {} and not {"exif", "xmp", "icc_profile", "comment", "dpi"} & set(image.info)
    assert b"TelephoneDeTest" not in preview.content and b"rue des Lilas" not in preview.content
    assert b"GPS" not in preview.content and b"xmpmeta" not in preview.content

    again = await upload(server, tchat.token, photo, client_id="f-1")
    assert again.status_code == 201 and again.json() == receipt
    assert await _count(esc, Attachment) == 1
    assert await _count(esc, Message, Message.kind == "attachment") == 1
    assert await _count(esc, AttachmentBlob) == 2  # the original and its preview, both sealed

    kept = await upload(server, tchat.token, screenshot_png(), name="../../Capture d'écran 2026-03-12 à 21.14.png",
                        media_type="image/png", client_id="f-2", keep_name=True)
    assert kept.status_code == 201 and kept.json()["name"] == "Capture d'écran 2026-03-12 à 21.14.png"
    assert kept.json()["seq"] == receipt["seq"] + 1

    async def sealed(state: Any) -> list[bytes]:
        async with state.sessions() as session:
            return list(await session.scalars(select(AttachmentBlob.ciphertext)))

    for blob in await server.call(sealed):
        assert b"TelephoneDeTest" not in blob and b"JFIF" not in blob and b"PNG" not in blob
    logged = "\n".join(record.getMessage() for record in caplog.records  # the server's, not the test client's
                        if not record.name.startswith(("httpx", "httpcore")))
    assert "attachment stored: " in logged  # sizes and types only:
    for secret in ("IMG_2026-03-12", "Capture d'écran", receipt["sha256"], receipt["id"], "TelephoneDeTest"):
        assert secret not in logged
    replayed = Visitor(server, tchat.token)
    await replayed.connect(after=message_seq)
    assert (await replayed.expect("attachment"))["id"] == receipt["id"]
    await replayed.close()
    await tchat.visitor.close()
    await tchat.console.close()


async def test_previews_only_for_staff_of_the_tchat(esc: Live) -> None:
    """A police operator cannot fetch a gendarmerie tchat's preview; nor can a psychologist who did not join, a
    supervisor of the other force, a local service or an anonymous visitor."""
    server = esc.server
    gendarme = await make(server, "gendarme", "operator", "gendarmerie")
    console = await console_for(server, gendarme)
    started = await start_tchat(server, postal_code="54120", category="domestic_violence")
    visitor = Visitor(server, started["token"])
    await visitor.connect()
    await console.send({"type": "take", "conversation": started["id"]})
    await visitor.expect("joined")
    sent = await upload(server, started["token"], screenshot_png(), media_type="image/png", name="x.png")
    assert sent.status_code == 201, sent.text
    url = f"/console/pieces/{sent.json()['id']}/apercu"
    people = {
        "gendarme": (gendarme, 200),
        "policier": (await make(server, "policier", "operator", "police"), 404),
        "psy": (await make(server, "psy", "psychologist"), 404),
        "chef.gendarmerie": (await make(server, "chef.gendarmerie", "supervisor", "gendarmerie"), 200),
        "chef.police": (await make(server, "chef.police", "supervisor", "police"), 404),
        "service": (await make(server, "brigade", "local_service", service_id="gendarmerie-54039-01"), 403),
    }
    got, cookies = {}, {}
    for name, (staff, _expected) in people.items():
        cookies[name] = await session_cookie(server, staff)
        browser = Browser(server, cookies[name])
        try:
            got[name] = (await browser.get(url)).status_code
        finally:
            await browser.close()
    assert got == {name: expected for name, (_staff, expected) in people.items()}
    async with httpx.AsyncClient(base_url=server.base) as anonymous:
        assert (await anonymous.get(url)).status_code == 303
        assert (await anonymous.get(url, headers={"Authorization": f"Bearer {started['token']}"})).status_code == 303

    # The psychologist who joined sees it.
    psy_console = ConsoleClient(server, cookies["psy"])
    await psy_console.connect()
    await console.send({"type": "invite_psychologist", "conversation": started["id"]})
    await visitor_answers_offer(visitor)
    invitation = await psy_console.expect("invitation")
    await psy_console.send({"type": "accept_invitation", "invitation": invitation["invitation"]})
    await psy_console.expect("taken", conversation=started["id"])
    browser = Browser(server, cookies["psy"])
    try:
        assert (await browser.get(url)).status_code == 200
    finally:
        await browser.close()
    for client in (visitor, console, psy_console):
        await client.close()


async def test_consent_documents_and_local_service_download(esc: Live) -> None:
    """The consent form lists the tchat's documents; the one left unticked never reaches the service; the service
    downloads the other byte for byte, as an attachment with the receipt, audited; no one else can."""
    server = esc.server
    tchat = await taken_tchat(server)
    photo, document = photo_with_metadata(), pdf_document()
    first = (await upload(server, tchat.token, photo, client_id="f-1")).json()
    second = (await upload(server, tchat.token, document, name="plainte.pdf", media_type="application/pdf",
                           client_id="f-2")).json()
    assert second["name"] == "document-2.pdf" and second["media_type"] == "application/pdf"
    form = await propose(tchat)
    assert [d["id"] for d in form["documents"]] == [first["id"], second["id"]]
    assert form["documents"][0]["sha256"] == first["sha256"] and any(s["label"] == "Documents" for s in form["sent"])
    refused = await consent(server, tchat.token, form["consent_version"], attachments=["f" * 32])
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "unknown_attachment"
    answer = await consent(server, tchat.token, form["consent_version"], attachments=[second["id"]])
    assert answer.status_code == 201, answer.text

    async def signalement_id(state: Any) -> str:
        async with state.sessions() as session:
            return str(await session.scalar(select(Signalement.id)))

    sid = await server.call(signalement_id)
    service = await make(server, "commissariat.paris11", "local_service", "police", service_id=PARIS_11)
    other = await make(server, "commissariat.paris3", "local_service", "police",
                       service_id="commissariat_police-75103-01")
    chief = await make(server, "chef.police", "supervisor", "police")
    mine, theirs, boss = (await Browser.sign_in(server, service), await Browser.sign_in(server, other),
                          await Browser.sign_in(server, chief))
    try:
        page = await mine.get(f"/service/signalements/{sid}")
        assert second["sha256"] in page.text and "document-2.pdf" in page.text
        assert first["sha256"] not in page.text and "capture-1.jpg" not in page.text
        got = await mine.get(f"/service/signalements/{sid}/documents/{second['id']}")
        assert got.status_code == 200 and got.content == document
        assert hashlib.sha256(got.content).hexdigest() == second["sha256"] == got.headers["x-pnav-sha256"]
        assert got.headers["content-disposition"].startswith('attachment; filename="document-2.pdf"')
        assert got.headers["content-type"] == "application/pdf" and got.headers["cache-control"] == "no-store"
        assert got.headers["x-pnav-received-at"] == second["received_at"]
        again = await mine.get(f"/service/signalements/{sid}/documents/{second['id']}")
        assert again.content == document
        unticked = await mine.get(f"/service/signalements/{sid}/documents/{first['id']}")
        assert unticked.status_code == 404 and unticked.content != photo
        assert (await theirs.get(f"/service/signalements/{sid}/documents/{second['id']}")).status_code == 404
        assert (await boss.get(f"/service/signalements/{sid}/documents/{second['id']}")).status_code == 403
        assert second["sha256"] in (await boss.get(f"/service/signalements/{sid}")).text  # listed, not downloaded
    finally:
        for browser in (mine, theirs, boss):
            await browser.close()
    downloads = await _count(esc, AuditEvent, AuditEvent.action == "signalement.document_downloaded")
    assert downloads == 2

    # A tchat without consent: its file is out of reach of every service, whatever the URL.
    lone = await start_tchat(server, postal_code="75011")
    hidden = (await upload(server, lone["token"], photo, client_id="f-9")).json()
    browser = await Browser.sign_in(server, service)
    try:
        assert (await browser.get(f"/service/signalements/{sid}/documents/{hidden['id']}")).status_code == 404
    finally:
        await browser.close()
    await tchat.visitor.close()
    await tchat.console.close()


async def test_followup_adds_a_document(esc: Live) -> None:
    """With her follow-up code the visitor adds a document to her signalement and sees what the service received,
    with the receipts; a retry stores it once; a wrong code adds nothing."""
    server = esc.server
    tchat = await taken_tchat(server)
    form = await propose(tchat)
    code = (await consent(server, tchat.token, form["consent_version"])).json()["followup_code"]
    later = screenshot_png(400, 300)
    path = f"/api/v1/followup/{code}/attachments"
    added = await upload(server, None, later, media_type="image/png", name="nouvelle.png", client_id="s-1", path=path)
    assert added.status_code == 201, added.text
    assert added.json()["seq"] is None and added.json()["sha256"] == hashlib.sha256(later).hexdigest()
    assert (await upload(server, None, later, media_type="image/png", client_id="s-1", path=path)).json() == \
        added.json()
    wrong = await upload(server, None, later, media_type="image/png", client_id="s-2",
                         path="/api/v1/followup/AAAAA-BBBBB-CCCCC-DDDDD/attachments")
    assert wrong.status_code == 404 and wrong.json()["error"]["code"] == "unknown_followup_code"
    async with httpx.AsyncClient(base_url=server.base) as http:
        followed = (await http.get(f"/api/v1/followup/{code}")).json()
    assert [(d["sha256"], d["source"]) for d in followed["documents"]] == [(added.json()["sha256"], "followup")]
    assert followed["documents_open"] is True
    assert await _count(esc, Attachment) == 1
    await tchat.visitor.close()
    await tchat.console.close()
