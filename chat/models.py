"""Conversations, their messages and participants: the truth every process reads and writes."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from chat.db import Base, UTCDateTime, utcnow

CATEGORIES = ("sexual_violence", "domestic_violence", "discrimination_hate")
ROLES = ("victim", "witness", "relative", "professional")
FORCES = ("police", "gendarmerie")
STATUSES = ("queued", "active", "closed", "abandoned")
AUTHORS = ("visitor", "operator", "psychologist", "system")
# A tchat opened sans localisation (the visitor would not or could not say where) has empty location fields
# (postal code, INSEE code, commune, département) and, until an operator of either force takes it, an empty force:
# it waits in the queue ``queue::<category>`` that consoles of both forces follow. The operator in charge may set
# the commune later. Empty strings rather than NULL: the columns stay NOT NULL (SQLite cannot drop a NOT NULL
# without rebuilding the table, and that rebuild's DROP would cascade to the messages), every ``force == X``
# filter already leaves these tchats out, and no code path can mistake "" for a force.
UNLOCATED = ""


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # sha256 of the visitor's token: the token itself is never stored, so a database dump opens no conversation.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    category: Mapped[str] = mapped_column(String(32))
    requester_role: Mapped[str] = mapped_column(String(16))
    postal_code: Mapped[str] = mapped_column(String(5))
    insee: Mapped[str] = mapped_column(String(5))
    commune_name: Mapped[str] = mapped_column(String(128), default="")
    department: Mapped[str] = mapped_column(String(3))
    force: Mapped[str] = mapped_column(String(16))
    local_service_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    local_service_approximate: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    # Queue order: priority (0 emergency, 1 minor, 2 normal) then queued_at.
    priority: Mapped[int] = mapped_column(Integer, default=2)
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    minor: Mapped[bool] = mapped_column(Boolean, default=False)
    # Account id of the operator in charge; the chat core does not know accounts, so no foreign key here.
    assigned_to: Mapped[str | None] = mapped_column(String(32), nullable=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str | None] = mapped_column(String(32), nullable=True)
    subtype: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    first_reply_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    visitor_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The language of the visitor's pages when the tchat started (chat/languages.py): the queue and the console show
    # it, statistics count by it. Operators' messages are shown as typed, never machine-translated.
    language: Mapped[str] = mapped_column(String(8), default="fr", server_default="fr")

    __table_args__ = (
        Index("ix_conversations_queue", "force", "category", "status", "priority", "queued_at"),
        Index("ix_conversations_assigned", "assigned_to", "status"),
    )


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    author: Mapped[str] = mapped_column(String(16))
    author_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    kind: Mapped[str] = mapped_column(String(16), default="text")  # text | card | event (chat.store.EVENT_KINDS)
    body: Mapped[str] = mapped_column(Text)
    client_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        UniqueConstraint("conversation_id", "seq", name="uq_messages_conversation_seq"),
        UniqueConstraint("conversation_id", "client_id", name="uq_messages_conversation_client"),
    )


class Participant(Base):
    """Who took part in a conversation, and when: operators, psychologists (the visitor is implicit)."""

    __tablename__ = "participants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(16))  # operator | psychologist
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Feedback(Base):
    """A visitor's anonymous answer after a tchat: no link to the tchat, only what statistics group by (force,
    category, the day in Paris time). The free text is purged with the tchats of that day."""

    __tablename__ = "feedback"

    # Random, not a counter: the order of the rows says nothing about the order the tchats ended in.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    force: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32))
    day: Mapped[date] = mapped_column(Date, index=True)
    score: Mapped[int] = mapped_column(Integer)  # 1 (pas du tout) … 5 (tout à fait)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)


class FeedbackReceipt(Base):
    """That a tchat's feedback was given (once per tchat), and nothing else: it does not say which feedback."""

    __tablename__ = "feedback_receipts"

    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"),
                                                 primary_key=True)
