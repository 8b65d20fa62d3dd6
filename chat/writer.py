"""Group commit of messages: one task per process writes every pending message of every conversation in one
transaction, so the cost of a commit (round trips, fsync, pool checkout) is shared by all who wait.

An ack still means committed: a sender's future is resolved only after its batch's COMMIT returned. While a batch
is being written, new messages gather for the next one; an idle process writes a lone message at once, through the
two-statement path of ``store.append``. Anything unusual in a batch (a duplicate that raced, a deadlock, a closed
conversation) sends that batch's messages through ``store.append`` one by one, which knows every rule.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, case, func, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat import store
from chat.db import utcnow
from chat.models import Conversation, Message

log = logging.getLogger("pnav.writer")

# At most this many messages per transaction: large enough to amortise a commit under load, small enough that
# one statement's parameters stay well under SQLite's and asyncpg's limits (a few thousand bind parameters).
MAX_BATCH = 200

_conversations, _messages = cast(Table, Conversation.__table__), cast(Table, Message.__table__)


@dataclass(frozen=True)
class Pending:
    conversation_id: str
    author: str
    body: str
    client_id: str | None
    author_id: str | None
    kind: str

    async def one_by_one(self, sessions: async_sessionmaker[AsyncSession]) -> store.Appended:
        return await store.append(sessions, self.conversation_id, author=self.author, body=self.body,
                                  client_id=self.client_id, author_id=self.author_id, kind=self.kind)


Result = store.Appended | BaseException


async def write_batch(sessions: async_sessionmaker[AsyncSession], batch: list[Pending]) -> list[Result]:
    """Commit ``batch`` in one transaction (SELECT known client ids, one UPDATE … RETURNING, one INSERT)."""
    if len(batch) == 1:
        return await _one_by_one(sessions, batch)
    keys = [(p.conversation_id, p.client_id) for p in batch]
    if len(set(keys)) != len(keys) and any(cid is not None for _, cid in keys):
        return await _one_by_one(sessions, batch)  # the same send twice in one batch: let the slow path decide
    try:
        return await _write(sessions, batch)
    except (IntegrityError, _Unusual):
        return await _one_by_one(sessions, batch)
    except DBAPIError as exc:
        # A deadlock, or a pooled connection the database dropped (restart: the pool is now recycled): the slow
        # path retries on a fresh connection, and a batch that did commit before the drop is found by client id.
        if _sqlstate(exc) in RETRYABLE or exc.connection_invalidated:
            return await _one_by_one(sessions, batch)
        raise  # the database is unreachable: every sender gets the error now, not one timeout each


# Deadlock and serialisation failures: another process's batch locked the same conversations in another order.
RETRYABLE = {"40P01", "40001"}


def _sqlstate(exc: DBAPIError) -> str | None:
    orig = exc.orig
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


class _Unusual(Exception):
    """The batch met a case only the one-by-one path handles (retried client id, closed conversation)."""


async def _write(sessions: async_sessionmaker[AsyncSession], batch: list[Pending]) -> list[Result]:
    now = utcnow()
    counts = Counter(p.conversation_id for p in batch)
    replied = {p.conversation_id for p in batch if p.author == "operator"}
    client_ids = [p.client_id for p in batch if p.client_id is not None]
    c, m = _conversations.c, _messages.c
    async with sessions.begin() as session:
        if client_ids:
            known = await session.execute(
                select(m.conversation_id, m.client_id).where(m.client_id.in_(client_ids),
                                                             m.conversation_id.in_(list(counts)))
            )
            if known.first() is not None:
                raise _Unusual  # a retry of a stored message: it must get its first ack back
        values: dict[str, object] = {"last_seq": c.last_seq + case(dict(counts), value=c.id, else_=0)}
        if replied:
            values["first_reply_at"] = case((c.id.in_(replied), func.coalesce(c.first_reply_at, now)),
                                            else_=c.first_reply_at)
        # One statement for every conversation of the batch; the rows it locks serialise concurrent writers of a
        # conversation exactly as the one-message path does, so seqs stay dense.
        rows = await session.execute(
            update(_conversations).where(c.id.in_(list(counts)), c.status.in_(store.OPEN_STATUSES))
            .values(**values).returning(c.id, c.last_seq)
        )
        next_seq = {cid: last - counts[cid] + 1 for cid, last in rows.all()}
        if len(next_seq) != len(counts):
            raise _Unusual  # a conversation was closed meanwhile: the slow path says which sends are refused
        stored: list[store.StoredMessage] = []
        for p in batch:
            seq = next_seq[p.conversation_id]
            next_seq[p.conversation_id] = seq + 1
            stored.append(store.StoredMessage(p.conversation_id, seq, p.author, p.kind, p.body, p.client_id, now))
        await session.execute(store._INSERT_MESSAGE, [
            {"conversation_id": s.conversation_id, "seq": s.seq, "author": s.author, "author_id": p.author_id,
             "kind": s.kind, "body": s.body, "client_id": s.client_id, "created_at": now}
            for s, p in zip(stored, batch, strict=True)
        ])
    return [store.Appended(s, duplicate=False) for s in stored]


async def _one_by_one(sessions: async_sessionmaker[AsyncSession], batch: list[Pending]) -> list[Result]:
    results: list[Result] = []
    for pending in batch:
        try:
            results.append(await pending.one_by_one(sessions))
        except Exception as exc:  # each sender gets its own outcome (closed, storage down…)
            results.append(exc)
    return results


class MessageWriter:
    """The per-process writer: ``await writer.append(pending)`` returns once the message is committed."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], max_batch: int = MAX_BATCH) -> None:
        self.sessions = sessions
        self.max_batch = max_batch
        self._pending: list[tuple[Pending, asyncio.Future[store.Appended]]] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="pnav-message-writer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def append(self, pending: Pending) -> store.Appended:
        future: asyncio.Future[store.Appended] = asyncio.get_running_loop().create_future()
        # If the sender went away, its outcome is still consumed (no "exception never retrieved" noise).
        future.add_done_callback(lambda f: None if f.cancelled() else f.exception())
        self._pending.append((pending, future))
        self._wakeup.set()
        return await asyncio.shield(future)  # a sender that goes away does not cancel its committed message

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
                try:
                    results = await write_batch(self.sessions, [p for p, _ in batch])
                except Exception as exc:  # never let the writer die: every waiting sender learns of the failure
                    log.warning("message batch failed: %s", type(exc).__name__)
                    results = [exc] * len(batch)
                for (_, future), result in zip(batch, results, strict=True):
                    if future.done():
                        continue
                    if isinstance(result, BaseException):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
