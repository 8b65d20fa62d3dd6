"""``/admin``: accounts, psychologists' office hours and the local services directory, managed in the browser.

Admins manage every account; supervisors manage the operators of their force (create, disable, links, capacity).
Admins also edit the office hours and the directory. Every form carries the session's CSRF token; every change goes
to the audit log (``operators.accounts``, ``operators.office_hours``, ``operators.directory``). A new account gets a
first-sign-in link, never a password or a QR code: those only ever appear to the person holding the link
(``operators.enrolment``).
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from chat.state import state_of
from chat.templating import templates
from operators import access, accounts, directory, links, office_hours, sessions
from operators.models import MAX_CAPACITY, Account
from operators.permissions import ADMINISTRATORS, assignable_forces, assignable_roles, manages, may_edit_directory
from operators.stats.labels import FORCE_LABELS
from routing.service_search import search as search_services

ROLE_LABELS = {"operator": "Opérateur·rice", "psychologist": "Psychologue", "supervisor": "Superviseur·e",
               "local_service": "Service local", "admin": "Administration"}
# What the account page says after a change (a fixed set: the query string cannot inject any text).
DONE = {"profil": "Modifications enregistrées.", "desactive": "Compte désactivé : ses sessions sont fermées.",
        "reactive": "Compte réactivé.", "horaires": "Horaires enregistrés.", "service": "Fiche enregistrée.",
        "service-officiel": "La fiche reprend les données officielles."}
LINK_LABELS = {"activate": "première connexion", "password": "nouveau mot de passe",
               "totp": "nouvelle application d'authentification"}
# Form fields are short; anything larger is not a person filling in these forms.
MAX_FIELD = 500
MAX_RESULTS = 25


# The languages a supervisor can tick for an operator, named in French for the staff (French itself is implied).
SPOKEN_CHOICES = {"en": "Anglais", "ar": "Arabe", "es": "Espagnol", "pt": "Portugais", "uk": "Ukrainien"}


def forbidden() -> Response:
    return PlainTextResponse("Accès refusé : votre rôle ne permet pas de gérer ce compte.", status_code=403)


def _base(request: Request, signed: sessions.Signed, **extra: Any) -> dict[str, Any]:
    done = request.query_params.get("fait", "")
    return {"account": signed.account, "csrf": access.csrf_token(request, signed), "roles": ROLE_LABELS,
            "forces": FORCE_LABELS, "done": DONE.get(done), "may_edit_directory": may_edit_directory(signed.account),
            **extra}


async def _form(request: Request, signed: sessions.Signed) -> FormData | Response:
    form = await request.form(max_files=0, max_fields=12)
    if not access.csrf_ok(request, signed, form.get("csrf")):
        return access.csrf_failed()
    return form


def _text(form: FormData, key: str) -> str:
    return str(form.get(key, ""))[:MAX_FIELD].strip()


async def _visible(request: Request, actor: Account) -> list[Account]:
    return [a for a in await accounts.all_accounts(state_of(request).sessions) if manages(actor, a) or a.id == actor.id]


async def index(request: Request) -> Response:
    signed = await access.signed_in(request, roles=ADMINISTRATORS)
    if isinstance(signed, Response):
        return signed
    listed = await _visible(request, signed.account)
    pending = await links.waiting_activation(state_of(request).sessions)
    return templates.TemplateResponse(request, "operators/admin/index.html", _base(
        request, signed, accounts=listed, pending=pending))


def _link_url(request: Request, token: str) -> str:
    return f"{request.url.scheme}://{request.url.netloc}{links.PATH}{token}"


async def new_account(request: Request) -> Response:
    signed = await access.signed_in(request, roles=ADMINISTRATORS)
    if isinstance(signed, Response):
        return signed
    return _new_page(request, signed, {}, None)


def _new_page(request: Request, signed: sessions.Signed, values: dict[str, str], error: str | None,
              status: int = 200) -> Response:
    actor = signed.account
    return templates.TemplateResponse(request, "operators/admin/new.html", _base(
        request, signed, values=values, error=error, role_choices=assignable_roles(actor),
        force_choices=assignable_forces(actor)), status_code=status)


async def create_account(request: Request) -> Response:
    signed = await access.signed_in(request, roles=ADMINISTRATORS)
    if isinstance(signed, Response):
        return signed
    form = await _form(request, signed)
    if isinstance(form, Response):
        return form
    actor = signed.account
    values = {k: _text(form, k) for k in ("username", "display_name", "role", "force", "service_id")}
    role, force = values["role"], values["force"] or None
    if role not in assignable_roles(actor) or (force is not None and force not in assignable_forces(actor)):
        return forbidden()
    if role == "local_service":
        force = None
    try:
        created, token = await accounts.invite(
            state_of(request).sessions, values["username"], role=role, force=force,
            service_id=values["service_id"] or None, display_name=values["display_name"], actor=actor.username)
    except accounts.AccountError as exc:
        message = str(exc).replace("--force", "la force").replace("--service ID", "l'identifiant du service")
        return _new_page(request, signed, values, message[0].upper() + message[1:] + ".", 422)
    return _issued(request, signed, created, "activate", token)


def _issued(request: Request, signed: sessions.Signed, target: Account, purpose: str, token: str) -> Response:
    return templates.TemplateResponse(request, "operators/admin/issued.html", _base(
        request, signed, target=target, purpose=LINK_LABELS[purpose], url=_link_url(request, token),
        hours=int(links.LIFETIME.total_seconds() // 3600)))


async def _target(request: Request, signed: sessions.Signed) -> Account | Response:
    target = await accounts.by_username(state_of(request).sessions, str(request.path_params["username"]))
    if target is None:
        return PlainTextResponse("Ce compte n'existe pas.", status_code=404)
    if not manages(signed.account, target):
        return forbidden()
    return target


async def account_page(request: Request) -> Response:
    signed = await access.signed_in(request, roles=ADMINISTRATORS)
    if isinstance(signed, Response):
        return signed
    target = await _target(request, signed)
    if isinstance(target, Response):
        return target
    return _account_page(request, signed, target, None)


def _account_page(request: Request, signed: sessions.Signed, target: Account, error: str | None,
                  status: int = 200) -> Response:
    actor = signed.account
    return templates.TemplateResponse(request, "operators/admin/account.html", _base(
        request, signed, target=target, error=error, self_target=target.id == actor.id,
        role_choices=assignable_roles(actor), force_choices=assignable_forces(actor), max_capacity=MAX_CAPACITY,
        spoken_choices=SPOKEN_CHOICES,
        pending=not target.totp_secret), status_code=status)


async def account_action(request: Request) -> Response:
    signed = await access.signed_in(request, roles=ADMINISTRATORS)
    if isinstance(signed, Response):
        return signed
    target = await _target(request, signed)
    if isinstance(target, Response):
        return target
    form = await _form(request, signed)
    if isinstance(form, Response):
        return form
    actor, action, store = signed.account, _text(form, "action"), state_of(request).sessions
    itself = target.id == actor.id
    here = f"/admin/comptes/{target.username}"
    try:
        if action == "profil":
            # Role and force are only on an admin's form: a supervisor's keeps them as they are.
            role = _text(form, "role") or target.role
            force = (_text(form, "force") or None) if "role" in form else target.force
            if (role != target.role or force != target.force) and (
                    itself or role not in assignable_roles(actor) or (force and force not in assignable_forces(actor))):
                return forbidden()  # nobody changes their own role: an admin could lock everyone out
            raw_capacity = _text(form, "capacity")
            capacity = int(raw_capacity) if raw_capacity.isdigit() else None
            if raw_capacity and capacity is None:
                raise accounts.AccountError(f"la capacité doit être un nombre de 1 à {MAX_CAPACITY}")
            await accounts.update_profile(store, target.username, actor=actor.username,
                                          display_name=_text(form, "display_name"), role=role,
                                          force=force if role in accounts.ROLES_WITH_FORCE else None,
                                          capacity=capacity if role == "operator" else None,
                                          languages=[str(v) for v in form.getlist("languages")]
                                          if role == "operator" else None)
            return RedirectResponse(f"{here}?fait=profil", status_code=303)
        if action in ("desactiver", "reactiver"):
            if itself:
                return forbidden()
            await accounts.set_disabled(store, target.username, action == "desactiver", actor=actor.username)
            return RedirectResponse(f"{here}?fait={action[:-2]}e", status_code=303)
        purpose = {"lien-mot-de-passe": "password", "lien-totp": "totp", "lien-activation": "activate"}.get(action)
        if purpose is not None and not itself:
            token = await accounts.issue_link(store, target.username, purpose, actor=actor.username)
            refreshed = await accounts.by_username(store, target.username)
            return _issued(request, signed, refreshed or target, "activate" if not target.totp_secret else purpose,
                           token)
    except accounts.AccountError as exc:
        message = str(exc).replace("--force", "la force")
        return _account_page(request, signed, target, message[0].upper() + message[1:] + ".", 422)
    return PlainTextResponse("Action inconnue.", status_code=400)


# ---- office hours ---------------------------------------------------------------------------------------------

async def hours_page(request: Request) -> Response:
    signed = await access.signed_in(request, roles=("admin",))
    if isinstance(signed, Response):
        return signed
    return await _hours(request, signed, None)


async def _hours(request: Request, signed: sessions.Signed, error: str | None, typed: str | None = None,
                 status: int = 200) -> Response:
    state = state_of(request)
    spec, stored = await office_hours.current(state)
    slots = office_hours.schedule_or_none(typed if typed is not None else spec)
    return templates.TemplateResponse(request, "operators/admin/hours.html", _base(
        request, signed, spec=typed if typed is not None else spec, stored=stored, error=error,
        default=office_hours.default_spec(state.settings), readable=office_hours.describe(slots) if slots else []),
        status_code=status)


async def hours_save(request: Request) -> Response:
    signed = await access.signed_in(request, roles=("admin",))
    if isinstance(signed, Response):
        return signed
    form = await _form(request, signed)
    if isinstance(form, Response):
        return form
    spec = _text(form, "spec")
    try:
        await office_hours.save(state_of(request), spec, by=signed.account.username)
    except office_hours.ScheduleError:
        return await _hours(request, signed, "Horaires illisibles : écrivez par exemple « mon-fri 09:00-18:00; "
                            "sat 10:00-13:00 » (jours en anglais abrégés, heures de Paris).", spec, 422)
    return RedirectResponse("/admin/horaires?fait=horaires", status_code=303)


# ---- local services directory ---------------------------------------------------------------------------------

async def services_page(request: Request) -> Response:
    signed = await access.signed_in(request, roles=("admin",))
    if isinstance(signed, Response):
        return signed
    query = request.query_params.get("q", "")[:100]
    found = search_services(query)[:MAX_RESULTS] if query.strip() else []
    results = [e for e in (directory.entry(f.service.id) for f in found) if e is not None]
    return templates.TemplateResponse(request, "operators/admin/services.html", _base(
        request, signed, query=query, results=results))


async def service_page(request: Request) -> Response:
    signed = await access.signed_in(request, roles=("admin",))
    if isinstance(signed, Response):
        return signed
    found = directory.entry(str(request.path_params["service_id"]))
    if found is None:
        return PlainTextResponse("Ce service n'existe pas dans l'annuaire.", status_code=404)
    return _service(request, signed, found, None)


def _service(request: Request, signed: sessions.Signed, found: directory.Entry, error: str | None,
             status: int = 200) -> Response:
    return templates.TemplateResponse(request, "operators/admin/service.html", _base(
        request, signed, entry=found, error=error), status_code=status)


async def service_save(request: Request) -> Response:
    signed = await access.signed_in(request, roles=("admin",))
    if isinstance(signed, Response):
        return signed
    service_id = str(request.path_params["service_id"])
    found = directory.entry(service_id)
    if found is None:
        return PlainTextResponse("Ce service n'existe pas dans l'annuaire.", status_code=404)
    form = await _form(request, signed)
    if isinstance(form, Response):
        return form
    state, by = state_of(request), signed.account.username
    if _text(form, "action") == "officiel":
        await directory.revert(state, service_id, by=by)
        return RedirectResponse(f"/admin/services/{service_id}?fait=service-officiel", status_code=303)
    try:
        await directory.save(state, service_id, name=_text(form, "name"), phone=_text(form, "phone"),
                             address=_text(form, "address"), by=by)
    except directory.DirectoryError as exc:
        return _service(request, signed, found, str(exc), 422)
    return RedirectResponse(f"/admin/services/{service_id}?fait=service", status_code=303)
