"""Hostile files on POST /api/v1/attachments: refused by content whatever their name, bombs refused from their header
with the process healthy, bodies past the cap refused without being read, the per-tchat and per-source limits."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import time
from collections.abc import Iterator
from typing import Any

import httpx
import psutil
import pytest
from PIL import Image

from tests.client import start_tchat
from tests.conftest import settings_for
from tests.evidence import HOSTILE, photo_with_metadata, screenshot_png, upload
from tests.faults.results import Row, record
from tests.servers import UNIT, LiveServer

tally: dict[str, Any] = {"files": 0, "refused": 0, "http_5xx": 0}
PER_TCHAT, PER_MINUTE = 2, 5


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """SQLite + memory broker, at most 2 files per tchat and 5 uploads a minute per source address."""
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('files') / 'pnav.sqlite3'}"
    server = LiveServer(settings_for(url, "memory://", extra={
        "PNAV_ATTACHMENTS_PER_TCHAT": str(PER_TCHAT),
        "PNAV_ATTACHMENTS_PER_MINUTE_PER_SOURCE": str(PER_MINUTE)})).start()
    yield server
    server.stop()


def _french(response: httpx.Response, status: int, code: str) -> None:
    tally["files"] += 1
    tally["http_5xx"] += response.status_code >= 500
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"] and "Traceback" not in response.text
    assert error["message"][0].isupper() and error["message"].endswith("."), error  # a sentence, not an exception
    tally["refused"] += 1


@pytest.mark.parametrize("key", sorted(HOSTILE))
async def test_hostile_file_is_refused_by_content(plain: LiveServer, key: str) -> None:
    """Text, HTML or SVG named .png, HEIC, an executable, a GIF, truncated images and PDFs, an empty file and a
    20,000 × 20,000 PNG bomb are refused with a French error; nothing is stored; /healthz stays ok."""
    name, data, media_type, status, code = HOSTILE[key]
    tchat = await start_tchat(plain)
    process = psutil.Process(os.getpid())
    before = process.memory_info().rss
    started = time.monotonic()
    response = await upload(plain, tchat["token"], data, name=name, media_type=media_type, client_id=f"h-{key}")
    seconds = time.monotonic() - started
    _french(response, status, code)
    grown = (process.memory_info().rss - before) / 2**20
    if key == "png_bomb":
        tally["bomb"] = {"seconds": round(seconds, 2), "rss_mib": round(grown, 1), "bytes": len(data)}
        # Refused from its header: no 400 MP decode (it would take ~50 MB even at 1 bit, 400 MB as RGB).
        assert grown < 40 and seconds < 5 * UNIT
    if key == "heic":
        assert "HEIC" in response.json()["error"]["message"]
    async with httpx.AsyncClient(base_url=plain.base) as http:
        health = await http.get("/healthz")
    assert health.status_code == 200 and health.json() == {"status": "ok"}


async def test_polyglot_png_is_kept_as_png_and_its_preview_is_clean(plain: LiveServer) -> None:
    """A real PNG with HTML after its end is an image: kept byte for byte (its receipt is of those bytes), and its
    preview — re-encoded from pixels — carries nothing of the tail."""
    data = screenshot_png(120, 80) + b"<html><script>alert(document.domain)</script></html>"
    tchat = await start_tchat(plain)
    response = await upload(plain, tchat["token"], data, name="a.png", media_type="image/png", client_id="poly")
    assert response.status_code == 201 and response.json()["sha256"] == hashlib.sha256(data).hexdigest()

    async def preview(state: Any) -> bytes | None:
        from chat.attachments import config
        from chat.attachments import store as attachments

        found = await attachments.get(state.sessions, response.json()["id"])
        assert found is not None
        return await attachments.sealed_bytes(state.sessions, config.of(state).key, found, "preview")

    clean = await plain.call(preview)
    assert clean is not None and b"script" not in clean and Image.open(io.BytesIO(clean)).format == "JPEG"
    tally["files"] += 1


async def test_bodies_past_the_cap_are_not_read(plain: LiveServer) -> None:
    """A body announced at 1 GB is refused at once; a chunked body with no length is refused once 10 MiB (and the
    form's envelope) have arrived, without reading the rest."""
    tchat = await start_tchat(plain)
    reader, writer = await asyncio.open_connection("127.0.0.1", plain.port)
    writer.write((f"POST /api/v1/attachments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {tchat['token']}\r\n"
                  "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 1000000000\r\n\r\n").encode())
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5 * UNIT)
    assert head.startswith(b"HTTP/1.1 413")
    writer.close()
    tally["files"] += 1
    tally["refused"] += 1

    reader, writer = await asyncio.open_connection("127.0.0.1", plain.port)
    writer.write((f"POST /api/v1/attachments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {tchat['token']}\r\n"
                  "Content-Type: multipart/form-data; boundary=b\r\nTransfer-Encoding: chunked\r\n\r\n").encode())
    part = b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\n\r\n'
    writer.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
    chunk = b"\x00" * 65536
    sent = 0
    answer: asyncio.Task[bytes] = asyncio.ensure_future(reader.readuntil(b"\r\n\r\n"))
    try:
        while not answer.done() and sent < 200 * 2**20:
            writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            sent += len(chunk)
            await asyncio.wait_for(writer.drain(), 5 * UNIT)
    except (ConnectionError, TimeoutError):
        pass
    head = await asyncio.wait_for(answer, 5 * UNIT)
    writer.close()
    assert head.startswith(b"HTTP/1.1 413")
    # Refused once the cap arrived: what was sent beyond it sat at most in the sockets' buffers.
    assert sent < 40 * 2**20, sent
    tally["streamed_mib"] = round(sent / 2**20, 1)
    tally["files"] += 1
    tally["refused"] += 1


