"""Signed heads of the audit chain, for safe keeping off the database host.

A checkpoint says « the chain had ``count`` entries and entry ``count``'s MAC was ``head`` at ``at`` », signed with an
HMAC under ``PNAV_AUDIT_KEY`` (a different message from any chain entry's). Kept elsewhere (a file on another
machine, a webhook into another system), it turns the two attacks a valid-looking chain can hide into failures of
``pnav audit verify --checkpoint FILE``: a truncated tail (fewer entries than the checkpoint counted) and a history
rewritten by someone holding the key (entry ``count`` no longer has the MAC the checkpoint saw).

One checkpoint is one JSON line; a file of them (``--append``) is checked line by line.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audit import keys, trail
from chat.db import utcnow

WEBHOOK_TIMEOUT_SECONDS = 10.0


class CheckpointError(Exception):
    """A checkpoint that cannot be made or read (broken chain, malformed or unsigned line)."""


@dataclass(frozen=True)
class Checkpoint:
    count: int
    head: str
    at: str
    mac: str

    def line(self) -> str:
        return json.dumps({"count": self.count, "head": self.head, "at": self.at, "mac": self.mac},
                          separators=(",", ":"))


def _signature(key: bytes, count: int, head: str, at: str) -> str:
    message = f"pnav audit checkpoint\n{count}\n{head}\n{at}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="seconds").replace("+00:00", "Z")


async def take(sessions: async_sessionmaker[AsyncSession]) -> Checkpoint:
    """Verify the chain, then sign its head: a broken chain is never vouched for."""
    result = await trail.verify(sessions)
    if result.broken_at is not None:
        raise CheckpointError(f"audit log broken at entry {result.broken_at}: {result.reason}; no checkpoint signed")
    at = _iso(utcnow())
    key = keys.of_factory(sessions)
    return Checkpoint(result.checked, result.head, at, _signature(key, result.checked, result.head, at))


def parse(line: str, key: bytes) -> Checkpoint:
    try:
        raw = json.loads(line)
        point = Checkpoint(int(raw["count"]), str(raw["head"]), str(raw["at"]), str(raw["mac"]))
    except (ValueError, KeyError, TypeError):
        raise CheckpointError("not a checkpoint line") from None
    if point.count < 0 or not hmac.compare_digest(_signature(key, point.count, point.head, point.at), point.mac):
        raise CheckpointError("its signature does not match PNAV_AUDIT_KEY")
    return point


def read(text: str, key: bytes) -> list[Checkpoint]:
    points = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            points.append(parse(line, key))
        except CheckpointError as exc:
            raise CheckpointError(f"checkpoint line {number}: {exc}") from None
    return points


@dataclass(frozen=True)
class Checked:
    verification: trail.Verification
    problems: list[str]


async def check(sessions: async_sessionmaker[AsyncSession], points: list[Checkpoint]) -> Checked:
    """Walk the chain and hold it against every checkpoint: each one's entry must still be there, with its MAC."""
    result = await trail.verify(sessions, keep={p.count for p in points})
    problems: list[str] = []
    if result.broken_at is None:
        for point in points:
            if point.count == 0:
                continue
            if point.count > result.checked:
                problems.append(f"the checkpoint of {point.at} counted {point.count} entries, the log has "
                                f"{result.checked}: its tail was removed")
            elif not hmac.compare_digest(result.macs[point.count], point.head):
                problems.append(f"entry {point.count} is not the one the checkpoint of {point.at} saw: the history "
                                "was rewritten")
    return Checked(result, problems)


async def send(url: str, point: Checkpoint) -> None:
    """POST the checkpoint as JSON; anything but a 2xx answer is an error (the caller keeps it elsewhere)."""
    async with httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT_SECONDS, follow_redirects=False) as client:
        response = await client.post(url, content=point.line(), headers={"Content-Type": "application/json"})
    if not response.is_success:
        raise CheckpointError(f"the webhook answered {response.status_code}")
