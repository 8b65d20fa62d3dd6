"""The audit table (created by the escalation branch's first migration, keyed by ``audit_0001``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from chat.db import Base, UTCDateTime


class AuditEvent(Base):
    """Append-only: each entry carries the MAC of the previous one; ``pnav audit verify`` walks the chain.

    ``hash`` is HMAC-SHA256 under ``PNAV_AUDIT_KEY`` of the entry's fields and ``prev_hash`` (``audit.trail``). In the
    documented PostgreSQL setup the application's role may INSERT and SELECT here, never UPDATE or DELETE
    (``deploy/postgresql-roles.sql``)."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(128))
    details: Mapped[str] = mapped_column(Text)
    # Unique: two writers that read the same head cannot both append after it; the loser retries.
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64))
