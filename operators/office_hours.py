"""Psychologists' office hours, per weekday in Europe/Paris, from ``PNAV_PSYCHOLOGIST_HOURS``.

The value lists day ranges and hours separated by ``;``, e.g. ``mon-fri 09:00-18:00; sat 10:00-13:00``;
``24:00`` means midnight at the end of the day. Parsing and the "open now? next opening?" questions are pure
functions of a datetime, so tests need no clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chat.settings import Settings

PARIS = ZoneInfo("Europe/Paris")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
DEFAULT_HOURS = "mon-fri 09:00-18:00"
DEFAULT_TITLE = "Une psychologue"
_PART_RE = re.compile(r"^(?P<d1>[a-z]{3})(?:-(?P<d2>[a-z]{3}))?\s+(?P<h1>\d\d):(?P<m1>\d\d)-(?P<h2>\d\d):(?P<m2>\d\d)$")


class ScheduleError(ValueError):
    """PNAV_PSYCHOLOGIST_HOURS is not in the documented form."""


@dataclass(frozen=True)
class Slot:
    weekday: int  # 0 = Monday
    start: int  # minutes since midnight, Paris time
    end: int


def parse(spec: str) -> tuple[Slot, ...]:
    slots: list[Slot] = []
    for part in (p.strip().lower() for p in spec.split(";")):
        if not part:
            continue
        match = _PART_RE.match(part)
        if match is None or match["d1"] not in DAYS or (match["d2"] and match["d2"] not in DAYS):
            raise ScheduleError(f"bad office hours {part!r}: expected e.g. 'mon-fri 09:00-18:00'")
        first, last = DAYS.index(match["d1"]), DAYS.index(match["d2"] or match["d1"])
        start = int(match["h1"]) * 60 + int(match["m1"])
        end = int(match["h2"]) * 60 + int(match["m2"])
        if not 0 <= start < end <= 24 * 60 or last < first:
            raise ScheduleError(f"bad office hours {part!r}: hours or days out of order")
        slots += [Slot(day, start, end) for day in range(first, last + 1)]
    return tuple(slots)


def configured(settings: Settings) -> tuple[Slot, ...]:
    return parse(settings.extra.get("PNAV_PSYCHOLOGIST_HOURS", DEFAULT_HOURS))


def title(settings: Settings) -> str:
    """How the visitor sees the psychologist: « Une psychologue » unless configured otherwise."""
    return settings.extra.get("PNAV_PSYCHOLOGIST_TITLE", DEFAULT_TITLE)


def is_open(slots: tuple[Slot, ...], when: datetime) -> bool:
    local = when.astimezone(PARIS)
    minute = local.hour * 60 + local.minute
    return any(s.weekday == local.weekday() and s.start <= minute < s.end for s in slots)


def next_opening(slots: tuple[Slot, ...], when: datetime) -> datetime | None:
    """The next time (Paris) a slot starts after ``when``, within a week; None when the schedule is empty."""
    local = when.astimezone(PARIS)
    best: datetime | None = None
    for offset in range(8):
        day = (local + timedelta(days=offset)).date()
        for slot in slots:
            if slot.weekday != day.weekday():
                continue
            start = datetime.combine(day, time(slot.start // 60, slot.start % 60), PARIS)
            if start > local and (best is None or start < best):
                best = start
    return best


def describe_next(slots: tuple[Slot, ...], when: datetime) -> str:
    """A French sentence saying when a psychologist will be there."""
    opening = next_opening(slots, when)
    if opening is None:
        return "Aucune permanence de psychologue n'est prévue pour le moment."
    today = when.astimezone(PARIS).date()
    day = "aujourd'hui" if opening.date() == today else (
        "demain" if opening.date() == today + timedelta(days=1) else DAY_NAMES[opening.weekday()])
    return f"Une psychologue sera présente {day} à {opening.hour} h {opening.minute:02d}."


def status_json(slots: tuple[Slot, ...], when: datetime | None = None) -> dict[str, Any]:
    when = when or datetime.now(UTC)
    return {"open": is_open(slots, when), "next": describe_next(slots, when)}
