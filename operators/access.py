"""Helpers for HTTP handlers (ours and other packages'): who is signed in, role checks, CSRF on forms.

Usage in another package::

    signed = await access.signed_in(request, roles=("local_service",))
    if isinstance(signed, Response):
        return signed  # redirect to /login, or 403 page
    form = await request.form()
    if not access.csrf_ok(request, signed, form.get("csrf")):
        return access.csrf_failed()
"""

from __future__ import annotations

from starlette.requests import HTTPConnection, Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from chat.state import state_of
from operators import csrf, sessions


async def current(conn: HTTPConnection) -> sessions.Signed | None:
    return await sessions.lookup(state_of(conn).sessions, conn.cookies.get(sessions.COOKIE))


async def signed_in(request: Request, *, roles: tuple[str, ...]) -> sessions.Signed | Response:
    """The signed-in account if its role is in ``roles``; otherwise a redirect to /login or a French 403."""
    signed = await current(request)
    if signed is None:
        return RedirectResponse("/login", status_code=303)
    if signed.account.role not in roles:
        return PlainTextResponse("Accès refusé : votre rôle ne permet pas d'ouvrir cette page.", status_code=403)
    return signed


def csrf_token(conn: HTTPConnection, signed: sessions.Signed) -> str:
    return csrf.session_token(state_of(conn).settings.secret_key, signed.session_id, signed.csrf_secret)


def csrf_ok(conn: HTTPConnection, signed: sessions.Signed, token: object) -> bool:
    return csrf.check_session_token(state_of(conn).settings.secret_key, signed.session_id, signed.csrf_secret, token)


def csrf_failed() -> Response:
    return PlainTextResponse("La page a expiré. Revenez en arrière, rechargez-la et recommencez.", status_code=403)


def cookie_secure(conn: HTTPConnection) -> bool:
    """Secure in production, and whenever the page came over TLS (directly or through a trusted proxy)."""
    return state_of(conn).settings.environment == "production" or conn.url.scheme == "https"
