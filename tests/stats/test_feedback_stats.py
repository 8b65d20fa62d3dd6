"""Feedback in the statistics: the distribution per force and category (table, chart, CSV), the free texts a
supervisor of the force reads (each reading audited), and the protected open-data file."""

from __future__ import annotations

import html
import random
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from audit.models import AuditEvent
from chat.db import utcnow
from chat.feedback import paris_day
from chat.models import Feedback
from operators.stats import feedback, period
from operators.stats.disclosure import protect
from tests.servers import LiveServer
from tests.stats.test_dashboard import _client


async def _seed(live: LiveServer) -> None:
    today = paris_day(utcnow())
    answers = [("police", "domestic_violence", 5, "Merci pour votre écoute."), ("police", "domestic_violence", 4, None),
               ("police", "sexual_violence", 1, "J'ai attendu trop longtemps."),
               ("gendarmerie", "domestic_violence", 2, "Texte de la gendarmerie")]

    async def seed(state: Any) -> None:
        async with state.sessions.begin() as session:
            for n, (force, category, score, comment) in enumerate(answers):
                session.add(Feedback(id=f"{n:032d}", force=force, category=category, day=today, score=score,
                                     comment=comment))

    await live.call(seed)


async def test_distribution_csv_and_comments_of_ones_force(live: LiveServer) -> None:
    """A police supervisor sees the police answers only (page, chart, CSV) and reads police comments; the reading
    is audited; an operator cannot read them."""
    await _seed(live)
    async with await _client(live, "supervisor", "police") as http:
        page = (await http.get("/supervision/stats")).text
        csv = (await http.get("/supervision/stats/avis.csv")).content.decode("utf-8-sig").splitlines()
        comments = await http.get("/supervision/avis")
    assert "Répartition des avis" in page and 'id="lire-avis"' in page
    assert csv[0].startswith("Force;Catégorie;Pas du tout;Plutôt non;Un peu;Plutôt oui;Tout à fait;Avis reçus")
    assert csv[-1] == "Toutes;Toutes;1;0;0;1;1;3;66,7"
    assert comments.status_code == 200
    text = html.unescape(comments.text)
    assert "Merci pour votre écoute." in text and "J'ai attendu trop longtemps." in text
    assert "Texte de la gendarmerie" not in text

    async def audited(state: Any) -> list[tuple[str, str, str]]:
        async with state.sessions() as session:
            rows = await session.execute(select(AuditEvent.actor, AuditEvent.action, AuditEvent.target))
            return [tuple(r) for r in rows if r[1] == "feedback.read"]  # type: ignore[misc]

    assert await live.call(audited) == [("supervisor.police", "feedback.read", "police")]
    async with await _client(live, "operator", "police") as http:
        assert (await http.get("/supervision/avis")).status_code == 403


def test_open_data_answers_are_protected_and_complete() -> None:
    """Every answer is in exactly one published row of at least the threshold; small weeks merge upward."""
    chosen = period.Period(date(2026, 4, 1), date(2026, 4, 30))
    rng = random.Random(21)
    answers = [feedback.Answer(rng.choice(["police", "gendarmerie"]),
                               rng.choice(["sexual_violence", "domestic_violence", "discrimination_hate"]),
                               date(2026, 4, 1) + timedelta(days=rng.randrange(30)),
                               rng.choices([1, 2, 3, 4, 5], weights=[1, 1, 2, 5, 8])[0]) for _ in range(400)]
    rows = feedback.feedback_rows(answers, chosen, 11)
    assert rows and min(int(r["nombre_avis"]) for r in rows) >= 11
    assert sum(int(r["nombre_avis"]) for r in rows) == len(answers)
    assert {r["note"] for r in rows} <= {"1", "2", "3", "4", "5", "toutes"}
    assert set(rows[0]) == set(feedback.FEEDBACK_FIELDS)
    cells = protect(answers, feedback.feedback_levels(chosen, str), 11)
    assert sorted(i for c in cells for i in c.members) == list(range(len(answers)))
