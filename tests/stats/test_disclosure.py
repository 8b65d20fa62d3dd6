"""Open data: no published count under the threshold, and no hidden small cell recoverable from what is published."""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from datetime import date, timedelta

import pytest

from operators.stats import publication
from operators.stats.disclosure import protect
from operators.stats.period import Period, local_day
from operators.stats.publication import OpenTchat
from operators.stats.records import TchatRecord
from operators.stats.regions import REGION_OF
from tests.stats.month import generate

APRIL = Period(date(2026, 4, 1), date(2026, 4, 30))
K = 11


def april_tchats() -> list[OpenTchat]:
    tchats = []
    for t in generate():
        record = TchatRecord(t.force, t.category, t.subtype, t.department, t.status, t.emergency, t.minor, t.outcome,
                             t.created_at, t.taken_at, t.first_reply_at, t.closed_at, t.psychologist_joins)
        if local_day(t.created_at).month == 4:
            tchats.append(publication.open_tchat(record))
    return tchats


def fine(t: OpenTchat) -> tuple[str, ...]:
    """The most detailed cell a tchat belongs to: what an attacker would like to learn the size of."""
    return (publication.iso_week(t.day), t.department, t.category, t.subtype, t.outcome)


def published(tchats: list[OpenTchat]) -> list[tuple[int, tuple[str, ...], int]]:
    return [(c.level, c.key, c.count) for c in publication.count_cells(tchats, APRIL, K)]


def test_every_published_count_reaches_the_threshold_and_each_tchat_counts_once() -> None:
    """All counts are ≥ 11, the cells are disjoint and together hold every tchat of the month."""
    tchats = april_tchats()
    cells = publication.count_cells(tchats, APRIL, K)
    assert cells and min(c.count for c in cells) >= K
    members = [i for c in cells for i in c.members]
    assert sorted(members) == list(range(len(tchats)))
    rows = publication.count_rows(tchats, APRIL, K)
    assert all(int(r["nombre_tchats"]) >= K for r in rows)
    levels = Counter(r["niveau_geo"] for r in rows)
    assert levels["departement"] and levels["region"] and levels["national"]
    small = Counter(fine(t) for t in tchats)
    assert any(0 < n < K for n in small.values()), "the month must contain small cells to protect"


def _alternatives(t: OpenTchat) -> list[OpenTchat]:
    """The same tchat moved to another département, another day, another subtype or outcome."""
    moves = [dataclasses.replace(t, department=d) for d in sorted(REGION_OF) if d != t.department]
    moves += [dataclasses.replace(t, day=t.day + timedelta(days=n)) for n in (-6, -3, -1, 1, 3, 6)
              if APRIL.first <= t.day + timedelta(days=n) <= APRIL.last]
    if t.subtype != publication.NOT_APPLICABLE:
        moves += [dataclasses.replace(t, subtype=s) for s in (*publication.SUBTYPE_CODES.values(),
                                                             publication.NO_SUBTYPE) if s != t.subtype]
    moves += [dataclasses.replace(t, outcome=o) for o in publication.OUTCOME_CODES.values() if o != t.outcome]
    return moves


def test_no_small_cell_can_be_recovered_from_the_published_rows() -> None:
    """For every small cell, another month with that cell one smaller publishes exactly the same rows.

    If two different inputs give identical published files, no subtraction (or any other computation) on the
    files can tell which one happened: the small cell's size is not recoverable.
    """
    tchats = april_tchats()
    reference = published(tchats)
    cells = Counter(fine(t) for t in tchats)
    small = [key for key, n in cells.items() if 0 < n < K]
    rng = random.Random(7)
    checked = 0
    for key in rng.sample(small, min(60, len(small))):
        index = next(i for i, t in enumerate(tchats) if fine(t) == key)
        for moved in _alternatives(tchats[index]):
            other = [*tchats[:index], moved, *tchats[index + 1:]]
            if published(other) == reference:
                assert Counter(fine(t) for t in other)[key] == cells[key] - 1
                checked += 1
                break
        else:
            pytest.fail(f"the size of cell {key} is determined by the published rows")
    assert checked >= 30


def test_a_rest_below_the_threshold_is_folded_not_dropped() -> None:
    """When the leftover of the coarsest level is small, small published cells join it (complementary suppression)."""
    items = ["a"] * 12 + ["b"] * 11 + ["c"] * 3
    cells = protect(items, [lambda x: (x,), lambda x: ("all",)], 11)
    assert [c.count for c in cells] == [12, 14]
    assert sum(c.count for c in cells) == len(items)
    assert protect(["a"] * 5, [lambda x: (x,), lambda x: ("all",)], 11) == []


def test_waits_are_only_published_for_groups_at_the_threshold_and_without_counts() -> None:
    """Wait rows carry median and p90 but no count, and come from groups of at least 11 answered tchats."""
    tchats = april_tchats()
    rows = publication.wait_rows(tchats, APRIL, K)
    assert rows and all("nombre" not in field for field in rows[0])
    answered = [t for t in tchats if t.wait_seconds is not None]
    cells = protect(answered, publication.wait_levels(APRIL), K, complement=False)
    assert min(c.count for c in cells) >= K and len(cells) == len(rows)
    for row in rows:
        assert int(row["attente_mediane_secondes"]) <= int(row["attente_p90_secondes"])


def test_tchats_started_sans_localisation_are_counted_in_a_group_of_their_own() -> None:
    """A tchat whose commune nobody set (empty département) is published under ND « Lieu non indiqué » below the
    national level, and counted once like every other."""
    tchats = april_tchats()
    unlocated = [dataclasses.replace(t, department="ND") for t in tchats[:30]]
    record = TchatRecord("", "sexual_violence", None, "", "abandoned", False, False, None,
                         generate()[0].created_at, None, None, None, 0)
    assert publication.open_tchat(record).department == "ND"
    cells = publication.count_cells([*unlocated, *tchats[30:]], APRIL, K)
    assert sum(c.count for c in cells) == len(tchats)
    rows = publication.count_rows(unlocated, APRIL, K)
    assert {(r["code_geo"], r["libelle_geo"]) for r in rows if r["niveau_geo"] != "national"} <= {
        ("ND", "Lieu non indiqué")}
