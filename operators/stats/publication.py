"""What the open data publishes: French codes for each dimension, the merge levels, and the protected rows.

Two files, both partitions protected by ``disclosure.protect``:
- tchats: number of tchats per ISO week × département × catégorie (× sous-type) × issue, merged upward
  (département → région → national, then semaine → mois → période, then sous-type, then issue, then catégorie);
- attentes: median and 90th percentile of the wait to the first answer, per week × département × catégorie merged
  the same way, published only for groups of at least the threshold, and without their size (no count at all).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from operators.stats.disclosure import Cell, Key, protect
from operators.stats.figures import median, percentile
from operators.stats.labels import SUBTYPE_CATEGORY
from operators.stats.period import Period, local_day
from operators.stats.records import TchatRecord
from operators.stats.regions import REGION_NAMES, UNLOCATED, region_of

DEFAULT_THRESHOLD = 11
CATEGORY_CODES = {
    "sexual_violence": "violences_sexuelles_sexistes",
    "domestic_violence": "violences_conjugales",
    "discrimination_hate": "discriminations_haine",
}
SUBTYPE_CODES = {
    "cyber_harassment": "cyberharcelement",
    "cybersexism": "cybersexisme",
    "online_hate": "haine_en_ligne",
    "discrimination": "discrimination",
}
NO_SUBTYPE, NOT_APPLICABLE = "non_precise", "sans_objet"
OUTCOME_CODES = {
    "complaint_oriented": "orientation_service_enquete",
    "association_oriented": "orientation_association",
    "information_given": "information_donnee",
    "witness_informed": "temoin_informe",
    "visitor_left": "personne_partie",
    "other": "autre",
}
LEFT_BEFORE_ANSWER, NOT_RECORDED = "depart_avant_prise_en_charge", "non_renseignee"
ALL_F, ALL_M = "toutes", "tous"  # "toutes" catégories / issues (feminine), "tous" sous-types (masculine)
NATIONAL = "FR"

LANGUAGE_FIELDS = ("periode_type", "periode", "langue", "nombre_tchats")
COUNT_FIELDS = ("periode_type", "periode", "niveau_geo", "code_geo", "libelle_geo", "categorie", "sous_type",
                "issue", "nombre_tchats")
WAIT_FIELDS = ("periode_type", "periode", "niveau_geo", "code_geo", "libelle_geo", "categorie",
               "attente_mediane_secondes", "attente_p90_secondes")


@dataclass(frozen=True)
class OpenTchat:
    """A tchat reduced to what the open data may show about it."""

    day: date
    department: str
    category: str
    subtype: str
    outcome: str
    wait_seconds: float | None
    language: str = "fr"


def outcome_code(record: TchatRecord) -> str:
    if record.outcome in OUTCOME_CODES:
        return OUTCOME_CODES[record.outcome]
    return LEFT_BEFORE_ANSWER if record.abandoned_in_queue else NOT_RECORDED


def open_tchat(record: TchatRecord) -> OpenTchat:
    if record.category == SUBTYPE_CATEGORY:
        subtype = SUBTYPE_CODES.get(record.subtype or "", NO_SUBTYPE)
    else:
        subtype = NOT_APPLICABLE
    return OpenTchat(local_day(record.created_at), record.department or UNLOCATED,
                     CATEGORY_CODES.get(record.category, record.category), subtype, outcome_code(record),
                     record.wait_seconds, record.language)


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def month(day: date) -> str:
    return f"{day.year}-{day.month:02d}"


def _places(t: OpenTchat, period: Period) -> list[tuple[str, str, str, str]]:
    """(periode_type, periode, niveau_geo, code_geo) from the finest to the coarsest."""
    week, label = iso_week(t.day), period.label()
    return [("semaine", week, "departement", t.department), ("semaine", week, "region", region_of(t.department)),
            ("semaine", week, "national", NATIONAL), ("mois", month(t.day), "national", NATIONAL),
            ("periode", label, "national", NATIONAL)]


def count_levels(period: Period) -> list[Callable[[OpenTchat], Key]]:
    def place(n: int) -> Callable[[OpenTchat], Key]:
        return lambda t: (*_places(t, period)[n], t.category, t.subtype, t.outcome)

    def merged_subtype(t: OpenTchat) -> str:
        return ALL_M if t.subtype != NOT_APPLICABLE else NOT_APPLICABLE

    coarsest = ("periode", period.label(), "national", NATIONAL)
    return [
        *(place(n) for n in range(5)),
        lambda t: (*coarsest, t.category, merged_subtype(t), t.outcome),
        lambda t: (*coarsest, t.category, merged_subtype(t), ALL_F),
        lambda t: (*coarsest, ALL_F, ALL_M, ALL_F),
    ]


def wait_levels(period: Period) -> list[Callable[[OpenTchat], Key]]:
    def place(n: int) -> Callable[[OpenTchat], Key]:
        return lambda t: (*_places(t, period)[n], t.category)

    return [*(place(n) for n in range(5)), lambda t: ("periode", period.label(), "national", NATIONAL, ALL_F)]


def geo_label(level: str, code: str) -> str:
    if level == "region":
        return REGION_NAMES.get(code, code)
    if level == "national":
        return "France entière"
    return REGION_NAMES[UNLOCATED] if code == UNLOCATED else ""


def count_cells(tchats: Sequence[OpenTchat], period: Period, threshold: int) -> list[Cell]:
    return protect(tchats, count_levels(period), threshold)


def count_rows(tchats: Sequence[OpenTchat], period: Period, threshold: int) -> list[dict[str, str]]:
    rows = []
    for cell in count_cells(tchats, period, threshold):
        kind, when, level, code, category, subtype, outcome = cell.key
        rows.append(dict(zip(COUNT_FIELDS, (kind, when, level, code, geo_label(level, code), category, subtype,
                                            outcome, str(cell.count)), strict=True)))
    return rows


def language_levels(period: Period) -> list[Callable[[OpenTchat], Key]]:
    """By month and language, then over the whole period by language, then every language together."""
    label = period.label()
    return [lambda t: ("mois", month(t.day), t.language), lambda t: ("periode", label, t.language),
            lambda t: ("periode", label, ALL_F)]


def language_rows(tchats: Sequence[OpenTchat], period: Period, threshold: int) -> list[dict[str, str]]:
    """Tchats by the language of the visitor's pages, with the same protection as tchats.csv (cells ≥ threshold,
    a small language merged upward into "toutes", never a total beside them)."""
    return [dict(zip(LANGUAGE_FIELDS, (*cell.key, str(cell.count)), strict=True))
            for cell in protect(tchats, language_levels(period), threshold)]


def wait_rows(tchats: Sequence[OpenTchat], period: Period, threshold: int) -> list[dict[str, str]]:
    answered = [t for t in tchats if t.wait_seconds is not None]
    rows = []
    # Only order statistics are published here, never a count: nothing to fold, a small rest is simply left out.
    for cell in protect(answered, wait_levels(period), threshold, complement=False):
        waits = [answered[i].wait_seconds or 0.0 for i in cell.members]
        kind, when, level, code, category = cell.key
        rows.append(dict(zip(WAIT_FIELDS, (kind, when, level, code, geo_label(level, code), category,
                                           str(round(median(waits) or 0)), str(round(percentile(waits, 90) or 0))),
                             strict=True)))
    return rows
