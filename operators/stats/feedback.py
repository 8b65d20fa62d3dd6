"""Visitors' anonymous feedback in the statistics: the distribution of the scale per force and category (table,
chart, CSV), the free texts a supervisor reads (audited), and the open-data file with small-cell protection."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat.models import Feedback
from operators.stats.disclosure import Key, protect
from operators.stats.labels import CATEGORY_LABELS, FORCE_LABELS
from operators.stats.period import Period
from operators.stats.tables import Column, Table

# The question on the end page: « Cet échange vous a-t-il aidé·e ? »
SCORE_LABELS = {1: "Pas du tout", 2: "Plutôt non", 3: "Un peu", 4: "Plutôt oui", 5: "Tout à fait"}
HELPED = (4, 5)
# Free texts shown at once on the page: a month of a busy force; a longer period is narrowed by the dates.
MAX_COMMENTS = 500


@dataclass(frozen=True)
class Answer:
    force: str
    category: str
    day: date
    score: int
    comment: str | None = None


async def load(sessions: async_sessionmaker[AsyncSession], period: Period, force: str | None = None, *,
               comments: bool = False) -> list[Answer]:
    """The answers of the period (days of the tchats' ends), of one force or all; with their free text if asked."""
    query = select(Feedback.force, Feedback.category, Feedback.day, Feedback.score, Feedback.comment).where(
        Feedback.day >= period.first, Feedback.day <= period.last)
    if force is not None:
        query = query.where(Feedback.force == force)
    if comments:
        query = query.where(Feedback.comment.is_not(None)).order_by(Feedback.day.desc(), Feedback.category)
        query = query.limit(MAX_COMMENTS)
    async with sessions() as session:
        rows = (await session.execute(query)).all()
    # Counting never carries the free texts along: they stay in the database unless a reader asked.
    return [Answer(r[0], r[1], r[2], int(r[3]), r[4] if comments else None) for r in rows]


def _share_helped(scores: Counter[int]) -> float | None:
    total = sum(scores.values())
    return sum(scores[s] for s in HELPED) / total if total else None


def distribution(answers: Sequence[Answer]) -> Table:
    table = Table("avis", "Avis des personnes : « Cet échange vous a-t-il aidé·e ? »", [
        Column("Force", "text"), Column("Catégorie", "text"), *(Column(label) for label in SCORE_LABELS.values()),
        Column("Avis reçus"), Column("Part « plutôt oui » ou « tout à fait »", "share"),
    ], total_rows=1, note="Avis facultatifs et anonymes donnés en fin de tchat, comptés au jour de la fin du tchat.")
    slices: dict[tuple[str, str], Counter[int]] = {}
    total: Counter[int] = Counter()
    for answer in answers:
        slices.setdefault((answer.force, answer.category), Counter())[answer.score] += 1
        total[answer.score] += 1
    for (force, category), scores in sorted(slices.items()):
        table.rows.append([FORCE_LABELS.get(force, force), CATEGORY_LABELS.get(category, category),
                           *(scores[s] for s in SCORE_LABELS), sum(scores.values()), _share_helped(scores)])
    table.rows.append(["Toutes", "Toutes", *(total[s] for s in SCORE_LABELS), sum(total.values()),
                       _share_helped(total)])
    return table


def split(answers: Sequence[Answer]) -> Table:
    """The scale over the whole scope: the rows of the chart."""
    scores = Counter(a.score for a in answers)
    total = sum(scores.values())
    table = Table("repartition-avis", "Répartition des avis", [
        Column("Réponse", "text"), Column("Avis"), Column("Part", "share")])
    for score, label in SCORE_LABELS.items():
        table.rows.append([label, scores[score], scores[score] / total if total else None])
    return table


# ---- open data ------------------------------------------------------------------------------------------------

FEEDBACK_FIELDS = ("periode_type", "periode", "categorie", "note", "nombre_avis")
ALL = "toutes"


def feedback_levels(period: Period, category_code: Callable[[str], str]) -> list[Callable[[Answer], Key]]:
    """Finest to coarsest: week → month → period, then every category, then every score (the catch-all)."""
    from operators.stats.publication import iso_week, month

    label = period.label()
    return [
        lambda a: ("semaine", iso_week(a.day), category_code(a.category), str(a.score)),
        lambda a: ("mois", month(a.day), category_code(a.category), str(a.score)),
        lambda a: ("periode", label, category_code(a.category), str(a.score)),
        lambda a: ("periode", label, ALL, str(a.score)),
        lambda a: ("periode", label, ALL, ALL),
    ]


def feedback_rows(answers: Sequence[Answer], period: Period, threshold: int) -> list[dict[str, str]]:
    """Counts of answers per score, protected like the tchat counts: each answer in one row of ≥ threshold."""
    from operators.stats.publication import CATEGORY_CODES

    cells = protect(answers, feedback_levels(period, lambda c: CATEGORY_CODES.get(c, c)), threshold)
    return [dict(zip(FEEDBACK_FIELDS, (*cell.key, str(cell.count)), strict=True)) for cell in cells]
