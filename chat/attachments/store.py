"""Attachment rows: stored with the next dense seq of the tchat (like a message) or for a signalement, idempotent by
(conversation, client_id), listed, found, and purged.

A tchat attachment is two rows and two blobs committed in one transaction: the ``attachments`` row, a ``messages``
row of kind ``attachment`` (its place in the transcript: the frame replayed after a reload), and the sealed original
and preview. The conversation's row lock taken by the seq update serialises uploads of one tchat, so the per-tchat
count and the default names (« capture-3.png ») are exact.
"""

from __future__ import annotations

import json
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat import store
from chat.attachments import sealing
from chat.attachments.blobs import BLOBS
from chat.attachments.checks import PDF, Checked
from chat.attachments.models import Attachment
from chat.db import utcnow
from chat.models import Conversation, Message

# A name kept from the visitor's device is shortened to this: enough for « capture d'écran du 12 mars 2026 à
# 21.14.03.png », short enough for a line of the console.
MAX_NAME_CHARS = 100
_UNSAFE = re.compile(r'[\\/:*?"<>|]')

TOO_MANY = "Cette conversation a atteint le nombre maximal de fichiers ({limit}). Décrivez les autres dans un message."


class TooMany(Exception):
    """The tchat already holds as many files as allowed."""


@dataclass(frozen=True)
class Stored:
    """An attachment as the API and the frames describe it (never its bytes)."""

    id: str
    conversation_id: str
    seq: int | None
    client_id: str | None
    source: str
    author: str
    name: str
    size: int
    media_type: str
    sha256: str
    received_at: datetime
    width: int | None
    height: int | None
    purged: bool

    @property
    def image(self) -> bool:
        return self.media_type.startswith("image/")

    @property
    def at(self) -> str:
        return self.received_at.isoformat().replace("+00:00", "Z")

    def receipt(self) -> dict[str, Any]:
        """``POST /api/v1/attachments``'s answer: the visitor's receipt."""
        return {"id": self.id, "seq": self.seq, "sha256": self.sha256, "size": self.size,
                "media_type": self.media_type, "received_at": self.at, "name": self.name}

    def frame_fields(self) -> dict[str, Any]:
        """The transcript frame (``{"type":"attachment",…}``) without its seq and time."""
        return {"type": "attachment", "author": self.author, "id": self.id, "name": self.name, "size": self.size,
                "media_type": self.media_type, "sha256": self.sha256}

    def listed(self) -> dict[str, Any]:
        """As listed on the consent form, on /suivi and to the local service."""
        return {"id": self.id, "name": self.name, "size": self.size, "media_type": self.media_type,
                "sha256": self.sha256, "received_at": self.at, "source": self.source}


def _stored(row: Attachment) -> Stored:
    return Stored(row.id, row.conversation_id, row.seq, row.client_id, row.source, row.author, row.name, row.size,
                  row.media_type, row.sha256, row.received_at, row.width, row.height, row.purged_at is not None)


def display_name(checked: Checked, number: int, kept: str | None) -> str:
    """« capture-3.png » (« document-3.pdf »), or the file's own name when the visitor chose to keep it: cleaned of
    paths and control characters, its extension the one its content proves."""
    default = f"{'document' if checked.media_type == PDF else 'capture'}-{number}.{checked.extension}"
    if not kept:
        return default
    base = unicodedata.normalize("NFC", kept).replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    base = _UNSAFE.sub("_", base).strip(" .")
    stem = base.rsplit(".", 1)[0] if "." in base else base
    stem = stem[:MAX_NAME_CHARS - len(checked.extension) - 1].strip(" .")
    return f"{stem}.{checked.extension}" if stem else default


async def find(sessions: async_sessionmaker[AsyncSession], conversation_id: str, client_id: str) -> Stored | None:
    async with sessions() as session:
        row = await session.scalar(select(Attachment).where(Attachment.conversation_id == conversation_id,
                                                            Attachment.client_id == client_id))
        return _stored(row) if row is not None else None


async def get(sessions: async_sessionmaker[AsyncSession], attachment_id: str) -> Stored | None:
    if not attachment_id.isalnum() or len(attachment_id) > 32:
        return None
    async with sessions() as session:
        row = await session.get(Attachment, attachment_id)
        return _stored(row) if row is not None else None


async def of_conversation(sessions: async_sessionmaker[AsyncSession], conversation_id: str, *,
                          source: str | None = None) -> list[Stored]:
    """The attachments of a conversation still held (not purged), oldest first."""
    query = select(Attachment).where(Attachment.conversation_id == conversation_id, Attachment.purged_at.is_(None))
    if source is not None:
        query = query.where(Attachment.source == source)
    async with sessions() as session:
        rows = await session.scalars(query.order_by(Attachment.received_at, Attachment.id))
        return [_stored(row) for row in rows]


async def of_ids(session: AsyncSession, ids: list[str]) -> list[Stored]:
    if not ids:
        return []
    rows = await session.scalars(select(Attachment).where(Attachment.id.in_(ids))
                                 .order_by(Attachment.received_at, Attachment.id))
    return [_stored(row) for row in rows]


_messages = cast(Table, Message.__table__)


