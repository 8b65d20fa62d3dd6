"""Pure aggregation of tchat records into the dashboard's figures: counts, shares, median and p90, per day."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from operators.stats.labels import ORIENTED, SUBTYPE_CATEGORY
from operators.stats.period import Period, local_day
from operators.stats.records import TchatRecord

# Bounds (seconds) of the wait distribution: under a minute is the goal, beyond 30 minutes people give up.
WAIT_BUCKETS = (60, 120, 300, 600, 1200, 1800)


def median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile: the smallest value with at least p % of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return float(ordered[rank - 1])


@dataclass
class Group:
    """The figures of one slice of tchats (a force × category, or everything)."""

    started: int = 0
    answered: int = 0
    abandoned_in_queue: int = 0
    emergencies: int = 0
    minors: int = 0
    with_psychologist: int = 0
    psychologist_joins: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    waits: list[float] = field(default_factory=list)
    durations: list[float] = field(default_factory=list)

    def add(self, record: TchatRecord) -> None:
        self.started += 1
        self.answered += record.answered
        self.abandoned_in_queue += record.abandoned_in_queue
        self.emergencies += record.emergency
        self.minors += record.minor
        self.with_psychologist += record.psychologist_joins > 0
        self.psychologist_joins += record.psychologist_joins
        if record.outcome is not None:
            self.outcomes[record.outcome] += 1
        if record.wait_seconds is not None:
            self.waits.append(record.wait_seconds)
        if record.duration_seconds is not None:
            self.durations.append(record.duration_seconds)

    @property
    def with_outcome(self) -> int:
        return sum(self.outcomes.values())

    def share(self, outcomes: Iterable[str]) -> float | None:
        """Share of the tchats with a recorded outcome that ended with one of ``outcomes``."""
        total = self.with_outcome
        return sum(self.outcomes[o] for o in outcomes) / total if total else None

    @property
    def oriented_share(self) -> float | None:
        return self.share(ORIENTED)

    @property
    def answer_rate(self) -> float | None:
        return self.answered / self.started if self.started else None


@dataclass
class Day:
    started: int = 0
    answered: int = 0
    abandoned_in_queue: int = 0


@dataclass
class Figures:
    period: Period
    total: Group
    by_slice: dict[tuple[str, str], Group]
    days: dict[date, Day]
    wait_histogram: list[int]
    subtypes: Counter[str | None]
    languages: Counter[str]


def wait_bucket(seconds: float) -> int:
    """Index of the bucket of WAIT_BUCKETS (the last index is "more than the last bound")."""
    for index, bound in enumerate(WAIT_BUCKETS):
        if seconds < bound:
            return index
    return len(WAIT_BUCKETS)


def compute(records: Iterable[TchatRecord], period: Period) -> Figures:
    total = Group()
    by_slice: dict[tuple[str, str], Group] = {}
    days = {day: Day() for day in period.days()}
    histogram = [0] * (len(WAIT_BUCKETS) + 1)
    subtypes: Counter[str | None] = Counter()
    languages: Counter[str] = Counter()
    for record in records:
        languages[record.language] += 1
        total.add(record)
        by_slice.setdefault((record.force, record.category), Group()).add(record)
        day = days.setdefault(local_day(record.created_at), Day())
        day.started += 1
        day.answered += record.answered
        day.abandoned_in_queue += record.abandoned_in_queue
        if record.wait_seconds is not None:
            histogram[wait_bucket(record.wait_seconds)] += 1
        if record.category == SUBTYPE_CATEGORY:
            subtypes[record.subtype] += 1
    return Figures(period, total, dict(sorted(by_slice.items())), days, histogram, subtypes, languages)
