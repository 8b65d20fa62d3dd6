"""What the visitor reads before lifting their anonymity: the consent form frame, its versioned text, and the
cards posted around it (evidence keeping, emergency numbers)."""

from __future__ import annotations

from typing import Any

import routing
from chat.store import ConversationRow

# Bump when the wording below changes: each signalement stores the version its author agreed to.
CONSENT_VERSION = "2026-11-v1"

CATEGORY_LABELS = {
    "sexual_violence": "Violences sexuelles et sexistes",
    "domestic_violence": "Violences conjugales",
    "discrimination_hate": "Discriminations, haine, cyber-harcèlement",
}

CONSENT_TEXT = (
    "J'accepte que le résumé des faits, le type de violences, la commune et les coordonnées que j'indique soient "
    "transmis à : {service}. Je lève ainsi mon anonymat auprès de ce service seulement, pour qu'il me contacte et "
    "m'accompagne, notamment pour déposer plainte. Mes coordonnées sont conservées chiffrées et effacées "
    "{days} jours après la clôture du signalement. Je peux refuser et continuer la conversation de façon anonyme."
)

WHY = (
    "Ce service de {force} est compétent pour la commune que vous avez indiquée ({commune}). Il pourra vous "
    "recontacter, vous proposer un rendez-vous pour déposer plainte et vous tenir informé·e des suites. "
    "Vous recevrez un code de suivi pour voir, sans donner votre nom, ce qu'il advient de votre signalement."
)

FORCE_NAMES = {"police": "la police nationale", "gendarmerie": "la gendarmerie nationale"}

FIELDS: list[dict[str, Any]] = [
    {"name": "name", "label": "Nom ou pseudonyme", "type": "text", "required": True, "max_length": 100,
     "hint": "Le nom sous lequel le service vous demandera au téléphone."},
    {"name": "phone", "label": "Téléphone", "type": "tel", "required": False, "max_length": 30,
     "hint": "Indiquez un téléphone, une adresse électronique, ou les deux."},
    {"name": "email", "label": "Adresse électronique", "type": "email", "required": False, "max_length": 200},
    {"name": "preferred_times", "label": "Quand pouvons-nous vous joindre ?", "type": "text", "required": False,
     "max_length": 200, "hint": "Par exemple : en semaine après 18 h, jamais le week-end."},
    {"name": "leave_message", "label": "On peut vous laisser un message (répondeur, SMS, courriel)",
     "type": "checkbox", "required": False},
    {"name": "consent", "label": "J'ai lu ce qui sera transmis et j'accepte de lever mon anonymat auprès de ce "
     "service", "type": "checkbox", "required": True},
]

EVIDENCE_ADVICE = [
    "Faites des captures d'écran où l'on voit la date, l'heure et l'auteur (profil, numéro de téléphone).",
    "Notez les adresses (liens) des pages, des publications et des profils en cause.",
    "Gardez les messages, SMS, courriels et messages vocaux : ne les supprimez pas, même s'ils sont pénibles.",
    "Conservez les certificats médicaux, les arrêts de travail et les photos de blessures, avec leur date.",
    "Notez le nom et les coordonnées des témoins, et écrivez ce qui s'est passé tant que c'est frais.",
    "Rangez tout dans un endroit que l'auteur ne peut pas consulter (par exemple chez une personne de confiance).",
]


def service_label(service: routing.LocalService) -> str:
    return f"{service.name}, {service.address}" if service.address else service.name


def consent_text(service: routing.LocalService, retention_days: int) -> str:
    return CONSENT_TEXT.format(service=service_label(service), days=retention_days)


DOCUMENTS_TEXT = ("Les originaux, tels que vous les avez envoyés, de ceux que vous cochez ci-dessous : le service "
                  "pourra les télécharger, et leur empreinte correspondra à votre reçu.")
DOCUMENTS_HINT = "Décochez ceux que vous ne voulez pas transmettre. Ils restent alors sous scellés, sans être transmis."


def consent_request(proposal_id: str, conversation: ConversationRow, summary: str, service: routing.LocalService,
                    retention_days: int, documents: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The frame the visitor's page draws as a consent form: exactly what is sent, to whom, why, and the fields.
    ``documents``: the files attached in the tchat, each of which the visitor may untick."""
    flags = [label for on, label in ((conversation.emergency, "Situation d'urgence"),
                                     (conversation.minor, "Concerne une personne mineure")) if on]
    sent = [
        {"label": "Résumé des faits", "value": summary},
        {"label": "Type de violences", "value": CATEGORY_LABELS.get(conversation.category, conversation.category)},
        {"label": "Commune", "value": f"{conversation.commune_name} ({conversation.department})"},
        {"label": "Vos coordonnées", "value": "Celles que vous indiquez ci-dessous."},
    ]
    if flags:
        sent.append({"label": "Signalé comme", "value": ", ".join(flags)})
    if documents:
        sent.append({"label": "Documents", "value": DOCUMENTS_TEXT})
    return {
        "type": "consent_request",
        "proposal": proposal_id,
        "title": "Transmettre un signalement",
        "text": "L'agent vous propose de transmettre un signalement au service de police ou de gendarmerie de "
                "votre secteur. Voici exactement ce qui sera envoyé. Vous pouvez refuser : la conversation "
                "continue alors de façon anonyme.",
        "sent": sent,
        "service": {"name": service.name, "address": service.address, "phone": service.phone},
        "why": WHY.format(force=FORCE_NAMES.get(service.force, service.force),
                          commune=conversation.commune_name),
        "consent_version": CONSENT_VERSION,
        "consent_text": consent_text(service, retention_days),
        "fields": FIELDS,
        # Each listed file is sent only if it is still ticked (``attachments``: the ids of the ticked ones).
        "documents": documents or [],
        "documents_hint": DOCUMENTS_HINT,
        "submit": {"method": "POST", "url": "/api/v1/signalements"},
        "refuse": {"method": "POST", "url": "/api/v1/signalements/refuse"},
    }


def evidence_card() -> dict[str, Any]:
    return {
        "kind": "evidence",
        "title": "Garder des preuves",
        "text": "Que vous portiez plainte maintenant ou plus tard, ces éléments aideront l'enquête.",
        "advice": EVIDENCE_ADVICE,
    }


def emergency_card() -> dict[str, Any]:
    return {
        "kind": "emergency",
        "title": "En cas de danger immédiat",
        "text": "Si vous êtes en danger maintenant, appelez le 17 ou le 112. Si vous ne pouvez pas parler, "
                "envoyez un SMS au 114 : il sera transmis à la police ou à la gendarmerie.",
        "items": [h.as_json() for h in routing.emergency_numbers()],
    }
