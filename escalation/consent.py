"""What the visitor reads before lifting their anonymity: the consent form frame, its versioned text, and the
cards posted around it (evidence keeping, emergency numbers).

The visitor reads them in the tchat's language (``conversations.language``; the strings are in the ``messages``
catalogue, ``make messages``). The consent text itself stays French in ``consent_text``: it is the reference, the
one ``CONSENT_VERSION`` names and the one stored with the signalement. In another language the frame adds
``language``, ``consent_reference`` (a header saying that the French text is the reference) and
``consent_translation``; a French tchat gets exactly the frame it always got."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import routing
from chat import languages
from chat.languages import N_
from chat.store import ConversationRow

# Bump when the wording below changes: each signalement stores the version its author agreed to.
CONSENT_VERSION = "2026-11-v1"

CATEGORY_LABELS = {
    "sexual_violence": N_("Violences sexuelles et sexistes"),
    "domestic_violence": N_("Violences conjugales"),
    "discrimination_hate": N_("Discriminations, haine, cyber-harcèlement"),
}

CONSENT_TEXT = N_(
    "J'accepte que le résumé des faits, le type de violences, la commune et les coordonnées que j'indique soient "
    "transmis à : {service}. Je lève ainsi mon anonymat auprès de ce service seulement, pour qu'il me contacte et "
    "m'accompagne, notamment pour déposer plainte. Mes coordonnées sont conservées chiffrées et effacées "
    "{days} jours après la clôture du signalement. Je peux refuser et continuer la conversation de façon anonyme."
)

WHY = N_(
    "Ce service de {force} est compétent pour la commune que vous avez indiquée ({commune}). Il pourra vous "
    "recontacter, vous proposer un rendez-vous pour déposer plainte et vous tenir informé·e des suites. "
    "Vous recevrez un code de suivi pour voir, sans donner votre nom, ce qu'il advient de votre signalement."
)

FORCE_NAMES = {"police": N_("la police nationale"), "gendarmerie": N_("la gendarmerie nationale")}

FIELDS: list[dict[str, Any]] = [
    {"name": "name", "label": N_("Nom ou pseudonyme"), "type": "text", "required": True, "max_length": 100,
     "hint": N_("Le nom sous lequel le service vous demandera au téléphone.")},
    {"name": "phone", "label": N_("Téléphone"), "type": "tel", "required": False, "max_length": 30,
     "hint": N_("Indiquez un téléphone, une adresse électronique, ou les deux.")},
    {"name": "email", "label": N_("Adresse électronique"), "type": "email", "required": False, "max_length": 200},
    {"name": "preferred_times", "label": N_("Quand pouvons-nous vous joindre ?"), "type": "text", "required": False,
     "max_length": 200, "hint": N_("Par exemple : en semaine après 18 h, jamais le week-end.")},
    {"name": "leave_message", "label": N_("On peut vous laisser un message (répondeur, SMS, courriel)"),
     "type": "checkbox", "required": False},
    {"name": "consent", "label": N_("J'ai lu ce qui sera transmis et j'accepte de lever mon anonymat auprès de "
                                    "ce service"), "type": "checkbox", "required": True},
]

EVIDENCE_ADVICE = [
    N_("Faites des captures d'écran où l'on voit la date, l'heure et l'auteur (profil, numéro de téléphone)."),
    N_("Notez les adresses (liens) des pages, des publications et des profils en cause."),
    N_("Gardez les messages, SMS, courriels et messages vocaux : ne les supprimez pas, même s'ils sont pénibles."),
    N_("Conservez les certificats médicaux, les arrêts de travail et les photos de blessures, avec leur date."),
    N_("Notez le nom et les coordonnées des témoins, et écrivez ce qui s'est passé tant que c'est frais."),
    N_("Rangez tout dans un endroit que l'auteur ne peut pas consulter (par exemple chez une personne de confiance)."),
]


def service_label(service: routing.LocalService) -> str:
    return f"{service.name}, {service.address}" if service.address else service.name


def consent_text(service: routing.LocalService, retention_days: int) -> str:
    return CONSENT_TEXT.format(service=service_label(service), days=retention_days)


DOCUMENTS_TEXT = N_("Les originaux, tels que vous les avez envoyés, de ceux que vous cochez ci-dessous : le service "
                    "pourra les télécharger, et leur empreinte correspondra à votre reçu.")
DOCUMENTS_HINT = N_("Décochez ceux que vous ne voulez pas transmettre. Ils restent alors sous scellés, sans être "
                    "transmis.")
# The header of the consent text in another language: the translation helps, the French text is what is agreed to.
CONSENT_REFERENCE = N_("Voici une traduction pour vous aider. Le texte en français, en dessous, est la version qui "
                       "fait foi : c'est lui que vous acceptez.")
TITLE = N_("Transmettre un signalement")
TEXT = N_("L'agent vous propose de transmettre un signalement au service de police ou de gendarmerie de votre "
          "secteur. Voici exactement ce qui sera envoyé. Vous pouvez refuser : la conversation continue alors de "
          "façon anonyme.")
EVIDENCE_TITLE = N_("Garder des preuves")
EVIDENCE_TEXT = N_("Que vous portiez plainte maintenant ou plus tard, ces éléments aideront l'enquête.")
EMERGENCY_TITLE = N_("En cas de danger immédiat")
EMERGENCY_TEXT = N_("Si vous êtes en danger maintenant, appelez le 17 ou le 112. Si vous ne pouvez pas parler, "
                    "envoyez un SMS au 114 : il sera transmis à la police ou à la gendarmerie.")


def translator(language: str) -> Callable[[str], str]:
    """The gettext of the tchat's language (French, or a language pnav does not speak: the text itself)."""
    return languages.translations(language).gettext


