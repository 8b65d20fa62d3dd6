"""French labels of what the statistics count: categories, forces, outcomes, category-3 subtypes, signalements.

The outcome and subtype labels are also the ones the console offers when closing a tchat and shows afterwards
(``pnav/templates/operators/console.html`` renders them, ``console.js`` reads them back from the page): one
source, so an operator and a supervisor read the same words."""

from __future__ import annotations

CATEGORY_LABELS = {
    "sexual_violence": "Violences sexuelles et sexistes",
    "domestic_violence": "Violences conjugales",
    "discrimination_hate": "Discriminations et faits de haine",
}
FORCE_LABELS = {"police": "Police nationale", "gendarmerie": "Gendarmerie nationale"}
# Nouns, not participles: the same words read right after « Issue : » in the console and as a column heading.
OUTCOME_LABELS = {
    "complaint_oriented": "Orientation vers un service d'enquête (plainte)",
    "association_oriented": "Orientation vers une association",
    "information_given": "Information donnée",
    "witness_informed": "Témoin informé",
    "visitor_left": "La personne est partie",
    "other": "Autre",
}
# The two outcomes the service counts as "oriented": towards an investigation service or an association.
ORIENTED = ("complaint_oriented", "association_oriented")

# Optional subtype chosen at close for category 3 (discriminations et faits de haine); None means "not given".
SUBTYPE_CATEGORY = "discrimination_hate"
SUBTYPES = ("cyber_harassment", "cybersexism", "online_hate", "discrimination")
SUBTYPE_LABELS = {
    "cyber_harassment": "Cyberharcèlement",
    "cybersexism": "Cybersexisme",
    "online_hate": "Haine en ligne",
    "discrimination": "Discrimination",
}
NO_SUBTYPE_LABEL = "Non précisé"

# Statuses a signalement may reach at the local service; an unknown status is shown as stored.
SIGNALEMENT_STATUS_LABELS = {
    "transmitted": "Transmis au service local",
    "acknowledged": "Pris en compte par le service",
    "unreachable": "Personne injoignable",
    "contact_made": "Personne contactée",
    "appointment_given": "Rendez-vous donné",
    "complaint_filed": "Plainte déposée",
    "closed": "Clos",
}


def subtype_label(subtype: str | None) -> str:
    return SUBTYPE_LABELS.get(subtype or "", NO_SUBTYPE_LABEL)


def valid_subtype(category: str, subtype: object) -> str | None:
    """The subtype to store at close: only for category 3 and one of SUBTYPES; anything else is None."""
    if category == SUBTYPE_CATEGORY and isinstance(subtype, str) and subtype in SUBTYPES:
        return subtype
    return None
