"""Accounts of the people who answer, their server-side sessions, and what the consoles record."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from chat.db import Base, UTCDateTime, utcnow

ROLES = ("operator", "psychologist", "supervisor", "local_service", "admin")
FORCES = ("police", "gendarmerie")
# An operator answers about 4 tchats at once (issue 21); some manage more than 10, so up to MAX_CAPACITY is allowed.
DEFAULT_CAPACITY = 4
MAX_CAPACITY = 20
OUTCOMES = (
    "complaint_oriented", "association_oriented", "information_given", "witness_informed", "visitor_left", "other",
)


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    force: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # A local service id of routing.local_service_by_id (commissariat or brigade), for role local_service.
    service_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    totp_secret: Mapped[str] = mapped_column(String(64))
    # Time step of the last accepted TOTP code: a code seen once is never accepted again (replay).
    totp_last_step: Mapped[int] = mapped_column(Integer, default=0)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # How many tchats an operator answers at once (set by a supervisor of the force or an admin): about 4 is usual.
    capacity: Mapped[int] = mapped_column(Integer, default=DEFAULT_CAPACITY, server_default=str(DEFAULT_CAPACITY))
    # What an operator says of themselves: available | paused | absent (operators.offers). Only « available »
    # operators with a console open are offered tchats; three offers let lapse in a row set « absent ».
    status: Mapped[str] = mapped_column(String(16), default="available", server_default="available")
    lapses: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # When the operator last got a tchat (take or accepted offer): ties in offer mode go to who waited longest.
    last_assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The languages an operator speaks, set by a supervisor or an admin (codes of chat/languages.py, separated by
    # commas, French always): in pick mode their console lists first the tchats in these languages; in offer mode
    # a tchat in another language than French is offered first to those who speak it.
    languages: Mapped[str] = mapped_column(String(32), default="fr", server_default="fr")

    @property
    def spoken(self) -> tuple[str, ...]:
        return tuple(code for code in self.languages.split(",") if code)


class AccountSession(Base):
    """A signed-in browser. The cookie holds a random value; only its sha256 is stored here."""

    __tablename__ = "account_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    csrf_secret: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Last heartbeat of a console WebSocket on this session: "online" for the supervisor and the invitations.
    console_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class CannedAnswer(Base):
    """A ready-made message (complaint, evidence, safety, emergency numbers) that supervisors maintain."""

    __tablename__ = "canned_answers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # The language it is written in (issue 22): the console proposes first the answers in the visitor's language.
    language: Mapped[str] = mapped_column(String(8), default="fr", server_default="fr")
    updated_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Invitation(Base):
    """An operator's request for a psychologist to join a live tchat; the first psychologist to accept wins."""

    __tablename__ = "psychologist_invitations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    invited_by: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | accepted | cancelled
    accepted_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (Index("ix_psychologist_invitations_status", "status", "created_at"),)


class Transfer(Base):
    """A tchat handed to another operator, or put back in the queue of the other force, with a note."""

    __tablename__ = "conversation_transfers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    from_account: Mapped[str] = mapped_column(String(32))
    to_account: Mapped[str | None] = mapped_column(String(32), nullable=True)
    to_force: Mapped[str | None] = mapped_column(String(16), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ClosingNote(Base):
    """The operator's private note on a closed tchat: never shown to the visitor."""

    __tablename__ = "closing_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AccountLink(Base):
    """A one-time link given to a person by an admin or supervisor: first sign-in (choose a password, then enrol the
    TOTP app), a new password, or a new TOTP app. Only the SHA-256 of the link's token is stored; it expires and
    works once."""

    __tablename__ = "account_links"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))  # activate | password | totp
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The TOTP secret being enrolled: shown once to the person who holds the link, kept until they confirm a code.
    pending_secret: Mapped[str | None] = mapped_column(String(64), nullable=True)


class PsychologistHours(Base):
    """The psychologists' office hours as admins set them on the web (one row); PNAV_PSYCHOLOGIST_HOURS until then."""

    __tablename__ = "psychologist_hours"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    spec: Mapped[str] = mapped_column(String(500))
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ServiceOverride(Base):
    """An admin's correction of a local service of the shipped directory (name, phone, address), without a deploy."""

    __tablename__ = "local_service_overrides"

    service_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40), nullable=True)
    address: Mapped[str | None] = mapped_column(String(300), nullable=True)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Whisper(Base):
    """A message only staff in the tchat see (supervisor, operator, psychologist): never the visitor. Kept apart
    from ``messages`` so that nothing that reads a visitor's transcript can ever meet one; placed after the message
    ``after_seq`` in the staff's transcript."""

    __tablename__ = "whispers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    after_seq: Mapped[int] = mapped_column(Integer)
    author_role: Mapped[str] = mapped_column(String(16))
    author_id: Mapped[str] = mapped_column(String(32))
    author_name: Mapped[str] = mapped_column(String(128))
    body: Mapped[str] = mapped_column(Text)
    client_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("conversation_id", "client_id", name="uq_whispers_conversation_client"),)


class RoutingMode(Base):
    """How a force's queue reaches its operators: ``pick`` (they take from the queue) or ``offer`` (each waiting
    tchat is offered to one available operator in turn). A force without a row is in ``pick`` mode."""

    __tablename__ = "routing_modes"

    force: Mapped[str] = mapped_column(String(16), primary_key=True)
    mode: Mapped[str] = mapped_column(String(8))
    changed_by: Mapped[str] = mapped_column(String(64))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Offer(Base):
    """A waiting tchat offered to one operator, who accepts before ``expires_at`` or lets it lapse. The partial
    unique indexes are the last word across processes: one open offer per tchat, one per operator."""

    __tablename__ = "offers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | accepted | lapsed | withdrawn
    offered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (
        Index("uq_offers_open_conversation", "conversation_id", unique=True,
              postgresql_where=text("status = 'open'"), sqlite_where=text("status = 'open'")),
        Index("uq_offers_open_account", "account_id", unique=True,
              postgresql_where=text("status = 'open'"), sqlite_where=text("status = 'open'")),
        Index("ix_offers_status_expires", "status", "expires_at"),
    )
