"""HTTP pages of the staff side: sign-in, sign-out, the console shell, canned answers, account overview."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from chat.limits import TOO_MANY_LOGINS, limits_of
from chat.state import state_of
from chat.templating import templates
from operators import access, accounts, canned, csrf, sessions, signin, signin_alerts, signin_throttle
from operators.permissions import CONSOLE_ROLES
from operators.stats.labels import NO_SUBTYPE_LABEL, OUTCOME_LABELS, SUBTYPE_LABELS

# Form fields are short; anything larger is not a human filling in this form.
MAX_FIELD = 256


def _login_page(request: Request, error: str | None, status: int = 200, username: str = "") -> Response:
    """The sign-in form; after a failure it keeps the username typed (never the password or the code)."""
    settings = state_of(request).settings
    nonce = request.cookies.get(csrf.LOGIN_COOKIE) or csrf.new_login_nonce()
    response = templates.TemplateResponse(
        request, "operators/login.html",
        {"csrf": csrf.login_token(settings.secret_key, nonce), "error": error, "username": username},
        status_code=status,
    )
    response.set_cookie(csrf.LOGIN_COOKIE, nonce, max_age=csrf.LOGIN_TOKEN_LIFETIME, path="/login", httponly=True,
                        samesite="strict", secure=access.cookie_secure(request))
    return response


async def login_form(request: Request) -> Response:
    if await access.current(request) is not None:
        return RedirectResponse("/console", status_code=303)
    return _login_page(request, None)


async def login(request: Request) -> Response:
    state = state_of(request)
    form = await request.form(max_files=0, max_fields=8)
    field = {k: str(form.get(k, ""))[:MAX_FIELD] for k in ("username", "password", "totp", "csrf")}
    if not csrf.check_login_token(state.settings.secret_key, request.cookies.get(csrf.LOGIN_COOKIE), field["csrf"]):
        return _login_page(request, "La page de connexion a expiré. Merci de saisir à nouveau vos identifiants.", 400,
                           field["username"])
    limits = limits_of(state)
    if not limits.allow_login(request):
        return _login_page(request, TOO_MANY_LOGINS, 429, field["username"])
    # Guesses are slowed per username and source: a stranger's failures never delay the owner elsewhere.
    throttle = signin_throttle.throttle_of(state)
    key = throttle.key(field["username"], limits.source(request))
    wait = throttle.wait(key)
    if wait > 0:
        return _login_page(request, signin_throttle.TOO_SOON.format(seconds=signin_throttle.wording(wait)), 429,
                           field["username"])
    account = await signin.check(state.sessions, field["username"], field["password"], field["totp"])
    if isinstance(account, signin.Refused):
        throttle.failed(key)
        if account.account is not None:
            await signin_alerts.failed(state, account.account, account.failures)
        return _login_page(request, signin.FAILED, 401, field["username"])
    throttle.succeeded(key)
    cookie = await sessions.open_session(state.sessions, account.id, audit_as=account.username)
    response = RedirectResponse("/console", status_code=303)
    response.set_cookie(sessions.COOKIE, cookie, max_age=int(sessions.ABSOLUTE_LIFETIME.total_seconds()), path="/",
                        httponly=True, samesite="strict", secure=access.cookie_secure(request))
    response.delete_cookie(csrf.LOGIN_COOKIE, path="/login")
    return response


async def logout(request: Request) -> Response:
    signed = await access.current(request)
    if signed is not None:
        form = await request.form(max_files=0, max_fields=4)
        if not access.csrf_ok(request, signed, form.get("csrf")):
            return access.csrf_failed()
        await sessions.revoke(state_of(request).sessions, signed.session_id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(sessions.COOKIE, path="/")
    return response


async def console_page(request: Request) -> Response:
    signed = await access.signed_in(request, roles=(*CONSOLE_ROLES, "local_service", "admin"))
    if isinstance(signed, Response):
        return signed
    account = signed.account
    context = {"account": account, "csrf": access.csrf_token(request, signed)}
    if account.role in CONSOLE_ROLES:
        context.update(outcomes=OUTCOME_LABELS, subtypes=SUBTYPE_LABELS, no_subtype=NO_SUBTYPE_LABEL)
        return templates.TemplateResponse(request, "operators/console.html", context)
    if account.role == "admin":
        context["accounts"] = await accounts.all_accounts(state_of(request).sessions)
    return templates.TemplateResponse(request, "operators/home.html", context)


# The languages a canned answer can be written in (issue 22), named in French for the staff.
CANNED_LANGUAGES = {"fr": "Français", "en": "Anglais", "ar": "Arabe", "es": "Espagnol", "pt": "Portugais",
                    "uk": "Ukrainien"}


async def canned_page(request: Request) -> Response:
    signed = await access.signed_in(request, roles=("supervisor", "admin"))
    if isinstance(signed, Response):
        return signed
    return await _canned(request, signed, None)


async def _canned(request: Request, signed: sessions.Signed, error: str | None, status: int = 200) -> Response:
    answers = await canned.all_answers(state_of(request).sessions)
    return templates.TemplateResponse(request, "operators/canned.html", {
        "account": signed.account, "csrf": access.csrf_token(request, signed), "answers": answers, "error": error,
        "max_title": canned.MAX_TITLE, "max_body": canned.MAX_BODY, "languages": CANNED_LANGUAGES,
    }, status_code=status)


async def canned_save(request: Request) -> Response:
    signed = await access.signed_in(request, roles=("supervisor", "admin"))
    if isinstance(signed, Response):
        return signed
    form = await request.form(max_files=0, max_fields=8)
    if not access.csrf_ok(request, signed, form.get("csrf")):
        return access.csrf_failed()
    title = str(form.get("title", "")).strip()
    body = str(form.get("body", "")).strip().replace("\r\n", "\n")
    raw_id, raw_position = str(form.get("id", "")), str(form.get("position", "0"))
    if not title or not body or len(title) > canned.MAX_TITLE or len(body) > canned.MAX_BODY:
        return await _canned(request, signed, "Le titre et le texte sont obligatoires et doivent rester courts.", 422)
    answer_id = int(raw_id) if raw_id.isdigit() else None
    position = int(raw_position) if raw_position.isdigit() else 0
    language = str(form.get("language", "fr"))
    if language not in CANNED_LANGUAGES:
        return await _canned(request, signed, "Langue inconnue.", 422)
    if not await canned.save(state_of(request).sessions, answer_id, title=title, body=body, position=position,
                             by=signed.account.id, actor=signed.account.username, language=language):
        return await _canned(request, signed, "Cette réponse n'existe plus.", 404)
    return RedirectResponse("/console/reponses", status_code=303)


async def canned_delete(request: Request) -> Response:
    signed = await access.signed_in(request, roles=("supervisor", "admin"))
    if isinstance(signed, Response):
        return signed
    form = await request.form(max_files=0, max_fields=4)
    if not access.csrf_ok(request, signed, form.get("csrf")):
        return access.csrf_failed()
    raw_id = str(form.get("id", ""))
    if raw_id.isdigit():
        await canned.remove(state_of(request).sessions, int(raw_id), actor=signed.account.username)
    return RedirectResponse("/console/reponses", status_code=303)

