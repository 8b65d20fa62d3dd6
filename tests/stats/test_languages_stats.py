"""Statistics by the language of the visitor's pages: the dashboard's table, and open data with suppression."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

from operators.stats import figures, publication, tables
from operators.stats.period import Period
from operators.stats.records import TchatRecord

APRIL = Period(date(2026, 4, 1), date(2026, 4, 30))


def record(day: int, language: str) -> TchatRecord:
    start = datetime(2026, 4, day, 10, tzinfo=UTC)
    return TchatRecord(force="police", category="domestic_violence", subtype=None, department="75", status="closed",
                       emergency=False, minor=False, outcome="information_given", created_at=start,
                       taken_at=start + timedelta(minutes=2), first_reply_at=start + timedelta(minutes=3),
                       closed_at=start + timedelta(minutes=30), psychologist_joins=0, language=language)


def test_dashboard_counts_tchats_by_language() -> None:
    records = [record(3, "fr")] * 4 + [record(5, "ar")] * 2 + [record(7, "uk")]
    table = tables.languages(figures.compute(records, APRIL))
    assert dict((row[0], row[1]) for row in table.rows) == {
        "Français": 4, "Anglais": 0, "Arabe": 2, "Espagnol": 0, "Portugais": 0, "Ukrainien": 1, "Total": 7}


def test_open_data_by_language_never_shows_a_small_cell() -> None:
    """15 tchats in French and 3 in Arabic in April: the 3 cannot be published alone, and not as a difference
    either, so everything is published as one cell "toutes" (complementary suppression)."""
    tchats = [publication.open_tchat(r) for r in [record(3, "fr")] * 15 + [record(9, "ar")] * 3]
    rows = publication.language_rows(tchats, APRIL, 11)
    assert rows == [{"periode_type": "periode", "periode": APRIL.label(), "langue": "toutes", "nombre_tchats": "18"}]


def test_open_data_by_language_publishes_cells_of_the_threshold() -> None:
    tchats = [publication.open_tchat(r) for r in [record(3, "fr")] * 12 + [record(9, "ar")] * 11
              + [record(10, "en")] * 12]
    rows = publication.language_rows(tchats, APRIL, 11)
    assert {(r["periode"], r["langue"]): int(r["nombre_tchats"]) for r in rows} == {
        ("2026-04", "fr"): 12, ("2026-04", "ar"): 11, ("2026-04", "en"): 12}
    assert all(dataclasses.asdict(t)["language"] in ("fr", "ar", "en") for t in tchats)
