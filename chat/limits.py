"""Per-source limits: new tchats per hour, open visitor sockets and sign-in attempts per source address.

The source is an HMAC of the peer address under a key drawn at random when the process starts and never written
anywhere: the counters live in memory only, cannot be reversed to an address, and vanish with the process.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import Counter

from starlette.requests import HTTPConnection

from chat.hooks import peer_address
from chat.ratelimit import KeyedLimiter
from chat.state import ChatState

# 20 new tchats per hour from one address: a person in distress may start over a few times (closed tab, quick
# exit, wrong category); a family or a shared mobile-carrier address (CGNAT) rarely starts more than that. A script
# filling the queues with fake tchats is stopped after 20 and gets one more every 3 minutes.
TCHATS_PER_HOUR = 20
# 50 open visitor sockets per address: one tab needs one socket (two while reconnecting); 50 leaves room for many
# people behind one carrier address while one machine cannot hold thousands of sockets open.
SOCKETS_PER_SOURCE = 50

# 10 sign-in attempts per 15 minutes from one address, whatever the accounts: staff sign in once per shift and
# mistype a code now and then; one address trying passwords across many accounts (which the per-account lockout
# alone would not stop) is held to 40 attempts an hour.
LOGINS_PER_15_MINUTES = 10

TOO_MANY_TCHATS = (
    "Trop de conversations ont été ouvertes depuis votre connexion. Patientez quelques minutes puis réessayez ; "
    "en cas de danger, appelez le 17 ou le 112, ou envoyez un SMS au 114."
)
TOO_MANY_LOGINS = "Trop de tentatives de connexion depuis votre poste. Patientez quelques minutes puis réessayez."
TOO_MANY_SOCKETS = (
    "Trop de connexions sont ouvertes depuis votre réseau. Fermez les onglets inutiles puis réessayez ; "
    "en cas de danger, appelez le 17 ou le 112, ou envoyez un SMS au 114."
)


class SourceLimits:
    def __init__(self, tchats_per_hour: int, sockets: int, logins_per_15_minutes: int = 0) -> None:
        self._key = secrets.token_bytes(32)
        self.tchats = KeyedLimiter(tchats_per_hour / 3600, tchats_per_hour) if tchats_per_hour > 0 else None
        self.logins = (KeyedLimiter(logins_per_15_minutes / 900, logins_per_15_minutes)
                       if logins_per_15_minutes > 0 else None)
        self.max_sockets = sockets
        self.sockets: Counter[str] = Counter()

    def source(self, conn: HTTPConnection) -> str | None:
        address = peer_address(conn)
        if address is None:
            return None
        return hmac.new(self._key, address.encode(), hashlib.sha256).hexdigest()[:32]

    def allow_tchat(self, conn: HTTPConnection) -> bool:
        source = self.source(conn)
        return self.tchats is None or source is None or self.tchats.allow(source)

    def allow_login(self, conn: HTTPConnection) -> bool:
        source = self.source(conn)
        return self.logins is None or source is None or self.logins.allow(source)

    def open_socket(self, conn: HTTPConnection) -> str | None:
        """Count one more socket for this source; returns the key to release, or None when over the limit."""
        source = self.source(conn) or "-"
        if self.max_sockets > 0 and self.sockets[source] >= self.max_sockets:
            return None
        self.sockets[source] += 1
        return source

    def close_socket(self, source: str) -> None:
        self.sockets[source] -= 1
        if self.sockets[source] <= 0:
            del self.sockets[source]


def _setting(state: ChatState, name: str, default: int) -> int:
    raw = state.settings.extra.get(name, "")
    return int(raw) if raw.strip().isdigit() else default


def limits_of(state: ChatState) -> SourceLimits:
    """The process's limits, made on first use. The test environment has none unless PNAV_… asks for them."""
    testing = state.settings.environment == "test"
    return state.extension("chat.limits", lambda: SourceLimits(
        _setting(state, "PNAV_TCHATS_PER_HOUR_PER_SOURCE", 0 if testing else TCHATS_PER_HOUR),
        _setting(state, "PNAV_SOCKETS_PER_SOURCE", 0 if testing else SOCKETS_PER_SOURCE),
        _setting(state, "PNAV_LOGINS_PER_15_MINUTES_PER_SOURCE", 0 if testing else LOGINS_PER_15_MINUTES),
    ))