def fields(language: str) -> list[dict[str, Any]]:
    _ = translator(language)
    return [{key: _(value) if key in ("label", "hint") else value for key, value in spec.items()} for spec in FIELDS]


def consent_request(proposal_id: str, conversation: ConversationRow, summary: str, service: routing.LocalService,
                    retention_days: int, documents: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The frame the visitor's page draws as a consent form: exactly what is sent, to whom, why, and the fields,
    in the tchat's language, with the French consent text as the reference.
    ``documents``: the files attached in the tchat, each of which the visitor may untick."""
    language = conversation.language
    _ = translator(language)
    flags = [_(label) for on, label in ((conversation.emergency, N_("Situation d'urgence")),
                                        (conversation.minor, N_("Concerne une personne mineure"))) if on]
    category = CATEGORY_LABELS.get(conversation.category)
    sent = [
        {"label": _(N_("Résumé des faits")), "value": summary},
        {"label": _(N_("Type de violences")), "value": _(category) if category else conversation.category},
        {"label": _(N_("Commune")), "value": f"{conversation.commune_name} ({conversation.department})"},
        {"label": _(N_("Vos coordonnées")), "value": _(N_("Celles que vous indiquez ci-dessous."))},
    ]
    if flags:
        sent.append({"label": _(N_("Signalé comme")), "value": ", ".join(flags)})
    if documents:
        sent.append({"label": _(N_("Documents")), "value": _(DOCUMENTS_TEXT)})
    force = FORCE_NAMES.get(service.force)
    frame: dict[str, Any] = {
        "type": "consent_request",
        "proposal": proposal_id,
        "title": _(TITLE),
        "text": _(TEXT),
        "sent": sent,
        "service": {"name": service.name, "address": service.address, "phone": service.phone},
        "why": _(WHY).format(force=_(force) if force else service.force, commune=conversation.commune_name),
        "consent_version": CONSENT_VERSION,
        "consent_text": consent_text(service, retention_days),
        "fields": fields(language),
        # Each listed file is sent only if it is still ticked (``attachments``: the ids of the ticked ones).
        "documents": documents or [],
        "documents_hint": _(DOCUMENTS_HINT),
        "submit": {"method": "POST", "url": "/api/v1/signalements"},
        "refuse": {"method": "POST", "url": "/api/v1/signalements/refuse"},
    }
    translation = _(CONSENT_TEXT)
    if translation != CONSENT_TEXT:
        # ``consent_text`` stays the French reference; the visitor also reads it in their language, under a header
        # that says the French is what they agree to.
        frame["language"] = language
        frame["consent_reference"] = _(CONSENT_REFERENCE)
        frame["consent_translation"] = translation.format(service=service_label(service), days=retention_days)
    return frame


def evidence_card(language: str = languages.SOURCE) -> dict[str, Any]:
    _ = translator(language)
    return {
        "kind": "evidence",
        "title": _(EVIDENCE_TITLE),
        "text": _(EVIDENCE_TEXT),
        "advice": [_(tip) for tip in EVIDENCE_ADVICE],
    }


def emergency_card(language: str = languages.SOURCE) -> dict[str, Any]:
    _ = translator(language)
    return {
        "kind": "emergency",
        "title": _(EMERGENCY_TITLE),
        "text": _(EMERGENCY_TEXT),
        "items": [h.as_json() for h in routing.emergency_numbers()],
    }
