"""Attachments and their sealed bytes: one row per file received, its original and its preview apart."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from chat.db import Base, UTCDateTime, utcnow

# Where a file came from: the tchat (it has a seq in the transcript), or the follow-up page of a signalement.
SOURCES = ("tchat", "followup")
BLOB_KINDS = ("original", "preview")


class Attachment(Base):
    """What a file is (type, size, SHA-256, when it was received), never its bytes: those are sealed apart."""

    __tablename__ = "attachments"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    # Its place in the transcript (the next dense seq, like a message); NULL for a file added from /suivi.
    seq: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Chosen by the visitor's page once per file: a retried upload with the same id is stored once.
    client_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    source: Mapped[str] = mapped_column(String(8), default="tchat")
    author: Mapped[str] = mapped_column(String(16), default="visitor")
    # What staff see: « capture-1.png » unless the visitor chose to keep her file's own name. Emptied by the purge.
    name: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(Integer)
    media_type: Mapped[str] = mapped_column(String(32))
    # SHA-256 of the exact bytes received: the visitor's receipt. Emptied by the purge.
    sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Set when the retention purge removed its bytes, name and digest; the row stays for statistics.
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (
        UniqueConstraint("conversation_id", "client_id", name="uq_attachments_conversation_client"),
        Index("ix_attachments_received", "received_at"),
    )


class AttachmentBlob(Base):
    """The AES-GCM ciphertext of an original or a preview (``chat.attachments.blobs.DatabaseBlobs``)."""

    __tablename__ = "attachment_blobs"

    attachment_id: Mapped[str] = mapped_column(ForeignKey("attachments.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # original | preview
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
