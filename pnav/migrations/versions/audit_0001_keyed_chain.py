"""audit: the chain is keyed (HMAC-SHA256 under PNAV_AUDIT_KEY) — existing entries are re-chained once

Decision (issue 18): one chain, re-keyed by this migration, rather than a versioned chain whose old part stays
plain SHA-256. With a versioned chain a database administrator could rewrite the whole table as a « legacy »
SHA-256 chain and verify would accept it; re-keyed, every entry needs the key. The old chain is checked first (a
broken one stops the migration, naming the entry: investigate before upgrading), then every entry's link is
recomputed under the key in seq order, and one entry ``audit.rekeyed`` records how many entries were re-keyed and
the old chain's head, so a head written down before the upgrade (deploy/README.md: backups) can still be matched.
An empty table (a new installation) needs no key here.

Revision ID: audit_0001
Revises:
Create Date: 2026-12-06
"""

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from alembic import op
from audit import keys, trail
from chat.db import UTCDateTime, utcnow
from chat.settings import Settings

revision: str = "audit_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("audit",)
# The audit_events table was created by the escalation branch's first migration.
depends_on: str | Sequence[str] | None = "escalation_0001"

EVENTS = sa.table("audit_events", sa.column("seq", sa.Integer), sa.column("at", UTCDateTime()),
                  sa.column("actor", sa.String), sa.column("action", sa.String), sa.column("target", sa.String),
                  sa.column("details", sa.Text), sa.column("prev_hash", sa.String), sa.column("hash", sa.String))


def _rows() -> list[sa.Row[Any]]:
    query = sa.select(EVENTS.c.seq, EVENTS.c.at, EVENTS.c.actor, EVENTS.c.action, EVENTS.c.target, EVENTS.c.details,
                      EVENTS.c.prev_hash, EVENTS.c.hash).order_by(EVENTS.c.seq)
    return list(op.get_bind().execute(query))


def _relink(link: Callable[..., str]) -> tuple[int, str]:
    """Recompute every entry's link with ``link(seq, at, actor, action, target, details, prev)``; (count, head)."""
    prev, count = trail.GENESIS, 0
    for row in _rows():
        new = link(row.seq, row.at, row.actor, row.action, row.target, row.details, prev)
        op.get_bind().execute(sa.update(EVENTS).where(EVENTS.c.seq == row.seq).values(prev_hash=prev, hash=new))
        prev, count = new, count + 1
    return count, prev


def upgrade() -> None:
    rows = _rows()
    if not rows:
        return
    prev = trail.GENESIS
    for index, row in enumerate(rows, start=1):
        expected = trail.legacy_hash(row.seq, row.at, row.actor, row.action, row.target, row.details, prev)
        if row.seq != index or row.prev_hash != prev or row.hash != expected:
            raise RuntimeError(f"the audit log is already broken at entry {row.seq}: it is not re-keyed; "
                               "investigate (pnav audit verify on the previous version) before upgrading")
        prev = row.hash
    legacy_head = prev
    key = keys.load(Settings.from_env())
    count, head = _relink(lambda *fields: trail.entry_mac(key, *fields))
    seq, at = count + 1, utcnow()
    details = trail.canonical({"entries": count, "legacy_head": legacy_head})
    op.get_bind().execute(sa.insert(EVENTS).values(
        seq=seq, at=at, actor="migration", action="audit.rekeyed", target="", details=details, prev_hash=head,
        hash=trail.entry_mac(key, seq, at, "migration", "audit.rekeyed", "", details, head)))


def downgrade() -> None:
    _relink(trail.legacy_hash)