async def _add(session: AsyncSession, key: bytes, conversation_id: str, seq: int | None, checked: Checked,
               client_id: str, kept_name: str | None, source: str, limit: int) -> Stored:
    """The rows and sealed blobs of one attachment, in the caller's transaction (the conversation already locked)."""
    count = int(await session.scalar(select(func.count()).select_from(Attachment)
                                     .where(Attachment.conversation_id == conversation_id)) or 0)
    if count >= limit:
        raise TooMany(TOO_MANY.format(limit=limit))
    attachment = Attachment(
        id=secrets.token_hex(16), conversation_id=conversation_id, seq=seq, client_id=client_id, source=source,
        author="visitor", name=display_name(checked, count + 1, kept_name), size=checked.size,
        media_type=checked.media_type, sha256=checked.sha256, width=checked.width, height=checked.height,
        received_at=utcnow(),
    )
    session.add(attachment)
    await session.flush()  # the row first: the blobs' foreign key names it
    await BLOBS.put(session, attachment.id, "original", sealing.seal(key, checked.data, attachment.id, "original"))
    if checked.preview is not None:
        await BLOBS.put(session, attachment.id, "preview",
                        sealing.seal(key, checked.preview, attachment.id, "preview"))
    return _stored(attachment)


@dataclass(frozen=True)
class Added:
    attachment: Stored
    message: store.StoredMessage | None  # its transcript entry (None for a file added from /suivi)
    duplicate: bool


async def add_to_tchat(sessions: async_sessionmaker[AsyncSession], key: bytes, conversation_id: str,
                       checked: Checked, client_id: str, kept_name: str | None, limit: int) -> Added:
    """Store an upload of an open tchat with the next seq; a retried client_id returns the first one unchanged.
    Raises store.ConversationClosed or TooMany."""
    for _attempt in range(2):
        try:
            async with sessions.begin() as session:
                found = await _existing(session, conversation_id, client_id)
                if found is not None:
                    return found
                # The row lock of this UPDATE serialises the uploads and messages of the tchat: seq stays dense.
                seq = await session.scalar(store._NEXT_SEQ, {"conversation_id": conversation_id})
                if seq is None:
                    raise store.ConversationClosed(conversation_id)
                stored = await _add(session, key, conversation_id, seq, checked, client_id, kept_name, "tchat",
                                    limit)
                body = json.dumps(stored.frame_fields(), ensure_ascii=False)
                await session.execute(insert(_messages), {
                    "conversation_id": conversation_id, "seq": seq, "author": stored.author, "author_id": None,
                    "kind": "attachment", "body": body, "client_id": None, "created_at": stored.received_at,
                })
            message = store.StoredMessage(conversation_id, seq, stored.author, "attachment", body, None,
                                          stored.received_at)
            return Added(stored, message, duplicate=False)
        except IntegrityError:
            continue  # the same client_id raced in from a retry: the next attempt finds it
    raise RuntimeError("could not store attachment")  # pragma: no cover - two races in a row


async def _existing(session: AsyncSession, conversation_id: str, client_id: str) -> Added | None:
    row = await session.scalar(select(Attachment).where(Attachment.conversation_id == conversation_id,
                                                        Attachment.client_id == client_id))
    if row is None:
        return None
    stored = _stored(row)
    message = None
    if stored.seq is not None:
        found = await session.execute(select(_messages.c.body, _messages.c.created_at).where(
            _messages.c.conversation_id == conversation_id, _messages.c.seq == stored.seq))
        entry = found.first()
        if entry is not None:
            message = store.StoredMessage(conversation_id, stored.seq, stored.author, "attachment", entry[0], None,
                                          entry[1])
    return Added(stored, message, duplicate=True)


async def add_to_followup(session: AsyncSession, key: bytes, conversation_id: str, checked: Checked, client_id: str,
                          kept_name: str | None, limit: int) -> Added:
    """Store a file added later from /suivi, in the caller's transaction (escalation links it to the signalement);
    no seq: the tchat is over. A retried client_id returns the first one."""
    found = await _existing(session, conversation_id, client_id)
    if found is not None:
        return found
    # Serialises additions to one conversation (its row lock on PostgreSQL; SQLite has a single writer).
    await session.execute(update(Conversation).where(Conversation.id == conversation_id)
                          .values(last_seq=Conversation.last_seq))
    stored = await _add(session, key, conversation_id, None, checked, client_id, kept_name, "followup", limit)
    return Added(stored, None, duplicate=False)


async def sealed_bytes(sessions: async_sessionmaker[AsyncSession], key: bytes, attachment: Stored, kind: str) -> (
    bytes | None
):
    """The original or the preview, unsealed; None when there is none (a PDF's preview, a purged file)."""
    blob = await BLOBS.get(sessions, attachment.id, kind)
    return sealing.unseal(key, blob, attachment.id, kind) if blob is not None else None


async def purge(session: AsyncSession, attachment_ids: list[str], now: datetime) -> int:
    """Remove the bytes, name and digest of these attachments; their type, size and dates stay for statistics."""
    if not attachment_ids:
        return 0
    await BLOBS.delete(session, attachment_ids)
    result = await session.execute(update(Attachment).where(Attachment.id.in_(attachment_ids),
                                                            Attachment.purged_at.is_(None))
                                   .values(name="", sha256="", client_id=None, purged_at=now))
    return int(getattr(result, "rowcount", 0) or 0)
