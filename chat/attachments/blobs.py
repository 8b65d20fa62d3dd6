"""Where sealed bytes live, behind a small interface: the database by default.

A deployment that outgrows blobs in PostgreSQL can write another ``BlobStore`` (an object store): it receives only
ciphertext, already bound to its row. ``put`` gets the session of the transaction that records the attachment, so
that the database store commits the row and its bytes together; an object store would write first and let the
retention purge remove what no row names.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat.attachments.models import AttachmentBlob


class BlobStore(Protocol):
    async def put(self, session: AsyncSession, attachment_id: str, kind: str, sealed: bytes) -> None: ...

    async def get(self, sessions: async_sessionmaker[AsyncSession], attachment_id: str, kind: str) -> bytes | None: ...

    async def delete(self, session: AsyncSession, attachment_ids: list[str]) -> int: ...


class DatabaseBlobs:
    """Ciphertext in the ``attachment_blobs`` table, committed with the attachment's row."""

    async def put(self, session: AsyncSession, attachment_id: str, kind: str, sealed: bytes) -> None:
        session.add(AttachmentBlob(attachment_id=attachment_id, kind=kind, ciphertext=sealed))

    async def get(self, sessions: async_sessionmaker[AsyncSession], attachment_id: str, kind: str) -> bytes | None:
        async with sessions() as session:
            found: bytes | None = await session.scalar(select(AttachmentBlob.ciphertext).where(
                AttachmentBlob.attachment_id == attachment_id, AttachmentBlob.kind == kind))
            return found

    async def delete(self, session: AsyncSession, attachment_ids: list[str]) -> int:
        if not attachment_ids:
            return 0
        result = await session.execute(delete(AttachmentBlob).where(AttachmentBlob.attachment_id.in_(attachment_ids)))
        return int(getattr(result, "rowcount", 0) or 0)


BLOBS: BlobStore = DatabaseBlobs()
