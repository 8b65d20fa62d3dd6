"""Sign-in guesses slowed per account and source, with delays that grow (OWASP, Authentication Cheat Sheet).

A key is a keyed hash of the username typed and the source (itself a keyed hash of the address, chat.limits):
the same for an unknown username, so a delay reveals nothing about which accounts exist. The first failures are
free (typing mistakes), then each one makes the next try from that source on that username wait 5, 10, 20 … seconds,
up to 15 minutes; the owner signing in from elsewhere is never delayed by a stranger's guesses. Kept in memory
per process, with a random key drawn at start: nothing here can be turned back into an address or a username.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict

from chat.state import ChatState

FREE_FAILURES = 3
FIRST_DELAY = 5.0
MAX_DELAY = 15 * 60.0
# Keys kept (the least recently used forgotten past it): an attacker rotating usernames cannot grow the memory.
SIZE = 100_000

TOO_SOON = ("Trop de tentatives pour cet identifiant depuis votre poste. Patientez {seconds} puis réessayez ; "
            "si vous avez oublié votre mot de passe, demandez un lien de réinitialisation à un administrateur.")


def delay_after(failures: int) -> float:
    """How long the next try waits after ``failures`` in a row (0 while they are free)."""
    if failures < FREE_FAILURES:
        return 0.0
    return min(FIRST_DELAY * float(1 << min(failures - FREE_FAILURES, 20)), MAX_DELAY)


def wording(seconds: float) -> str:
    whole = max(1, round(seconds + 0.499))
    if whole < 60:
        return f"{whole} seconde{'s' if whole > 1 else ''}"
    minutes = round(whole / 60 + 0.499)
    return f"{minutes} minute{'s' if minutes > 1 else ''}"


class SigninThrottle:
    def __init__(self, size: int = SIZE) -> None:
        self._key = secrets.token_bytes(32)
        self.size = size
        # key → (failures in a row, monotonic time before which the next try is refused)
        self.entries: OrderedDict[str, tuple[int, float]] = OrderedDict()

    def key(self, username: str, source: str | None) -> str:
        material = f"{username.strip().casefold()}\0{source or '-'}".encode()
        return hmac.new(self._key, material, hashlib.sha256).hexdigest()[:32]

    def wait(self, key: str) -> float:
        """Seconds before this key may try again (0: now)."""
        entry = self.entries.get(key)
        return 0.0 if entry is None else max(0.0, entry[1] - time.monotonic())

    def failed(self, key: str) -> None:
        failures = self.entries.pop(key, (0, 0.0))[0] + 1
        self.entries[key] = (failures, time.monotonic() + delay_after(failures))
        if len(self.entries) > self.size:
            self.entries.popitem(last=False)

    def succeeded(self, key: str) -> None:
        self.entries.pop(key, None)


def throttle_of(state: ChatState) -> SigninThrottle:
    return state.extension("operators.signin_throttle", SigninThrottle)
