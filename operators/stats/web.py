"""The supervisor's statistics pages: /supervision/stats (French, charts and tables) and the CSV of each table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from audit import trail
from chat.db import long_running
from chat.models import FORCES
from chat.state import state_of
from chat.templating import templates
from operators import access
from operators.stats import attachments, charts, feedback, formats, period, records, signalements, tables
from operators.stats.figures import compute
from operators.stats.labels import CATEGORY_LABELS, FORCE_LABELS

STATIC_DIR = Path(__file__).resolve().parent / "static"
ROLES = ("supervisor", "admin")
CHARTS = ("jours", "distribution-attentes", "repartition-issues", "repartition-avis")


def scope_of(role: str, own_force: str | None, asked: str | None) -> str | Response | None:
    """The force whose figures are shown: a supervisor's own; for an admin, the one asked or all (None)."""
    if role == "supervisor":
        if own_force not in FORCES:
            return PlainTextResponse("Accès refusé : votre compte n'est rattaché à aucune force.", status_code=403)
        return own_force
    return asked if asked in FORCES else None


async def _gather(request: Request, force: str | None, chosen: period.Period) -> dict[str, tables.Table]:
    state = state_of(request)
    # A period's records may be months of tchats: the long deadlines of reports, not the request paths' seconds.
    sessions = long_running(state.sessions)
    rows = await records.load(sessions, chosen, force)
    counts = await signalements.progress(sessions, chosen, force)
    answers = await feedback.load(sessions, chosen, force)
    files = await attachments.counts(sessions, chosen, force)
    return {**tables.all_tables(compute(rows, chosen), counts, files), "avis": feedback.distribution(answers),
            "repartition-avis": feedback.split(answers)}


def _charts(found: dict[str, tables.Table]) -> dict[str, Any]:
    days = found["jours"].rows
    day_labels = [f"{str(r[0])[8:10]}/{str(r[0])[5:7]}" for r in days]

    def column(rows: list[list[tables.Cell]], index: int) -> list[float]:
        return [float(r[index] or 0) for r in rows]

    started, answered, left = column(days, 1), column(days, 2), column(days, 3)
    other = [max(0.0, s - a - q) for s, a, q in zip(started, answered, left, strict=True)]
    split = found["repartition-issues"].rows
    waits = found["distribution-attentes"].rows
    return {
        "jours": charts.stacked_bars("graphique-jours", "Tchats commencés par jour", day_labels, [
            charts.Series("Réponse reçue", "stats-fill-answered", answered),
            charts.Series("Départ avant prise en charge", "stats-fill-left", left),
            charts.Series("Autres", "stats-fill-other", other),
        ]),
        "distribution-attentes": charts.stacked_bars(
            "graphique-attentes", "Répartition des attentes avant la première réponse",
            tables.bucket_labels(short=True), [charts.Series("Tchats", "stats-fill-answered", column(waits, 1))]),
        "repartition-issues": charts.horizontal_bars(
            "graphique-issues", "Répartition des issues",
            [(str(r[0]), float(r[1] or 0), formats.display(r[2], tables.Column("", "share"))) for r in split],
            "stats-fill-answered"),
        "repartition-avis": charts.horizontal_bars(
            "graphique-avis", "Répartition des avis : « Cet échange vous a-t-il aidé·e ? »",
            [(str(r[0]), float(r[1] or 0), formats.display(r[2], tables.Column("", "share")))
             for r in found["repartition-avis"].rows], "stats-fill-answered"),
    }


