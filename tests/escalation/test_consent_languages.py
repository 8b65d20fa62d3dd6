"""Issue 22: the consent form and the cards around it are in the tchat's language; the consent text's French
reference is still sent (and is what CONSENT_VERSION names); a French tchat gets the frame it always got."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

import pytest

import routing
from chat.store import ConversationRow
from escalation import consent

SERVICE_ID = "commissariat_police-75111-01"
FRENCH_KEYS = ["type", "proposal", "title", "text", "sent", "service", "why", "consent_version", "consent_text",
               "fields", "documents", "documents_hint", "submit", "refuse"]
DOCUMENT = {"id": "d1", "name": "capture.png", "size": 10, "media_type": "image/png"}


def conversation(language: str) -> ConversationRow:
    now = datetime.now(UTC)
    values: dict[str, Any] = {field.name: None for field in dataclasses.fields(ConversationRow)}
    values.update(id="c1", category="domestic_violence", requester_role="victim", role="victim", postal_code="75011",
                  insee="75111", commune_name="Paris 11e Arrondissement", department="75", force="police",
                  local_service_id=SERVICE_ID, local_service_approximate=False, status="active", priority=0,
                  emergency=True, minor=False, last_seq=0, created_at=now, queued_at=now, visitor_seen_at=now,
                  language=language)
    return ConversationRow(**{k: v for k, v in values.items() if k in ConversationRow.__dataclass_fields__})


def form(language: str) -> dict[str, Any]:
    service = routing.local_service_by_id(SERVICE_ID)
    assert service is not None
    return consent.consent_request("p1", conversation(language), "Des coups hier soir.", service, 365, [DOCUMENT])


def labels(frame: dict[str, Any]) -> list[str]:
    return [item["label"] for item in frame["sent"]] + [field["label"] for field in frame["fields"]]


@pytest.mark.parametrize(("language", "title", "name_label", "reference", "category", "evidence", "emergency"), [
    ("ar", "إرسال بلاغ", "الاسم أو اسم مستعار", "النص الفرنسي أدناه هو النسخة المعتمدة", "العنف الزوجي",
     "الاحتفاظ بالأدلة", "في حالة خطر فوري"),
    ("en", "Send a report", "Name or nickname", "The French text below is the official version",
     "Domestic violence", "Keep evidence", "If you are in immediate danger"),
])
def test_consent_form_in_the_tchats_language(language: str, title: str, name_label: str, reference: str,
                                             category: str, evidence: str, emergency: str) -> None:
    frame, french = form(language), form("fr")
    assert frame["title"] == title
    assert name_label in labels(frame)
    assert {"label": labels(frame)[1], "value": category} in frame["sent"]
    # Nothing the visitor reads is left in French, except the reference text.
    for key in ("text", "why", "documents_hint"):
        assert frame[key] != french[key], key
    assert not set(labels(frame)) & set(labels(french)) - {"Documents"}  # the same word in English
    assert all(f["hint"] != g["hint"] for f, g in zip(frame["fields"], french["fields"], strict=True) if "hint" in f)
    assert frame["why"].startswith(("هذه المصلحة", "This service")) and "Paris 11e Arrondissement" in frame["why"]
    # The reference: French text and version unchanged, a header in the visitor's language, the translation.
    assert frame["consent_text"] == french["consent_text"] == consent.consent_text(
        routing.local_service_by_id(SERVICE_ID), 365)  # type: ignore[arg-type]
    assert frame["consent_text"].startswith("J'accepte que le résumé des faits")
    assert frame["consent_version"] == consent.CONSENT_VERSION
    assert frame["language"] == language and reference in frame["consent_reference"]
    assert "Commissariat" in frame["consent_translation"] and "365" in frame["consent_translation"]
    assert frame["consent_translation"] != frame["consent_text"]
    # Same fields, same order, same rules: only what is read changes.
    assert [{k: v for k, v in f.items() if k not in ("label", "hint")} for f in frame["fields"]] == [
        {k: v for k, v in f.items() if k not in ("label", "hint")} for f in french["fields"]]
    assert consent.evidence_card(language)["title"] == evidence
    assert consent.evidence_card(language)["advice"] != consent.evidence_card()["advice"]
    assert consent.emergency_card(language)["title"] == emergency
    assert "112" in consent.emergency_card(language)["text"]


def test_french_tchat_gets_the_french_frame() -> None:
    frame = form("fr")
    assert list(frame) == FRENCH_KEYS  # no translation keys added
    assert frame["title"] == "Transmettre un signalement"
    assert frame["fields"] == consent.FIELDS and frame["fields"][0]["label"] == "Nom ou pseudonyme"
    assert [item["label"] for item in frame["sent"]] == ["Résumé des faits", "Type de violences", "Commune",
                                                         "Vos coordonnées", "Signalé comme", "Documents"]
    assert frame["sent"][1]["value"] == "Violences conjugales" and frame["sent"][4]["value"] == "Situation d'urgence"
    assert frame["why"].startswith("Ce service de la police nationale est compétent")
    assert frame["documents_hint"] == consent.DOCUMENTS_HINT
    # An unknown language (never stored, but a row is a row) is French too.
    assert json.dumps(form("xx")) == json.dumps(frame)
    assert consent.evidence_card("fr") == consent.evidence_card() and consent.evidence_card()["title"] == (
        "Garder des preuves")
    assert consent.emergency_card("fr")["title"] == "En cas de danger immédiat"
