"""CSRF tokens: tied to the session for signed-in forms, signed with the secret key for the login form."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

LOGIN_COOKIE = "pnav_login_csrf"
# The login form stays valid for one hour: long enough to find the phone with the TOTP app, short enough that
# a token copied from a page left open is soon useless.
LOGIN_TOKEN_LIFETIME = 3_600


def _mac(secret_key: str, *parts: str) -> str:
    return hmac.new(secret_key.encode(), "|".join(parts).encode(), hashlib.sha256).hexdigest()


def session_token(secret_key: str, session_id: str, csrf_secret: str) -> str:
    """The token every form of a signed-in page carries: only this session can produce it."""
    return _mac(secret_key, "session", session_id, csrf_secret)


def check_session_token(secret_key: str, session_id: str, csrf_secret: str, token: object) -> bool:
    return isinstance(token, str) and hmac.compare_digest(session_token(secret_key, session_id, csrf_secret), token)


def new_login_nonce() -> str:
    """Random value set in a cookie before sign-in; the form token must be signed for it (double submit)."""
    return secrets.token_urlsafe(24)


def login_token(secret_key: str, nonce: str, now: float | None = None) -> str:
    issued = str(int(time.time() if now is None else now))
    return f"{issued}.{_mac(secret_key, 'login', nonce, issued)}"


def check_login_token(secret_key: str, nonce: str | None, token: object, now: float | None = None) -> bool:
    if not nonce or not isinstance(token, str) or "." not in token:
        return False
    issued, mac = token.split(".", 1)
    if not issued.isdigit():
        return False
    age = (time.time() if now is None else now) - int(issued)
    return 0 <= age <= LOGIN_TOKEN_LIFETIME and hmac.compare_digest(_mac(secret_key, "login", nonce, issued), mac)
