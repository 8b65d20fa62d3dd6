"""Reading ``multipart/form-data`` as it arrives, with a hard cap: a 1 GB body is refused after 10 MiB, not read.

python-multipart's streaming parser is fed chunk by chunk; the file part is kept in memory (never spooled to a
temporary file, where the original would sit in clear on disk) and the whole body is counted, so that neither a big
file nor a flood of small parts goes past the limit. A body announced bigger than the limit is refused before
anything is read.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field

from python_multipart import MultipartParser
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import parse_options_header
from starlette.requests import Request

from chat.attachments.checks import Refused, too_large

# The form around the file: its part headers, the boundary lines, client_id and keep_name (a few hundred bytes).
ENVELOPE = 16 * 1024
# Text fields are short ids and flags; anything longer is not ours.
MAX_FIELD_BYTES = 256
# One file, client_id and keep_name: a few more parts are tolerated (browsers add none), a flood is refused.
MAX_PARTS = 8
# The whole body must arrive within this time: 10 MiB at 384 kbit/s (a poor 3G link) takes about 220 s; a client
# trickling bytes to hold a slot (and its memory) is cut off after 5 minutes.
READ_DEADLINE = 300.0
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")

MALFORMED = "Le fichier n'a pas été reçu correctement. Réessayez."
NO_FILE = "Aucun fichier n'a été reçu. Choisissez un fichier puis réessayez."
BAD_CLIENT_ID = "L'envoi n'a pas d'identifiant valide. Rechargez la page puis réessayez."
TOO_SLOW = "L'envoi a pris trop de temps et a été interrompu. Réessayez avec une meilleure connexion."


@dataclass
class Upload:
    data: bytes
    filename: str
    client_id: str
    keep_name: bool


@dataclass
class _Part:
    name: str = ""
    filename: str | None = None
    headers: dict[bytes, bytes] = field(default_factory=dict)
    data: bytearray = field(default_factory=bytearray)


class _Collector:
    """python-multipart callbacks: gathers the parts, refusing past the limits as the bytes arrive."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.parts: list[_Part] = []
        self.current = _Part()
        self.header_name = bytearray()
        self.header_value = bytearray()

    def on_part_begin(self) -> None:
        if len(self.parts) >= MAX_PARTS:
            raise Refused(400, "malformed_upload", MALFORMED)
        self.current = _Part()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.current.headers[bytes(self.header_name).lower()] = bytes(self.header_value)
        self.header_name.clear()
        self.header_value.clear()

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.current.headers.get(b"content-disposition", b""))
        self.current.name = options.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in options:
            self.current.filename = options[b"filename"].decode("utf-8", "replace")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        limit = self.max_bytes if self.current.filename is not None else MAX_FIELD_BYTES
        if len(self.current.data) + (end - start) > limit:
            raise too_large(self.max_bytes) if self.current.filename is not None else Refused(
                400, "malformed_upload", MALFORMED)
        self.current.data += data[start:end]

    def on_part_end(self) -> None:
        self.parts.append(self.current)


async def read(request: Request, max_bytes: int) -> Upload:
    """The file and fields of an upload, or Refused (413 past ``max_bytes``, 400 for a broken form)."""
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise Refused(400, "malformed_upload", MALFORMED)
    cap = max_bytes + ENVELOPE
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise too_large(max_bytes)  # refused on its announced size: nothing is read
    collector = _Collector(max_bytes)
    try:
        parser = MultipartParser(boundary, {
            "on_part_begin": collector.on_part_begin, "on_part_data": collector.on_part_data,
            "on_part_end": collector.on_part_end, "on_header_field": collector.on_header_field,
            "on_header_value": collector.on_header_value, "on_header_end": collector.on_header_end,
            "on_headers_finished": collector.on_headers_finished,
        })
    except (FormParserError, ValueError):
        raise Refused(400, "malformed_upload", MALFORMED) from None

    async def consume() -> None:
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > cap:
                raise too_large(max_bytes)
            parser.write(chunk)
        parser.finalize()

    try:
        await asyncio.wait_for(consume(), READ_DEADLINE)
    except TimeoutError:
        raise Refused(408, "upload_too_slow", TOO_SLOW) from None
    except FormParserError:
        raise Refused(400, "malformed_upload", MALFORMED) from None
    return _upload(collector.parts)


def _upload(parts: list[_Part]) -> Upload:
    files = [p for p in parts if p.filename is not None and p.name == "file"]
    if len(files) != 1:
        raise Refused(400, "file_required", NO_FILE)
    fields = {p.name: bytes(p.data).decode("utf-8", "replace") for p in parts if p.filename is None}
    client_id = fields.get("client_id", "")
    if not _CLIENT_ID.match(client_id):
        raise Refused(422, "invalid_client_id", BAD_CLIENT_ID)
    keep = fields.get("keep_name", "").strip().lower() in ("1", "true", "on", "yes")
    return Upload(bytes(files[0].data), files[0].filename or "", client_id, keep)
