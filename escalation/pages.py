"""Server-rendered staff pages: the local service's inbox (``/service``) and identity lifting (``/levee``)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

import routing
from chat.state import state_of
from chat.templating import templates
from escalation import documents, inbox, lifting
from escalation.signalements import REPEATABLE_STEPS, SERVICE_STEPS, STATUS_LABELS
from operators import access
from operators.stats.labels import SIGNALEMENT_STATUS_LABELS

PARIS = ZoneInfo("Europe/Paris")
CATEGORY_LABELS = {
    "sexual_violence": "Violences sexuelles et sexistes",
    "domestic_violence": "Violences conjugales",
    "discrimination_hate": "Discriminations, haine, cyber-harcèlement",
}
LIFTING_STATES = {"filed": "En attente d'approbation", "approved": "Approuvée, prête à exécuter",
                  "unsealed": "Exécutée", "rejected": "Refusée"}


STEP_ERRORS = {
    "step": "Cette étape est déjà enregistrée ou le signalement est clos.",
    "note": f"La note est trop longue ({inbox.MAX_NOTE_CHARS} caractères au plus) ou contient des caractères "
            "non autorisés.",
}


def tel(phone: str | None) -> str:
    """A ``tel:`` target from a number as people write it (« 06 12 34 56 78 », « +33 (0)6… »): digits and +."""
    return "".join(ch for ch in phone or "" if ch.isdigit() or ch == "+")


def human_size(size: int) -> str:
    """« 245 Ko », « 3,4 Mo »: how a file's weight reads in French."""
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))} Ko"
    return f"{size / (1024 * 1024):.1f} Mo".replace(".", ",")


def local_time(value: datetime | None) -> str:
    return value.astimezone(PARIS).strftime("%d/%m/%Y à %H:%M") if value else ""


def _service_name(service_id: str) -> str:
    service = routing.local_service_by_id(service_id)
    return service.name if service else service_id


async def inbox_page(request: Request) -> Response:
    signed = await access.signed_in(request, roles=inbox.INBOX_ROLES)
    if isinstance(signed, Response):
        return signed
    rows = await inbox.listing(state_of(request).sessions, signed.account)
    return templates.TemplateResponse(request, "escalation/inbox.html", {
        "account": signed.account, "csrf": access.csrf_token(request, signed), "signalements": rows, "when": local_time,
        "labels": STATUS_LABELS, "categories": CATEGORY_LABELS,
        "service_name": _service_name(signed.account.service_id) if signed.account.service_id else None,
    }, headers={"Cache-Control": "no-store"})


async def signalement_page(request: Request) -> Response:
    """One signalement with its contact details: each display is an audited read."""
    state = state_of(request)
    signed = await access.signed_in(request, roles=inbox.INBOX_ROLES)
    if isinstance(signed, Response):
        return signed
    signalement = await inbox.get(state.sessions, signed.account, str(request.path_params["id"]))
    if signalement is None:
        return templates.TemplateResponse(request, "escalation/missing.html", {
            "account": signed.account, "csrf": access.csrf_token(request, signed)}, status_code=404)
    contact = await inbox.read_contact(state, signed.account, signalement)
    history = await inbox.history(state.sessions, signalement.id)
    handed = await documents.of_signalement(state.sessions, signalement.id)
    done = {event.status for event in history}
    steps = [s for s in SERVICE_STEPS if s not in done or s in REPEATABLE_STEPS]
    return templates.TemplateResponse(request, "escalation/signalement.html", {
        "account": signed.account, "csrf": access.csrf_token(request, signed), "s": signalement, "when": local_time,
        "contact": contact, "history": history, "notes": inbox.notes(state, signalement.id, history), "tel": tel,
        "labels": SIGNALEMENT_STATUS_LABELS, "visitor_labels": STATUS_LABELS, "categories": CATEGORY_LABELS,
        "service_name": _service_name(signalement.service_id),
        "steps": steps if signalement.status != "closed" else [], "max_note": inbox.MAX_NOTE_CHARS,
        "may_update": inbox.may_update(signed.account, signalement),
        "error": STEP_ERRORS.get(request.query_params.get("erreur", "")),
        "documents": handed, "size": human_size,
    }, headers={"Cache-Control": "no-store"})


