"""``/compte/lien/{token}``: what a person does with the one-time link an admin or supervisor gave them.

- ``activate`` (a new account): choose a password, then enrol the TOTP app (QR code) and type its first code;
- ``password``: choose a new password, confirmed with the current code of the TOTP app;
- ``totp``: confirm the password, then enrol a new TOTP app.

The QR code is drawn on the page of whoever holds the link, with a fresh secret at each enrolment step, and never
on an admin page. The link is used up only when the last step succeeds (an atomic update: two submissions cannot
both win); then every session of the account is closed.
"""

from __future__ import annotations

from typing import Any

import segno
from sqlalchemy import update
from starlette.requests import Request
from starlette.responses import Response

from audit import trail
from chat.db import utcnow
from chat.state import state_of
from chat.templating import templates
from operators import access, accounts, csrf, links, passwords, signin, totp
from operators.models import Account

COOKIE = "pnav_link_csrf"
# Form fields are short; anything larger is not a person filling in this form.
MAX_FIELD = 256
GONE = ("Ce lien n'est plus valable : il a déjà servi, il a expiré ou un lien plus récent l'a remplacé. "
        "Demandez-en un nouveau à votre superviseur·e ou à l'administration.")
EXPIRED = "Cette page a expiré. Rouvrez le lien que vous avez reçu et recommencez."
MISMATCH = "Les deux mots de passe ne sont pas identiques."
BAD_CODE = "Ce code ne correspond pas. Vérifiez l'heure de votre téléphone et saisissez le code affiché maintenant."
BAD_PASSWORD = "Mot de passe ou code incorrect."  # noqa: S105 - a French error message
LOCKED = "Trop d'essais : patientez quelques minutes avant de réessayer."


