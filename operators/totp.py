"""Time-based one-time codes (RFC 6238, 30-second steps) as the second factor, with replay protection."""

from __future__ import annotations

import time

import pyotp

ISSUER = "pnav"
STEP_SECONDS = 30
# One step either side: a phone clock 30 s off, or a code typed just as it changed, still works.
VALID_WINDOW = 1


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str) -> str:
    uri: str = pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)
    return uri


def current_code(secret: str, at: float | None = None) -> str:
    code: str = pyotp.TOTP(secret).at(time.time() if at is None else at)
    return code


def matching_step(secret: str, code: str, last_step: int, now: float | None = None) -> int | None:
    """The time step the code belongs to if it is valid and newer than ``last_step`` (never reused), else None."""
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    now = time.time() if now is None else now
    totp = pyotp.TOTP(secret)
    step_now = int(now // STEP_SECONDS)
    found = None
    for step in range(step_now - VALID_WINDOW, step_now + VALID_WINDOW + 1):
        if pyotp.utils.strings_equal(totp.at(step * STEP_SECONDS), code) and step > last_step:
            found = step
    return found
