"""A realistic month of tchats, generated from a seeded RNG, and the helpers to store it in a database."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat.models import Conversation, Participant

# April 2026: Paris is on summer time (UTC+2), so day boundaries are 22:00 UTC the day before.
MONTH_START = datetime(2026, 3, 31, 22, 0, tzinfo=UTC)
DAYS = 30
# Big départements get most tchats, as the population does; the overseas and small ones a few each.
DEPARTMENTS = {"75": 14, "93": 9, "13": 9, "69": 8, "59": 8, "33": 6, "31": 5, "44": 4, "67": 4, "35": 3,
               "2A": 1, "48": 1, "23": 1, "971": 2, "974": 2, "976": 1, "987": 1, "15": 1, "90": 1, "05": 1}
POLICE_SHARE = {"75": 1.0, "93": 0.95, "13": 0.7, "69": 0.7, "59": 0.7}
CATEGORIES = {"sexual_violence": 4, "domestic_violence": 4, "discrimination_hate": 2}
SUBTYPES = {"cyber_harassment": 4, "cybersexism": 2, "online_hate": 2, "discrimination": 2, None: 1}
OUTCOMES = {"complaint_oriented": 40, "association_oriented": 26, "information_given": 14, "witness_informed": 6,
            "visitor_left": 10, "other": 4}


@dataclass
class Tchat:
    """What the generator decided about one tchat: the ground truth the tests compute from."""

    id: str
    force: str
    category: str
    subtype: str | None
    department: str
    status: str
    emergency: bool
    minor: bool
    outcome: str | None
    created_at: datetime
    taken_at: datetime | None
    first_reply_at: datetime | None
    closed_at: datetime | None
    psychologist_joins: int


def _pick(rng: random.Random, weights: dict[str | None, int] | dict[str, int]) -> str | None:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]  # type: ignore[index]


def _one(rng: random.Random, n: int, created: datetime) -> Tchat:
    department = str(_pick(rng, DEPARTMENTS))
    force = "police" if rng.random() < POLICE_SHARE.get(department, 0.3) else "gendarmerie"
    category = str(_pick(rng, CATEGORIES))
    subtype = _pick(rng, SUBTYPES) if category == "discrimination_hate" else None
    emergency, minor = rng.random() < 0.03, rng.random() < 0.06
    fate = rng.random()
    # Waits: most answers within a few minutes, a long tail at busy hours (lognormal, median about 2 min).
    wait = timedelta(seconds=min(3 * 3600, rng.lognormvariate(4.8, 0.9)))
    taken = first = closed = None
    outcome: str | None = None
    joins = 0
    if fate < 0.11:  # left while waiting in the queue
        status, closed = "abandoned", created + wait * rng.uniform(0.2, 0.9)
    elif fate < 0.13:  # still waiting or still live at the end of the month
        status = "queued"
    else:
        taken = created + wait * 0.8
        first = created + wait
        if fate < 0.15:
            status = "active"
        else:
            closed = first + timedelta(seconds=rng.lognormvariate(7.0, 0.6))
            status = "abandoned" if fate < 0.22 else "closed"
            outcome = str(_pick(rng, OUTCOMES)) if status == "closed" or rng.random() < 0.5 else None
            joins = 0 if rng.random() > 0.09 else rng.choice((1, 1, 1, 2))
    return Tchat(f"t{n:05d}", force, category, subtype, department, status, emergency, minor, outcome, created,
                 taken, first, closed, joins)


def generate(seed: int = 20260401, per_day: int = 55) -> list[Tchat]:
    """A month of tchats plus a few just outside it (to check the period's edges in Paris time)."""
    rng = random.Random(seed)
    tchats: list[Tchat] = []
    for day in range(DAYS):
        for _ in range(rng.randint(per_day - 15, per_day + 15)):
            tchats.append(_one(rng, len(tchats), MONTH_START + timedelta(days=day, seconds=rng.randint(0, 86_399))))
    for offset in (timedelta(minutes=-30), timedelta(minutes=30), timedelta(days=DAYS, minutes=-1),
                   timedelta(days=DAYS, minutes=1)):
        tchats.append(_one(rng, len(tchats), MONTH_START + offset))
    return tchats


async def store(sessions: async_sessionmaker[AsyncSession], tchats: list[Tchat]) -> None:
    async with sessions.begin() as session:
        for t in tchats:
            session.add(Conversation(
                id=t.id, token_hash=hashlib.sha256(t.id.encode()).hexdigest(), category=t.category,
                requester_role="victim", postal_code="00000", insee="00000", department=t.department, force=t.force,
                status=t.status, emergency=t.emergency, minor=t.minor, outcome=t.outcome, subtype=t.subtype,
                created_at=t.created_at, queued_at=t.created_at, taken_at=t.taken_at, first_reply_at=t.first_reply_at,
                closed_at=t.closed_at, visitor_seen_at=t.created_at, assigned_to="op" if t.taken_at else None,
            ))
        await session.flush()
        for t in tchats:
            if t.taken_at is not None:
                session.add(Participant(conversation_id=t.id, account_id="op", role="operator", joined_at=t.taken_at))
            for n in range(t.psychologist_joins):
                session.add(Participant(conversation_id=t.id, account_id=f"psy{n}", role="psychologist",
                                        joined_at=(t.first_reply_at or t.created_at) + timedelta(minutes=5)))
