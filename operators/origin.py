"""Same-origin check for the console WebSocket: browsers send Origin, and a cross-site page must not ride on the
operator's cookie (cross-site WebSocket hijacking)."""

from __future__ import annotations

from starlette.requests import HTTPConnection


def same_origin(conn: HTTPConnection, trusted: tuple[str, ...] = ()) -> bool:
    """True when the Origin header names this very host (same scheme family) or one of the trusted origins."""
    origin = conn.headers.get("origin")
    host = conn.headers.get("host")
    if not origin or not host:
        return False
    origin = origin.rstrip("/")
    if origin in trusted:
        return True
    secure = conn.url.scheme in ("https", "wss")
    return origin == f"{'https' if secure else 'http'}://{host}"