async def record_step(request: Request) -> Response:
    state = state_of(request)
    signed = await access.signed_in(request, roles=("local_service",))
    if isinstance(signed, Response):
        return signed
    form = await request.form(max_files=0, max_fields=4)
    if not access.csrf_ok(request, signed, form.get("csrf")):
        return access.csrf_failed()
    signalement_id = str(request.path_params["id"])
    signalement = await inbox.get(state.sessions, signed.account, signalement_id)
    if signalement is None:
        return RedirectResponse("/service", status_code=303)
    refused = await inbox.record_step(state, signed.account, signalement, str(form.get("status", "")),
                                      str(form.get("note", "")))
    suffix = f"?erreur={refused}" if refused else ""
    return RedirectResponse(f"/service/signalements/{signalement.id}{suffix}", status_code=303)


async def lifting_page(request: Request, error: str | None = None, status: int = 200) -> Response:
    state = state_of(request)
    signed = await access.signed_in(request, roles=("supervisor",))
    if isinstance(signed, Response):
        return signed
    requests = await lifting.for_force(state.sessions, signed.account.force or "")
    return templates.TemplateResponse(request, "escalation/lifting.html", {
        "account": signed.account, "csrf": access.csrf_token(request, signed), "requests": requests,
        "states": LIFTING_STATES, "error": error, "when": local_time,
    }, status_code=status, headers={"Cache-Control": "no-store"})


def _authorised_at(date: str, time: str) -> datetime | None:
    try:
        local = datetime.strptime(f"{date} {time}", "%Y-%m-%d %H:%M").replace(tzinfo=PARIS)
    except ValueError:
        return None
    return local.astimezone(UTC)


async def file_request(request: Request) -> Response:
    state = state_of(request)
    signed = await access.signed_in(request, roles=("supervisor",))
    if isinstance(signed, Response):
        return signed
    form = await request.form(max_files=0, max_fields=8)
    if not access.csrf_ok(request, signed, form.get("csrf")):
        return access.csrf_failed()
    field = {k: str(form.get(k, "")).strip() for k in ("conversation", "parquet", "magistrate", "reference", "date",
                                                        "time")}
    authorised_at = _authorised_at(field["date"], field["time"])
    if (not all(field.values()) or authorised_at is None or len(field["parquet"]) > lifting.MAX_PARQUET
            or len(field["magistrate"]) > lifting.MAX_MAGISTRATE or len(field["reference"]) > lifting.MAX_REFERENCE
            or len(field["conversation"]) > 32 or not field["conversation"].isalnum()):
        return await lifting_page(request, "Remplissez tous les champs : conversation, parquet, magistrat·e, "
                                  "référence, date et heure de l'accord.", 422)
    try:
        await lifting.file(state.sessions, signed.account, lifting.Agreement(
            field["conversation"], field["parquet"], field["magistrate"], field["reference"], authorised_at))
    except lifting.LiftingError as exc:
        return await lifting_page(request, exc.message, 422)
    return RedirectResponse("/levee", status_code=303)


async def approve(request: Request) -> Response:
    return await _decide(request, approve=True)


async def reject(request: Request) -> Response:
    return await _decide(request, approve=False)


async def _decide(request: Request, *, approve: bool) -> Response:
    state = state_of(request)
    signed = await access.signed_in(request, roles=("supervisor",))
    if isinstance(signed, Response):
        return signed
    form = await request.form(max_files=0, max_fields=4)
    if not access.csrf_ok(request, signed, form.get("csrf")):
        return access.csrf_failed()
    request_id = str(request.path_params["id"])[:16]
    try:
        if approve:
            await lifting.approve(state.sessions, signed.account, request_id)
        else:
            await lifting.reject(state.sessions, signed.account, request_id)
    except lifting.LiftingError as exc:
        return await lifting_page(request, exc.message, 409)
    return RedirectResponse("/levee", status_code=303)
