"""The dashboard's tables (French headers), each also exported as CSV and used as the text of its chart."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Literal

from operators.stats.attachments import KINDS, AttachmentCounts
from operators.stats.figures import WAIT_BUCKETS, Figures, Group, median, percentile
from operators.stats.labels import (
    CATEGORY_LABELS,
    FORCE_LABELS,
    NO_SUBTYPE_LABEL,
    OUTCOME_LABELS,
    SIGNALEMENT_STATUS_LABELS,
    SUBTYPE_LABELS,
    SUBTYPES,
)
from operators.stats.signalements import Progress

Kind = Literal["text", "count", "share", "seconds"]
Cell = str | int | float | None


@dataclass(frozen=True)
class Column:
    label: str
    kind: Kind = "count"


@dataclass
class Table:
    key: str
    title: str
    columns: list[Column]
    rows: list[list[Cell]] = field(default_factory=list)
    # Rows that sum the others, shown in bold and kept last.
    total_rows: int = 0
    note: str = ""


def _slice_columns() -> list[Column]:
    return [Column("Force", "text"), Column("Catégorie", "text")]


# The "force" of a tchat started sans localisation that no operator took before it ended.
UNLOCATED_LABEL = "Sans localisation, jamais pris en charge"


def _slices(figures: Figures) -> list[tuple[str, str, Group]]:
    rows = [(FORCE_LABELS.get(f, f) or UNLOCATED_LABEL, CATEGORY_LABELS.get(c, c), g)
            for (f, c), g in figures.by_slice.items()]
    return [*rows, ("Toutes", "Toutes", figures.total)]


def volumes(figures: Figures) -> Table:
    table = Table("volumes", "Volumes par force et par catégorie", [
        *_slice_columns(), Column("Tchats commencés"), Column("Tchats ayant reçu une réponse"),
        Column("Taux de réponse", "share"), Column("Départs avant toute prise en charge"), Column("Urgences"),
        Column("Mineurs concernés"), Column("Tchats avec un·e psychologue"), Column("Interventions de psychologue"),
    ], total_rows=1)
    for force, category, g in _slices(figures):
        table.rows.append([force, category, g.started, g.answered, g.answer_rate, g.abandoned_in_queue,
                           g.emergencies, g.minors, g.with_psychologist, g.psychologist_joins])
    return table


def waits(figures: Figures) -> Table:
    table = Table("attentes", "Attente avant la première réponse et durée des tchats", [
        *_slice_columns(), Column("Tchats ayant reçu une réponse"), Column("Attente médiane", "seconds"),
        Column("Attente dépassée par 1 tchat sur 10 (90e centile)", "seconds"),
        Column("Durée médiane", "seconds"), Column("Durée dépassée par 1 tchat sur 10 (90e centile)", "seconds"),
    ], total_rows=1, note="L'attente court de l'arrivée de la personne au premier message d'un·e opérateur·rice ; "
                         "la durée, de la prise en charge à la fin du tchat.")
    for force, category, g in _slices(figures):
        table.rows.append([force, category, len(g.waits), median(g.waits), percentile(g.waits, 90),
                           median(g.durations), percentile(g.durations, 90)])
    return table


def outcomes(figures: Figures) -> Table:
    table = Table("issues", "Issues des tchats par force et par catégorie", [
        *_slice_columns(), *(Column(label) for label in OUTCOME_LABELS.values()), Column("Tchats avec une issue"),
        Column("Part orientée vers un service d'enquête", "share"), Column("Part orientée vers une association",
                                                                           "share"),
        Column("Part orientée (enquête ou association)", "share"),
    ], total_rows=1, note="Les parts sont calculées sur les tchats dont l'issue a été renseignée à la clôture.")
    for force, category, g in _slices(figures):
        table.rows.append([force, category, *(g.outcomes[o] for o in OUTCOME_LABELS), g.with_outcome,
                           g.share(("complaint_oriented",)), g.share(("association_oriented",)), g.oriented_share])
    return table


def outcome_split(figures: Figures) -> Table:
    g = figures.total
    table = Table("repartition-issues", "Répartition des issues", [
        Column("Issue", "text"), Column("Tchats"), Column("Part", "share"),
    ])
    for outcome, label in OUTCOME_LABELS.items():
        table.rows.append([label, g.outcomes[outcome], g.share((outcome,))])
    return table


def daily(figures: Figures) -> Table:
    table = Table("jours", "Tchats par jour", [
        Column("Jour", "text"), Column("Tchats commencés"), Column("Tchats ayant reçu une réponse"),
        Column("Départs avant toute prise en charge"),
    ])
    for day, d in sorted(figures.days.items()):
        table.rows.append([day.isoformat(), d.started, d.answered, d.abandoned_in_queue])
    return table


def bucket_labels(*, short: bool = False) -> list[str]:
    """"de 1 min à 2 min" for tables; "1–2 min" under the bars of a chart."""
    minutes = [seconds // 60 for seconds in WAIT_BUCKETS]
    if short:
        return [f"< {minutes[0]} min", *(f"{a}–{b} min" for a, b in itertools.pairwise(minutes)),
                f"≥ {minutes[-1]} min"]
    return [f"moins de {minutes[0]} min", *(f"de {a} min à {b} min" for a, b in itertools.pairwise(minutes)),
            f"{minutes[-1]} min ou plus"]


def wait_distribution(figures: Figures) -> Table:
    table = Table("distribution-attentes", "Répartition des attentes avant la première réponse", [
        Column("Attente", "text"), Column("Tchats"),
    ])
    for label, count in zip(bucket_labels(), figures.wait_histogram, strict=True):
        table.rows.append([label, count])
    return table


def subtypes(figures: Figures) -> Table:
    table = Table("sous-types", "Discriminations et faits de haine : sous-types", [
        Column("Sous-type", "text"), Column("Tchats"),
    ], note="Sous-type choisi à la clôture ; « non précisé » quand il n'a pas été renseigné.")
    for subtype in SUBTYPES:
        table.rows.append([SUBTYPE_LABELS[subtype], figures.subtypes[subtype]])
    table.rows.append([NO_SUBTYPE_LABEL, sum(n for s, n in figures.subtypes.items() if s not in SUBTYPES)])
    return table


LANGUAGE_LABELS = {"fr": "Français", "en": "Anglais", "ar": "Arabe", "es": "Espagnol", "pt": "Portugais",
                   "uk": "Ukrainien"}


def languages(figures: Figures) -> Table:
    table = Table("langues", "Tchats par langue des pages du visiteur", [
        Column("Langue", "text"), Column("Tchats"),
    ], total_rows=1, note="Langue choisie par la personne (ou celle de son navigateur) au début du tchat.")
    for code, label in LANGUAGE_LABELS.items():
        table.rows.append([label, figures.languages[code]])
    table.rows.append(["Total", sum(figures.languages.values())])
    return table


def signalements(found: Progress | None) -> Table:
    table = Table("signalements", "Signalements transmis et suites données", [
        Column("Étape", "text"), Column("Signalements ayant atteint cette étape"),
        Column("Signalements actuellement à cette étape"),
    ], total_rows=1, note="Signalements issus des tchats commencés sur la période, avec le consentement de la "
                         "personne.")
    if found is None:
        table.note = "Les signalements ne sont pas disponibles dans cette version."
        return table
    steps = [*found.steps, *sorted(set(found.current) - set(found.steps))]
    for step in steps:
        table.rows.append([SIGNALEMENT_STATUS_LABELS.get(step, step), found.reached[step] if found.reached else None,
                           found.current[step]])
    table.rows.append(["Total transmis", found.total, found.total])
    return table


ATTACHMENT_KINDS = {"image": "Captures d'écran et photos", "pdf": "Documents PDF"}


def attachments(found: AttachmentCounts | None) -> Table:
    table = Table("pieces-jointes", "Pièces jointes reçues et transmises", [
        Column("Type de fichier", "text"), Column("Déposées dans le tchat"), Column("Ajoutées depuis le suivi"),
        Column("Transmises à un service local"),
    ], total_rows=1, note="Fichiers des tchats commencés sur la période ; « transmises » : jointes à un signalement "
                         "avec l'accord de la personne. Aucun contenu n'est compté, seulement les fichiers.")
    found = found or AttachmentCounts()
    for kind in KINDS:
        table.rows.append([ATTACHMENT_KINDS[kind], found.received[(kind, "tchat")], found.received[(kind, "followup")],
                           found.transmitted[kind] if found.transmitted is not None else None])
    transmitted = sum(found.transmitted.values()) if found.transmitted is not None else None
    table.rows.append(["Total", sum(n for (_, s), n in found.received.items() if s == "tchat"),
                       sum(n for (_, s), n in found.received.items() if s == "followup"), transmitted])
    return table


def all_tables(figures: Figures, signalement_counts: Progress | None,
               attachment_counts: AttachmentCounts | None = None) -> dict[str, Table]:
    tables = [volumes(figures), waits(figures), outcomes(figures), outcome_split(figures), daily(figures),
              wait_distribution(figures), subtypes(figures), languages(figures), signalements(signalement_counts),
              attachments(attachment_counts)]
    return {table.key: table for table in tables}


TABLE_KEYS = ("volumes", "attentes", "issues", "repartition-issues", "jours", "distribution-attentes", "sous-types",
              "langues", "signalements", "pieces-jointes")
