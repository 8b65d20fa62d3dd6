"""How every pnav server runs uvicorn (the command line's and the tests'), and what `pnav serve` refuses."""

from __future__ import annotations

import ipaddress
from typing import Any

from chat.settings import Settings
from pnav.websocket_protocol import WEBSOCKET_SETTINGS, lean_protocol

# uvicorn.Config arguments shared by `pnav serve` and the tests' servers. uvicorn's own proxy-header handling is off:
# pnav applies it in the app (PNAV_FORWARDED_ALLOW_IPS, pnav/app.py), whereas uvicorn's would trust 127.0.0.1 by
# default and let any local process, or a proxy that forgot to overwrite the header, choose the client address.
SERVER_SETTINGS: dict[str, Any] = {
    **WEBSOCKET_SETTINGS,
    "proxy_headers": False,
    "server_header": False,
    "access_log": False,
}


def server_settings(settings: Settings) -> dict[str, Any]:
    """``SERVER_SETTINGS`` with what the settings choose: the delay after which a stalled socket is aborted."""
    return {**SERVER_SETTINGS, "ws": lean_protocol(settings.socket_stall_seconds)}


def is_loopback(host: str) -> bool:
    """True for an address only this machine reaches (127.0.0.0/8, ::1) and for ``localhost``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name or a typo: it may resolve to a public interface
