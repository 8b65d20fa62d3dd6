"""The /supervision/stats pages on a live server: a supervisor sees their force, an operator is refused."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.operators.staff import make, session_cookie
from tests.servers import LiveServer
from tests.stats.month import Tchat, store


def _tchats() -> list[Tchat]:
    now = datetime.now(UTC) - timedelta(hours=2)
    made = []
    for n in range(8):
        force = "police" if n < 5 else "gendarmerie"
        made.append(Tchat(f"d{n}", force, "discrimination_hate" if n % 2 else "domestic_violence",
                          "cyber_harassment" if n % 2 else None, "75", "closed", n == 0, False,
                          "complaint_oriented", now, now + timedelta(seconds=30), now + timedelta(seconds=60 * n),
                          now + timedelta(minutes=20), 1 if n == 1 else 0))
    return made


async def _client(live: LiveServer, role: str, force: str | None) -> httpx.AsyncClient:
    staff = await make(live, f"{role}.{force or 'all'}", role, force)
    cookie = await session_cookie(live, staff)
    return httpx.AsyncClient(base_url=live.base, cookies={"pnav_session": cookie})


async def _seed(live: LiveServer) -> None:
    async def seed(state: Any) -> None:
        await store(state.sessions, _tchats())

    await live.call(seed)


async def test_supervisor_sees_their_force_with_charts_and_tables(live: LiveServer) -> None:
    """The page is French, shows the supervisor's force only, has three SVG charts each followed by its table."""
    await _seed(live)
    async with await _client(live, "supervisor", "police") as http:
        page = await http.get("/supervision/stats")
    assert page.status_code == 200
    html = page.text
    assert "Statistiques du tchat" in html and "Police nationale" in html
    assert "Gendarmerie nationale" not in html.split("<main", 1)[1]
    assert html.count("<svg") == 4 and html.count("<table") >= 9
    assert re.search(r'<span class="stats-key">5</span> tchats commencés', html)
    assert "style=" not in html and "<script" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html), "no third-party resource"
    assert "Cyberharcèlement" in html


async def test_csv_export_of_a_table(live: LiveServer) -> None:
    """Each table downloads as a French-friendly CSV (BOM, semicolons) limited to the supervisor's force."""
    await _seed(live)
    async with await _client(live, "supervisor", "gendarmerie") as http:
        response = await http.get("/supervision/stats/volumes.csv")
        missing = await http.get("/supervision/stats/inconnu.csv")
        css = await http.get("/supervision/stats/static/stats.css")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Force;Catégorie;Tchats commencés")
    assert lines[-1].startswith("Toutes;Toutes;3;")
    assert missing.status_code == 404 and css.status_code == 200


async def test_admin_sees_every_force(live: LiveServer) -> None:
    """An administrator sees all forces by default and may narrow to one."""
    await _seed(live)
    async with await _client(live, "admin", None) as http:
        everything = await http.get("/supervision/stats.csv".replace(".csv", "/volumes.csv"))
        police = await http.get("/supervision/stats/volumes.csv", params={"force": "police"})
        page = await http.get("/supervision/stats")
    assert everything.content.decode("utf-8-sig").splitlines()[-1].startswith("Toutes;Toutes;8;")
    assert police.content.decode("utf-8-sig").splitlines()[-1].startswith("Toutes;Toutes;5;")
    assert page.status_code == 200 and 'id="force"' in page.text


async def test_operator_and_strangers_are_refused(live: LiveServer) -> None:
    """An operator gets a French 403; without a session the browser is sent to the sign-in page."""
    async with await _client(live, "operator", "police") as http:
        page = await http.get("/supervision/stats")
        export = await http.get("/supervision/stats/volumes.csv")
    assert page.status_code == 403 and "Accès refusé" in page.text
    assert export.status_code == 403
    async with httpx.AsyncClient(base_url=live.base) as anonymous:
        response = await anonymous.get("/supervision/stats")
    assert response.status_code == 303 and response.headers["location"] == "/login"


async def test_a_wrong_period_is_explained_in_french(live: LiveServer) -> None:
    """A period whose start follows its end gets a French message, not an error page."""
    async with await _client(live, "supervisor", "police") as http:
        page = await http.get("/supervision/stats", params={"du": "2026-05-02", "au": "2026-05-01"})
        bad = await http.get("/supervision/stats", params={"du": "demain"})
    assert page.status_code == 400 and "La date de début doit précéder la date de fin." in page.text
    assert bad.status_code == 400 and "pas une date valide" in bad.text
