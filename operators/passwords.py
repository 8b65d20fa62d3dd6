"""Password hashing with argon2id, and a dummy hash so a wrong username costs as much as a wrong password."""

from __future__ import annotations

import asyncio
import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# argon2-cffi's RFC 9106 "low memory" profile (argon2id, t=3, m=64 MiB, p=4): about 50 ms per login on a
# 2-core server — slow enough to make offline guessing expensive, fast enough for a shift change at 7 h.
_hasher = PasswordHasher()

# Passwords shorter than this are refused at creation: 12 characters is the ANSSI minimum for accounts that
# are also protected by a second factor.
MIN_PASSWORD_LENGTH = 12
# argon2 hashes anything, but a multi-megabyte "password" is only a way to burn our CPU.
MAX_PASSWORD_LENGTH = 256

# At most 4 hashes at once per process (4 × 64 MiB): a burst of sign-ins, or someone hammering /login, waits
# its turn instead of exhausting memory.
_slots = threading.BoundedSemaphore(4)

_DUMMY_HASH = _hasher.hash("pnav-dummy-password-never-valid")


def hash_password(password: str) -> str:
    with _slots:
        return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches; with no hash (unknown user) a dummy hash is verified for equal timing."""
    try:
        with _slots:
            ok = _hasher.verify(password_hash or _DUMMY_HASH, password[:MAX_PASSWORD_LENGTH])
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return ok and password_hash is not None


async def hash_password_async(password: str) -> str:
    """Hash in a worker thread: argon2 takes tens of milliseconds that must not freeze every socket of the process."""
    return await asyncio.to_thread(hash_password, password)


async def verify_password_async(password_hash: str | None, password: str) -> bool:
    return await asyncio.to_thread(verify_password, password_hash, password)


def password_problem(password: str) -> str | None:
    """A French reason why this password cannot be used, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"le mot de passe doit compter au moins {MIN_PASSWORD_LENGTH} caractères"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"le mot de passe doit compter au plus {MAX_PASSWORD_LENGTH} caractères"
    return None
