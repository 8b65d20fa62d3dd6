"""The contact details a visitor gives with their consent: checked here, encrypted before they reach the database."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import asdict, dataclass
from typing import Any

from chat.errors import ApiError

# Lengths a person actually types: a name or pseudonym, an international phone number with spaces, an e-mail
# address (RFC 5321 caps the useful part near 254), a sentence about when to call.
MAX_NAME, MAX_PHONE, MAX_EMAIL, MAX_TIMES = 100, 30, 200, 200
_PHONE = re.compile(r"^\+?[0-9 .()-]{6,30}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


@dataclass(frozen=True)
class ContactDetails:
    name: str
    phone: str
    email: str
    preferred_times: str
    leave_message: bool

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> ContactDetails:
        data = json.loads(raw)
        return cls(str(data["name"]), str(data["phone"]), str(data["email"]), str(data["preferred_times"]),
                   bool(data["leave_message"]))


def _text(data: dict[str, Any], key: str, limit: int, label: str) -> str:
    value = data.get(key, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ApiError(422, "invalid_contact", f"Le champ « {label} » est incorrect.", field=key)
    value = unicodedata.normalize("NFC", value).strip()
    if len(value) > limit:
        raise ApiError(422, "invalid_contact", f"Le champ « {label} » est trop long ({limit} caractères au plus).",
                       field=key)
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value):
        raise ApiError(422, "invalid_contact", f"Le champ « {label} » contient des caractères invalides.", field=key)
    return value


def parse(data: dict[str, Any]) -> ContactDetails:
    """Contact details from the consent form, or ApiError with a French message naming the field."""
    name = _text(data, "name", MAX_NAME, "Nom ou pseudonyme")
    phone = _text(data, "phone", MAX_PHONE, "Téléphone")
    email = _text(data, "email", MAX_EMAIL, "Adresse électronique")
    times = _text(data, "preferred_times", MAX_TIMES, "Quand pouvons-nous vous joindre ?")
    if not name:
        raise ApiError(422, "invalid_contact", "Indiquez un nom ou un pseudonyme.", field="name")
    if not phone and not email:
        raise ApiError(422, "invalid_contact", "Indiquez un téléphone ou une adresse électronique pour être "
                       "recontacté·e.", field="phone")
    if phone and (not _PHONE.match(phone) or sum(ch.isdigit() for ch in phone) < 6):
        raise ApiError(422, "invalid_contact", "Ce numéro de téléphone ne semble pas valide.", field="phone")
    if email and not _EMAIL.match(email):
        raise ApiError(422, "invalid_contact", "Cette adresse électronique ne semble pas valide.", field="email")
    leave = data.get("leave_message", False)
    if not isinstance(leave, bool):
        raise ApiError(422, "invalid_contact", "Indiquez si l'on peut vous laisser un message.", field="leave_message")
    return ContactDetails(name, phone, email, times, leave)
