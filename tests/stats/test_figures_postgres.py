"""The dashboard's figures on PostgreSQL over a generated month, checked against numbers computed here by hand."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import AsyncIterator
from datetime import date
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat.db import create_engine, session_factory
from operators.stats import records, tables
from operators.stats.figures import compute
from operators.stats.period import Period
from tests.conftest import migrated, wipe
from tests.stats.month import Tchat, generate, store

APRIL = Period(date(2026, 4, 1), date(2026, 4, 30))
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture(scope="module")
def month() -> list[Tchat]:
    return generate()


@pytest.fixture
async def pg(postgres_url: str, month: list[Tchat]) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    migrated(postgres_url)
    await wipe(postgres_url)
    engine = create_engine(postgres_url)
    sessions = session_factory(engine)
    await store(sessions, month)
    yield sessions
    await engine.dispose()


def in_april(t: Tchat) -> bool:
    return t.created_at.astimezone(PARIS).date().month == 4 and t.created_at.astimezone(PARIS).year == 2026


def seconds(a: object, b: object) -> float:
    from datetime import datetime

    assert isinstance(a, datetime) and isinstance(b, datetime)
    return (b - a).total_seconds()


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def middle(values: list[float]) -> float:
    ordered, n = sorted(values), len(values)
    return ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2


def expected(tchats: list[Tchat]) -> dict[str, object]:
    """Every figure of one slice, from the generator's ground truth."""
    waits = [seconds(t.created_at, t.first_reply_at) for t in tchats if t.first_reply_at]
    durations = [seconds(t.taken_at, t.closed_at) for t in tchats
                 if t.taken_at and t.closed_at and t.status in ("closed", "abandoned")]
    outcomes = Counter(t.outcome for t in tchats if t.outcome)
    with_outcome = sum(outcomes.values())
    return {
        "started": len(tchats),
        "answered": sum(1 for t in tchats if t.first_reply_at),
        "abandoned_in_queue": sum(1 for t in tchats if t.status == "abandoned" and t.taken_at is None),
        "emergencies": sum(t.emergency for t in tchats),
        "minors": sum(t.minor for t in tchats),
        "with_psychologist": sum(1 for t in tchats if t.psychologist_joins),
        "psychologist_joins": sum(t.psychologist_joins for t in tchats),
        "outcomes": dict(outcomes),
        "oriented": (outcomes["complaint_oriented"] + outcomes["association_oriented"]) / with_outcome,
        "wait_median": middle(waits), "wait_p90": p90(waits),
        "duration_median": middle(durations), "duration_p90": p90(durations),
    }


def observed(group: object) -> dict[str, object]:
    from operators.stats.figures import Group, median, percentile

    assert isinstance(group, Group)
    return {
        "started": group.started, "answered": group.answered, "abandoned_in_queue": group.abandoned_in_queue,
        "emergencies": group.emergencies, "minors": group.minors, "with_psychologist": group.with_psychologist,
        "psychologist_joins": group.psychologist_joins, "outcomes": dict(group.outcomes),
        "oriented": group.oriented_share, "wait_median": median(group.waits),
        "wait_p90": percentile(group.waits, 90), "duration_median": median(group.durations),
        "duration_p90": percentile(group.durations, 90),
    }


def close_enough(a: dict[str, object], b: dict[str, object]) -> bool:
    for key in a:
        x, y = a[key], b[key]
        if isinstance(x, float) and isinstance(y, float):
            if not math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-3):
                return False
        elif x != y:
            return False
    return True


async def test_month_figures_match_the_ground_truth(pg: async_sessionmaker[AsyncSession], month: list[Tchat]) -> None:
    """Totals and every force × category slice equal the figures computed directly from the generated tchats."""
    april = [t for t in month if in_april(t)]
    assert 1000 < len(april) < len(month)
    figures = compute(await records.load(pg, APRIL), APRIL)
    assert close_enough(expected(april), observed(figures.total))
    slices = {(t.force, t.category) for t in april}
    assert set(figures.by_slice) == slices and len(slices) == 6
    for force, category in slices:
        mine = [t for t in april if (t.force, t.category) == (force, category)]
        assert close_enough(expected(mine), observed(figures.by_slice[force, category])), (force, category)


async def test_days_subtypes_and_wait_buckets(pg: async_sessionmaker[AsyncSession], month: list[Tchat]) -> None:
    """Per-day volumes (Paris days), category-3 subtypes and the wait histogram match the ground truth."""
    april = [t for t in month if in_april(t)]
    figures = compute(await records.load(pg, APRIL), APRIL)
    per_day = Counter(t.created_at.astimezone(PARIS).date() for t in april)
    assert {d: v.started for d, v in figures.days.items()} == {d: per_day[d] for d in APRIL.days()}
    answered_day = Counter(t.created_at.astimezone(PARIS).date() for t in april if t.first_reply_at)
    assert all(figures.days[d].answered == answered_day[d] for d in APRIL.days())
    assert figures.subtypes == Counter(t.subtype for t in april if t.category == "discrimination_hate")
    bounds = [60, 120, 300, 600, 1200, 1800, math.inf]
    waits = [seconds(t.created_at, t.first_reply_at) for t in april if t.first_reply_at]
    assert figures.wait_histogram == [
        sum(1 for w in waits if (bounds[i - 1] if i else 0) <= w < bounds[i]) for i in range(len(bounds))
    ]


async def test_one_force_only_sees_its_tchats(pg: async_sessionmaker[AsyncSession], month: list[Tchat]) -> None:
    """Loading the figures of the gendarmerie gives exactly its tchats, and the volume table says so."""
    gendarmerie = [t for t in month if in_april(t) and t.force == "gendarmerie"]
    figures = compute(await records.load(pg, APRIL, "gendarmerie"), APRIL)
    assert close_enough(expected(gendarmerie), observed(figures.total))
    volumes = tables.volumes(figures)
    assert volumes.rows[-1][2] == len(gendarmerie)
    assert all(row[0] in ("Gendarmerie nationale", "Toutes") for row in volumes.rows)


async def test_the_edges_of_the_period_follow_paris_time(pg: async_sessionmaker[AsyncSession],
                                                         month: list[Tchat]) -> None:
    """A tchat at 00:30 in Paris on 1 April counts in April; one at 23:30 on 31 March does not."""
    loaded = await records.load(pg, APRIL)
    loaded_times = {r.created_at for r in loaded}
    edges = month[-4:]
    assert [t.created_at in loaded_times for t in edges] == [False, True, True, False]