def qr_data_uri(uri: str) -> str:
    """The otpauth:// URI as an SVG QR code in a data: URI (the CSP allows data: images; nothing is stored)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=4)


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing it into an app by hand (a screen reader user cannot scan)."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def _page(request: Request, context: dict[str, Any], status: int = 200) -> Response:
    settings = state_of(request).settings
    nonce = request.cookies.get(COOKIE) or csrf.new_login_nonce()
    response = templates.TemplateResponse(request, "operators/link.html", {
        "csrf": csrf.login_token(settings.secret_key, nonce), "min_password": passwords.MIN_PASSWORD_LENGTH,
        "action": request.url.path, "error": None, **context,
    }, status_code=status)
    response.set_cookie(COOKIE, nonce, max_age=csrf.LOGIN_TOKEN_LIFETIME, path="/compte", httponly=True,
                        samesite="strict", secure=access.cookie_secure(request))
    return response


def _first_step(found: links.Found) -> str:
    return {"activate": "choose", "password": "reset", "totp": "confirm"}[found.link.purpose]


async def link_page(request: Request) -> Response:
    found = await links.find(state_of(request).sessions, str(request.path_params["token"]))
    if found is None:
        return _page(request, {"step": "gone", "message": GONE}, 410)
    return _page(request, {"step": _first_step(found), "account": found.account, "purpose": found.link.purpose})


async def _enrol_page(request: Request, found: links.Found, error: str | None = None) -> Response:
    """A fresh TOTP secret for this link, shown now (and kept on the link until a code confirms it)."""
    secret = totp.new_secret()
    async with state_of(request).sessions.begin() as session:
        await links.set_pending_secret(session, found.link.id, secret)
    uri = totp.provisioning_uri(secret, found.account.username)
    return _page(request, {"step": "enrol", "account": found.account, "purpose": found.link.purpose,
                           "qr": qr_data_uri(uri), "secret": grouped(secret), "error": error},
                 422 if error else 200)


def _locked(account: Account) -> bool:
    return account.locked_until is not None and account.locked_until > utcnow()


async def link_submit(request: Request) -> Response:
    state = state_of(request)
    form = await request.form(max_files=0, max_fields=8)
    field = {k: str(form.get(k, ""))[:MAX_FIELD] for k in ("csrf", "step", "password", "confirm", "totp")}
    # The form's token first: a cross-site or replayed post learns nothing, not even whether the link exists.
    if not csrf.check_login_token(state.settings.secret_key, request.cookies.get(COOKIE), field["csrf"]):
        return _page(request, {"step": "gone", "message": EXPIRED, "heading": "Page expirée"}, 400)
    found = await links.find(state.sessions, str(request.path_params["token"]))
    if found is None:
        return _page(request, {"step": "gone", "message": GONE}, 410)
    account, purpose, step = found.account, found.link.purpose, field["step"]
    again = {"step": _first_step(found), "account": account, "purpose": purpose}
    if _locked(account):
        return _page(request, {**again, "error": LOCKED}, 429)
    if step in ("choose", "reset"):
        problem = passwords.password_problem(field["password"])
        if problem is not None:
            return _page(request, {**again, "error": problem[0].upper() + problem[1:] + "."}, 422)
        if field["password"] != field["confirm"]:
            return _page(request, {**again, "error": MISMATCH}, 422)
    if step == "choose" and purpose == "activate":
        hashed = await passwords.hash_password_async(field["password"])
        async with state.sessions.begin() as session:
            await session.execute(update(Account).where(Account.id == account.id).values(password_hash=hashed))
        return await _enrol_page(request, found)
    if step == "confirm" and purpose == "totp":
        if not await passwords.verify_password_async(account.password_hash, field["password"]):
            await signin.record_failure(state.sessions, account.id)
            return _page(request, {**again, "error": BAD_PASSWORD}, 422)
        return await _enrol_page(request, found)
    if step == "reset" and purpose == "password":
        return await _reset_password(request, found, field["password"], field["totp"], again)
    if step == "enrol" and purpose in ("activate", "totp") and found.link.pending_secret:
        return await _confirm_enrolment(request, found, field["totp"])
    return _page(request, again, 400)


async def _reset_password(request: Request, found: links.Found, password: str, code: str,
                          again: dict[str, Any]) -> Response:
    state = state_of(request)
    account = found.account
    step = totp.matching_step(account.totp_secret, code, account.totp_last_step) if account.totp_secret else None
    if step is None:
        await signin.record_failure(state.sessions, account.id)
        return _page(request, {**again, "error": BAD_PASSWORD}, 422)
    hashed = await passwords.hash_password_async(password)
    async with state.sessions.begin() as session:
        if not await links.consume(session, found.link.id):
            return _page(request, {"step": "gone", "message": GONE}, 410)
        await session.execute(update(Account).where(Account.id == account.id).values(
            password_hash=hashed, totp_last_step=step, failed_logins=0, locked_until=None))
        await accounts.revoke_sessions(session, account.id)
        await trail.record(session, actor=account.username, action="account.password_reset", target=account.username,
                           details={"via": "link", "link_by": found.link.created_by})
    return _page(request, {"step": "done", "purpose": "password", "account": account})


async def _confirm_enrolment(request: Request, found: links.Found, code: str) -> Response:
    state = state_of(request)
    account, secret = found.account, found.link.pending_secret or ""
    step = totp.matching_step(secret, code, 0)
    if step is None:
        # The same secret again: the person may simply have mistyped the code shown by the app just set up.
        uri = totp.provisioning_uri(secret, account.username)
        await signin.record_failure(state.sessions, account.id)
        return _page(request, {"step": "enrol", "account": account, "purpose": found.link.purpose,
                               "qr": qr_data_uri(uri), "secret": grouped(secret), "error": BAD_CODE}, 422)
    async with state.sessions.begin() as session:
        if not await links.consume(session, found.link.id):
            return _page(request, {"step": "gone", "message": GONE}, 410)
        await session.execute(update(Account).where(Account.id == account.id).values(
            totp_secret=secret, totp_last_step=step, failed_logins=0, locked_until=None))
        await accounts.revoke_sessions(session, account.id)
        action = "account.activated" if found.link.purpose == "activate" else "account.totp_reset"
        await trail.record(session, actor=account.username, action=action, target=account.username,
                           details={"via": "link", "link_by": found.link.created_by})
    return _page(request, {"step": "done", "purpose": found.link.purpose, "account": account})
