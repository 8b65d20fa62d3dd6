"""Sans-I/O WebSocket protocol: raw frame text → typed frame or typed error, and server frames → JSON text.

Nothing here touches a socket, a database or a clock, so every rule is testable with plain values.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Container
from dataclasses import dataclass
from typing import Any

import orjson

# Anything beyond these is a client bug or an attack; both get the same calm French answer.
MAX_CLIENT_ID = 64
MAX_TOKEN = 128
MAX_CONVERSATION_ID = 64
MAX_NOTE_CHARS = 2_000
_CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


@dataclass(frozen=True)
class ProtocolError:
    code: str
    message: str

    def frame(self) -> dict[str, Any]:
        return {"type": "error", "code": self.code, "message": self.message}


ERRORS = {
    "frame_too_large": "Ce message est trop long pour être envoyé d'un coup. Découpez-le en plusieurs messages.",
    "malformed_frame": "Le message reçu est illisible. Rechargez la page si le problème continue.",
    "unknown_frame": "Cette action n'est pas reconnue. Rechargez la page si le problème continue.",
    "invalid_field": "Une information envoyée est incorrecte. Rechargez la page si le problème continue.",
    "empty_message": "Le message est vide : écrivez quelques mots avant d'envoyer.",
    "message_too_long": "Ce message est trop long ({limit} caractères au plus). Découpez-le en plusieurs messages.",
    "forbidden_characters": "Le message contient des caractères non autorisés. Retirez-les puis renvoyez-le.",
    "hello_required": "La connexion n'est pas encore ouverte. Patientez un instant puis réessayez.",
}


def error(code: str, **fmt: object) -> ProtocolError:
    return ProtocolError(code, ERRORS[code].format(**fmt))


@dataclass(frozen=True)
class Hello:
    token: str
    after: int


@dataclass(frozen=True)
class Send:
    client_id: str
    body: str
    conversation: str | None = None


@dataclass(frozen=True)
class Typing:
    conversation: str | None = None


@dataclass(frozen=True)
class Read:
    seq: int
    conversation: str | None = None


@dataclass(frozen=True)
class Resume:
    after: int
    conversation: str | None = None


@dataclass(frozen=True)
class Leave:
    pass


@dataclass(frozen=True)
class Ping:
    """An application-level ping: lets a phone notice a half-open connection long before TCP does."""


@dataclass(frozen=True)
class Generic:
    """A frame of another vocabulary (operator console): its type and validated-as-object fields."""

    type: str
    fields: dict[str, Any]


Frame = Hello | Send | Typing | Read | Resume | Leave | Ping | Generic


def decode(raw: str | bytes, max_bytes: int) -> dict[str, Any] | ProtocolError:
    """Size check, UTF-8 and JSON decoding into an object with a string ``type``."""
    size = len(raw) if isinstance(raw, bytes) else len(raw.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        return error("frame_too_large")
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        data = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return error("malformed_frame")
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        return error("malformed_frame")
    return data


def clean_text(value: object, max_chars: int, *, allow_empty: bool = False) -> str | ProtocolError:
    """Normalise a human text: NFC, CRLF → LF, trimmed; refuse controls and lone surrogates."""
    if not isinstance(value, str):
        return error("invalid_field")
    text = unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if not text and not allow_empty:
        return error("empty_message")
    if len(text) > max_chars:
        return error("message_too_long", limit=max_chars)
    for ch in text:
        if ch in "\n\t":
            continue
        category = unicodedata.category(ch)
        if category in ("Cc", "Cs", "Co") or ch in "\u2028\u2029\ufeff":
            return error("forbidden_characters")
    return text


def _non_negative_int(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > 2**31:
        return None
    return value


def _optional_id(data: dict[str, Any], key: str) -> str | ProtocolError | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > MAX_CONVERSATION_ID or not value.isalnum():
        return error("invalid_field")
    return value


def parse(raw: str | bytes, *, max_bytes: int, max_chars: int, extra_types: Container[str] = frozenset()) -> (
    Frame | ProtocolError
):
    """Parse one client frame. ``extra_types`` are accepted as ``Generic`` for the caller to validate."""
    data = decode(raw, max_bytes)
    if isinstance(data, ProtocolError):
        return data
    return validate(data, max_chars=max_chars, extra_types=extra_types)


def validate(data: dict[str, Any], *, max_chars: int, extra_types: Container[str] = frozenset()) -> (
    Frame | ProtocolError
):
    """The typed frame of an already decoded one (``decode``), or the error to answer."""
    kind = data["type"]
    conversation = _optional_id(data, "conversation")
    if isinstance(conversation, ProtocolError):
        return conversation
    if kind == "hello":
        token, after = data.get("token"), _non_negative_int(data.get("after", 0))
        if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN or after is None:
            return error("invalid_field")
        return Hello(token, after)
    if kind == "send":
        client_id = data.get("client_id")
        if not isinstance(client_id, str) or not _CLIENT_ID_RE.match(client_id):
            return error("invalid_field")
        body = clean_text(data.get("body"), max_chars)
        if isinstance(body, ProtocolError):
            return body
        return Send(client_id, body, conversation)
    if kind == "typing":
        return Typing(conversation)
    if kind in ("read", "resume"):
        number = _non_negative_int(data.get("seq" if kind == "read" else "after"))
        if number is None:
            return error("invalid_field")
        return Read(number, conversation) if kind == "read" else Resume(number, conversation)
    if kind == "leave":
        return Leave()
    if kind == "ping":
        return Ping()
    if kind in extra_types:
        return Generic(kind, data)
    return error("unknown_frame")


def dumps(frame: dict[str, Any]) -> str:
    """Server frames are compact JSON with non-ASCII kept as is (French text stays readable and short). orjson: a
    tenth of the stdlib's time, and every message is encoded several times (ack, event, frames)."""
    return orjson.dumps(frame).decode()
