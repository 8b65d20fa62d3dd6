"""Psychologists' office hours, per weekday in Europe/Paris: set by admins at /admin/horaires (stored in the
database), and until then ``PNAV_PSYCHOLOGIST_HOURS``.

The value lists day ranges and hours separated by ``;``, e.g. ``mon-fri 09:00-18:00; sat 10:00-13:00``;
``24:00`` means midnight at the end of the day. Parsing and the "open now? next opening?" questions are pure
functions of a datetime, so tests need no clock.
"""

from __future__ import annotations

import re
import time as clock
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat.db import utcnow
from chat.settings import Settings
from chat.state import ChatState

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
    """The hours of the environment (the default until an admin sets them on the web)."""
    return parse(default_spec(settings))


def default_spec(settings: Settings) -> str:
    return settings.extra.get("PNAV_PSYCHOLOGIST_HOURS", DEFAULT_HOURS)


# Each process reads the stored hours at most every 10 s: a change on /admin/horaires reaches every process within
# 10 s, and a burst of console welcomes or invitations does not cost a query each.
CACHE_SECONDS = 10.0
_CACHE = "operators.office_hours"


@dataclass
class _Cached:
    spec: str
    stored: bool
    read_at: float


async def stored_spec(sessions: async_sessionmaker[AsyncSession]) -> str | None:
    from operators.models import PsychologistHours

    async with sessions() as session:
        return await session.scalar(select(PsychologistHours.spec).where(PsychologistHours.id == 1))


async def current(state: ChatState) -> tuple[str, bool]:
    """The hours in force (``spec``) and whether they were set on the web (else they come from the environment)."""
    cached: _Cached | None = state.extensions.get(_CACHE)
    now = clock.monotonic()
    if cached is None or now - cached.read_at > CACHE_SECONDS:
        stored = await stored_spec(state.sessions)
        cached = _Cached(stored if stored is not None else default_spec(state.settings), stored is not None, now)
        state.extensions[_CACHE] = cached
    return cached.spec, cached.stored


async def schedule(state: ChatState) -> tuple[Slot, ...]:
    spec, _stored = await current(state)
    try:
        return parse(spec)
    except ScheduleError:  # checked when saved; a row edited by hand must not stop the consoles
        return configured(state.settings)


async def save(state: ChatState, spec: str, *, by: str) -> tuple[Slot, ...]:
    """Store new hours (checked first, ScheduleError otherwise), audited; this process uses them at once."""
    from audit import trail
    from operators.models import PsychologistHours

    spec = "; ".join(part.strip() for part in spec.replace("\n", ";").split(";") if part.strip())
    slots = parse(spec)
    if len(spec) > 500:
        raise ScheduleError("too long")
    async with state.sessions.begin() as session:
        row = await session.get(PsychologistHours, 1)
        if row is None:
            session.add(PsychologistHours(id=1, spec=spec, updated_by=by, updated_at=utcnow()))
        else:
            row.spec, row.updated_by, row.updated_at = spec, by, utcnow()
        await trail.record(session, actor=by, action="office_hours.changed", details={"spec": spec})
    state.extensions.pop(_CACHE, None)
    return slots


def title(settings: Settings) -> str:
    """How the visitor sees the psychologist: « Une psychologue » unless configured otherwise."""
    return settings.extra.get("PNAV_PSYCHOLOGIST_TITLE", DEFAULT_TITLE)


def schedule_or_none(spec: str) -> tuple[Slot, ...] | None:
    try:
        return parse(spec)
    except ScheduleError:
        return None


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60} h {minutes % 60:02d}"


def describe(slots: tuple[Slot, ...]) -> list[str]:
    """The schedule in French, one line per day that has hours: « lundi : de 9 h 00 à 18 h 00 »."""
    lines = []
    for day, name in enumerate(DAY_NAMES):
        hours = sorted((s.start, s.end) for s in slots if s.weekday == day)
        if hours:
            lines.append(f"{name} : " + ", ".join(f"de {_hhmm(a)} à {_hhmm(b)}" for a, b in hours))
    return lines


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
