"""The French sentences of the operator console's error frames, by code."""

from __future__ import annotations

from typing import Any

ERRORS = {
    "not_signed_in": "Votre session a expiré ou a été fermée. Reconnectez-vous.",
    "forbidden": "Vous n'avez pas accès à cette conversation ou à cette action.",
    "unknown_conversation": "Cette conversation n'existe pas ou n'est plus disponible.",
    "already_taken": "Cette conversation vient d'être prise en charge par un·e collègue.",
    "conversation_closed": "Cette conversation est terminée : elle n'accepte plus de messages.",
    "invalid_outcome": "Choisissez l'issue de la conversation avant de la clôturer.",
    "invalid_target": "Le destinataire du transfert est introuvable ou ne peut pas recevoir cette conversation.",
    "psychologist_unavailable": "Aucune psychologue n'est présente en ce moment. {when}",
    "invitation_pending": "Une psychologue a déjà été proposée pour cette conversation il y a moins de 10 minutes : "
                          "attendez la réponse.",
    "invitation_gone": "Cette invitation a déjà été acceptée par une collègue ou annulée.",
    "rate_limited": "Trop d'actions en peu de temps : patientez quelques secondes.",
    "unknown_frame": "Cette action n'est pas reconnue. Rechargez la page si le problème continue.",
    "invalid_field": "Une information envoyée est incorrecte. Rechargez la page si le problème continue.",
    "internal": "Une erreur est survenue de notre côté. Réessayez dans un instant.",
    "at_capacity": "Vous menez déjà autant de tchats que votre capacité le permet ({capacity}) : terminez-en un avant "
                   "d'en prendre un autre.",
    "target_at_capacity": "Ce ou cette collègue mène déjà autant de tchats que sa capacité le permet.",
    "offer_mode": "Dans ce mode, les tchats sont proposés à tour de rôle : acceptez celui qui vous est proposé.",
    "offer_gone": "Cette proposition n'est plus valable (délai dépassé ou la personne est partie).",
    "storage_unavailable": "Le service est momentanément surchargé. La console se reconnecte toute seule dans "
                           "quelques secondes.",
}


def error_frame(code: str, conversation: str | None = None, **fmt: Any) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", "code": code, "message": ERRORS[code].format(**fmt).strip()}
    if conversation is not None:
        frame["conversation"] = conversation
    return frame
