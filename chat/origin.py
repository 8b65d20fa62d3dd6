"""Origin checks for WebSockets: a page of another site must not open sockets to pnav in the user's browser."""

from __future__ import annotations

from starlette.requests import HTTPConnection


def origin_allowed(conn: HTTPConnection, trusted: tuple[str, ...] = (), *, require: bool = False) -> bool:
    """True when Origin names this very host or a trusted origin.

    Browsers always send Origin on a WebSocket handshake; other clients (a mobile app, load tests) may not.
    ``require`` is for cookie-authenticated sockets, where a missing Origin is refused too.
    """
    origin = conn.headers.get("origin")
    if not origin:
        return not require
    host = conn.headers.get("host")
    origin = origin.rstrip("/")
    if origin in trusted:
        return True
    if not host:
        return False
    secure = conn.url.scheme in ("https", "wss")
    return origin == f"{'https' if secure else 'http'}://{host}"