async def dashboard(request: Request) -> Response:
    signed = await access.signed_in(request, roles=ROLES)
    if isinstance(signed, Response):
        return signed
    account = signed.account
    force = scope_of(account.role, account.force, request.query_params.get("force"))
    if isinstance(force, Response):
        return force
    context: dict[str, Any] = {
        "account": account, "csrf": access.csrf_token(request, signed), "force": force,
        "force_label": FORCE_LABELS.get(force or "", "Toutes les forces"), "forces": FORCE_LABELS,
        "du": request.query_params.get("du", ""), "au": request.query_params.get("au", ""),
        "display": formats.display, "chart_keys": CHARTS, "error": None,
    }
    try:
        chosen = period.parse(context["du"] or None, context["au"] or None)
    except period.PeriodError as exc:
        context["error"] = str(exc)
        return templates.TemplateResponse(request, "operators/stats/dashboard.html", context, status_code=400)
    found = await _gather(request, force, chosen)
    query = f"du={chosen.first.isoformat()}&au={chosen.last.isoformat()}" + (f"&force={force}" if force else "")
    context.update(period=chosen, du=chosen.first.isoformat(), au=chosen.last.isoformat(), tables=found,
                   charts=_charts(found), query=query, total=found["volumes"].rows[-1],
                   waits_total=found["attentes"].rows[-1], outcomes_total=found["issues"].rows[-1],
                   columns={key: t.columns for key, t in found.items()})
    return templates.TemplateResponse(request, "operators/stats/dashboard.html", context)


async def table_csv(request: Request) -> Response:
    signed = await access.signed_in(request, roles=ROLES)
    if isinstance(signed, Response):
        return signed
    key = request.path_params["table"]
    if key not in (*tables.TABLE_KEYS, "avis", "repartition-avis"):
        return PlainTextResponse("Ce tableau n'existe pas.", status_code=404)
    force = scope_of(signed.account.role, signed.account.force, request.query_params.get("force"))
    if isinstance(force, Response):
        return force
    try:
        chosen = period.parse(request.query_params.get("du") or None, request.query_params.get("au") or None)
    except period.PeriodError as exc:
        return PlainTextResponse(str(exc), status_code=400)
    table = (await _gather(request, force, chosen))[key]
    name = f"pnav-{key}-{force or 'toutes-forces'}-{chosen.first.isoformat()}-{chosen.last.isoformat()}.csv"
    return Response(formats.to_csv(table), media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="{name}"'})


async def comments_page(request: Request) -> Response:
    """The free texts of the feedback of one's force (all forces, or one, for an admin); each reading is audited."""
    signed = await access.signed_in(request, roles=ROLES)
    if isinstance(signed, Response):
        return signed
    account = signed.account
    force = scope_of(account.role, account.force, request.query_params.get("force"))
    if isinstance(force, Response):
        return force
    context: dict[str, Any] = {
        "account": account, "csrf": access.csrf_token(request, signed), "force": force,
        "force_label": FORCE_LABELS.get(force or "", "Toutes les forces"), "forces": FORCE_LABELS,
        "du": request.query_params.get("du", ""), "au": request.query_params.get("au", ""), "error": None,
        "scores": feedback.SCORE_LABELS, "categories": CATEGORY_LABELS, "limit": feedback.MAX_COMMENTS,
    }
    try:
        chosen = period.parse(context["du"] or None, context["au"] or None)
    except period.PeriodError as exc:
        context["error"] = str(exc)
        return templates.TemplateResponse(request, "operators/stats/comments.html", context, status_code=400)
    state = state_of(request)
    answers = await feedback.load(state.sessions, chosen, force, comments=True)
    await trail.record(state, actor=account.username, action="feedback.read", target=force or "toutes",
                       details={"from": chosen.first.isoformat(), "to": chosen.last.isoformat(),
                                "comments": len(answers)})
    context.update(period=chosen, du=chosen.first.isoformat(), au=chosen.last.isoformat(), answers=answers)
    return templates.TemplateResponse(request, "operators/stats/comments.html", context)


routes: list[BaseRoute] = [
    Route("/supervision/stats", dashboard, methods=["GET"]),
    Route("/supervision/avis", comments_page, methods=["GET"]),
    Mount("/supervision/stats/static", app=StaticFiles(directory=STATIC_DIR), name="stats-static"),
    Route("/supervision/stats/{table}.csv", table_csv, methods=["GET"]),
]
