"""Follow-up codes: 100 random bits written as five groups of four Crockford base32 characters, stored hashed."""

from __future__ import annotations

import hashlib
import secrets

# Crockford's alphabet has no I, L, O or U: nothing to confuse when copying by hand or reading aloud.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# 20 characters × 5 bits = 100 bits: far beyond guessing even without the rate limit (the issue asks ≥ 80).
LENGTH = 20
GROUP = 4
_READ_AS = {"O": "0", "I": "1", "L": "1"}


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return "-".join(raw[i:i + GROUP] for i in range(0, LENGTH, GROUP))


def normalise(code: str) -> str | None:
    """The canonical form of what a person typed (case, spaces, dashes, O/0 and I/L/1 forgiven), or None."""
    cleaned = "".join(_READ_AS.get(ch, ch) for ch in code.upper() if ch not in " -\t.")
    if len(cleaned) != LENGTH or any(ch not in ALPHABET for ch in cleaned):
        return None
    return cleaned


def hash_code(code: str) -> str:
    """SHA-256 of the canonical code: with 100 random bits a fast hash is enough, no dictionary can reach it."""
    canonical = normalise(code)
    if canonical is None:
        raise ValueError("not a follow-up code")
    return hashlib.sha256(f"pnav-followup:{canonical}".encode()).hexdigest()
