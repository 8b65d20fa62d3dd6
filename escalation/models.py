"""Signalements and their status history and documents, proposals awaiting consent, sealed identities, lifting
requests and the webhook outbox (the audit log is ``audit.models``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from chat.db import Base, UTCDateTime, utcnow

SIGNALEMENT_STATUSES = ("transmitted", "acknowledged", "unreachable", "contact_made", "appointment_given",
                        "complaint_filed", "closed")
PROPOSAL_STATES = ("pending", "consented", "refused", "superseded")
LIFTING_STATES = ("filed", "approved", "unsealed", "rejected")


class Proposal(Base):
    """An operator's proposal of a signalement, shown to the visitor as a consent form until they answer."""

    __tablename__ = "signalement_proposals"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    proposed_by: Mapped[str] = mapped_column(String(32))
    summary: Mapped[str] = mapped_column(Text)
    service_id: Mapped[str] = mapped_column(String(64))
    consent_version: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Signalement(Base):
    __tablename__ = "signalements"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    proposal_id: Mapped[str] = mapped_column(ForeignKey("signalement_proposals.id", ondelete="CASCADE"), unique=True)
    service_id: Mapped[str] = mapped_column(String(64))
    force: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32))
    insee: Mapped[str] = mapped_column(String(5))
    commune_name: Mapped[str] = mapped_column(String(128))
    department: Mapped[str] = mapped_column(String(3))
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    minor: Mapped[bool] = mapped_column(Boolean, default=False)
    proposed_by: Mapped[str] = mapped_column(String(32))
    # The operator's account of the facts; emptied by the retention purge once the signalement is closed.
    summary: Mapped[str] = mapped_column(Text)
    # AES-256-GCM of the contact details JSON, key from PNAV_CONTACT_KEY (never in the database); NULL once purged.
    contact_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    consent_version: Mapped[str] = mapped_column(String(32))
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # SHA-256 of the follow-up code; the code itself is shown once to the visitor and never stored.
    followup_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    status: Mapped[str] = mapped_column(String(24), default="transmitted")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (Index("ix_signalements_service", "service_id", "status", "created_at"),)


class StatusEvent(Base):
    """One step of a signalement (transmitted, acknowledged, contact made…), time-stamped; shown on /suivi."""

    __tablename__ = "signalement_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    signalement_id: Mapped[str] = mapped_column(ForeignKey("signalements.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(24))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    by_account: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # The service's own note on this step (AES-256-GCM under PNAV_CONTACT_KEY, like the contact details); never
    # shown to the visitor; NULL when none was written or once purged.
    note_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class SealedIdentity(Base):
    """The address a visitor connected from, sealed to the offline public key (see escalation.crypto)."""

    __tablename__ = "sealed_identities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    key_id: Mapped[str] = mapped_column(String(16))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LiftingRequest(Base):
    """A prosecutor's agreement to lift a visitor's anonymity, filed by one supervisor and approved by another."""

    __tablename__ = "lifting_requests"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    force: Mapped[str] = mapped_column(String(16))
    parquet: Mapped[str] = mapped_column(String(200))
    magistrate: Mapped[str] = mapped_column(String(200))
    reference: Mapped[str] = mapped_column(String(100))
    authorised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    filed_by: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    approved_by: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    state: Mapped[str] = mapped_column(String(16), default="filed")
    unsealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (
        # Four eyes, enforced by the database itself: nobody approves their own request.
        CheckConstraint("approved_by IS NULL OR approved_by <> filed_by", name="two_people"),
    )


class SignalementAttachment(Base):
    """A file the visitor chose to hand over with her signalement (on the consent form, or later from /suivi): the
    local service downloads its original. The attachment row and its sealed bytes belong to ``chat.attachments``."""

    __tablename__ = "signalement_attachments"

    signalement_id: Mapped[str] = mapped_column(ForeignKey("signalements.id", ondelete="CASCADE"), primary_key=True)
    attachment_id: Mapped[str] = mapped_column(ForeignKey("attachments.id", ondelete="CASCADE"), primary_key=True,
                                               index=True)
    source: Mapped[str] = mapped_column(String(8))  # consent | followup
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WebhookDelivery(Base):
    """Outbox of notifications to a local service's own system, written with the signalement, sent until acked."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    signalement_id: Mapped[str] = mapped_column(ForeignKey("signalements.id", ondelete="CASCADE"), index=True)
    service_id: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_webhook_deliveries_due", "delivered_at", "next_attempt_at"),)