async def test_limits_per_tchat_and_per_source(strict: LiveServer) -> None:
    """Two files per tchat (then 409 too_many_attachments), five uploads a minute per source (then 429), a closed or
    unknown tchat and a broken form refused in French."""
    first, second = await start_tchat(strict), await start_tchat(strict)
    photo = photo_with_metadata(64, 48)
    for n in range(PER_TCHAT):
        assert (await upload(strict, first["token"], photo, client_id=f"a{n}")).status_code == 201
    _french(await upload(strict, first["token"], photo, client_id="a9"), 409, "too_many_attachments")
    for n in range(PER_TCHAT):
        assert (await upload(strict, second["token"], photo, client_id=f"b{n}")).status_code == 201
    _french(await upload(strict, second["token"], photo, client_id="b9"), 429, "rate_limited")
    strict.state.extensions.pop("chat.attachments.limiter", None)
    _french(await upload(strict, None, photo, client_id="c0"), 401, "invalid_token")
    _french(await upload(strict, "x" * 43, photo, client_id="c1"), 401, "invalid_token")
    _french(await upload(strict, second["token"], photo, client_id="not a valid id!"), 422, "invalid_client_id")
    async with httpx.AsyncClient(base_url=strict.base) as http:
        leave = await http.post("/api/v1/conversations/leave", json={"token": first["token"]})
        assert leave.status_code == 204
        _french(await http.post("/api/v1/attachments", headers={"Authorization": f"Bearer {second['token']}"},
                                content=b"{}", ), 400, "malformed_upload")
        _french(await http.post("/api/v1/attachments", headers={"Authorization": f"Bearer {second['token']}"},
                                data={"client_id": "z"}, files={"other": ("x.png", photo, "image/png")}), 400,
                "file_required")
    _french(await upload(strict, first["token"], photo, client_id="a8"), 409, "conversation_closed")
    # A retry of a file stored before the end still gets its receipt.
    again = await upload(strict, first["token"], photo, client_id="a0")
    assert again.status_code == 201 and again.json()["sha256"] == hashlib.sha256(photo).hexdigest()


def test_record_hostile_files_row() -> None:
    """Write the hostile files' row of SECURITY.md (after the tests above)."""
    bomb = tally.get("bomb", {})
    record(Row(
        key="fichiers-hostiles",
        fault="fichiers hostiles sur POST /api/v1/attachments",
        load="1 processus, SQLite + courtier mémoire ; 10 Mio par fichier, 50 Mpx par image",
        inputs=f"{len(HOSTILE)} fichiers refusés par leur contenu (texte, HTML et SVG nommés .png, SVG, HEIC, "
               "exécutable, GIF, JPEG et PDF tronqués, PNG sans données, fichier vide, bombe PNG 20 000 × 20 000 de "
               f"{bomb.get('bytes', 0) // 1024} Kio refusée en {bomb.get('seconds', '?')} s, mémoire "
               f"+{bomb.get('rss_mib', '?')} Mio) ; un PNG polyglotte (HTML après la fin) gardé tel quel, aperçu "
               "propre ; corps annoncé à 1 Go refusé sans lecture, corps sans longueur refusé après "
               f"{tally.get('streamed_mib', '?')} Mio envoyés ; limites par tchat et par source, jeton absent ou "
               "faux, formulaire cassé, tchat terminé",
        acknowledged=tally["files"], delivered=tally["files"] - tally["http_5xx"], lost=tally["http_5xx"],
        result="chaque refus est un 4xx avec un message français ; rien n'est gardé ; /healthz reste ok",
    ))
    assert json.dumps(tally)
