"""Group commit of messages: one task per process writes every pending message of every conversation in one
transaction, so the cost of a commit (round trips, fsync, pool checkout) is shared by all who wait.

An ack still means committed: a sender's future is resolved only after its batch's statement committed. While a
batch is being written, new messages gather for the next one; an idle process writes a lone message at once, as a
batch of one. A batch is one statement on PostgreSQL (one round trip) and two on SQLite, with fixed texts that are
never compiled again. Anything unusual (a retried client id, a deadlock, a closed conversation) sends the messages
concerned through ``store.append`` one by one, which knows every rule.
"""

from __future__ import annotations

import functools
import json
import logging
import sqlite3
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, cast

from sqlalchemy import Dialect, bindparam, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from chat import store
from chat.batching import Batcher
from chat.db import UTCDateTime, autocommit_engine, utcnow
from chat.metrics import COMMIT_SECONDS, MESSAGES_COMMITTED, STORAGE_ERRORS

log = logging.getLogger("pnav.writer")

# A sender hears back within this time of its frame's arrival: an ack if the message was committed, otherwise
# ``storage_unavailable`` with ``retry`` (and the client resends with the same client id, which finds the message if
# the statement did commit after all). The person is promised an answer within 5 s (SECURITY.md, frozen PostgreSQL);
# on the loaded 2-core test machine the frame's way in and the answer's way out took up to 1.6 s more than this
# deadline, so 3 s. It equals the client-side statement deadline (chat.db.COMMAND_TIMEOUT): a batch that has not
# answered by then will not, and one that commits a moment later is found by the resend.
SEND_DEADLINE = 3.0

# At most this many messages per batch: large enough to amortise a commit under load, small enough that a batch
# (bodies of up to 4,000 characters each) stays under a few MiB and one slow batch delays few senders.
MAX_BATCH = 200


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
    """Commit ``batch`` with one statement on PostgreSQL, one UPDATE … RETURNING + one INSERT on SQLite."""
    keys = [(p.conversation_id, p.client_id) for p in batch]
    if len(set(keys)) != len(keys) and any(cid is not None for _, cid in keys):
        return await _one_by_one(sessions, batch)  # the same send twice in one batch: let the slow path decide
    try:
        results = await _write(sessions, batch)
    except IntegrityError:
        # A retried client id (unique per conversation) rolled the whole batch back: the slow path gives it its
        # first ack and stores the others.
        return await _one_by_one(sessions, batch)
    except DBAPIError as exc:
        # A deadlock, or a pooled connection the database dropped (restart: the pool is now recycled): the slow
        # path retries on a fresh connection, and a batch that did commit before the drop is found by client id.
        if _sqlstate(exc) in RETRYABLE or exc.connection_invalidated:
            return await _one_by_one(sessions, batch)
        raise  # the database is unreachable: every sender gets the error now, not one timeout each
    refused = [i for i, r in enumerate(results) if r is None]
    if refused:
        # Their conversation was not open: the slow path tells a closed tchat from a retry stored before the close.
        for i, outcome in zip(refused, await _one_by_one(sessions, [batch[i] for i in refused]), strict=True):
            results[i] = outcome
    return [r for r in results if r is not None]


# Deadlock and serialisation failures: another process's batch locked the same conversations in another order.
RETRYABLE = {"40P01", "40001"}


def _sqlstate(exc: DBAPIError) -> str | None:
    orig = exc.orig
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


# PostgreSQL: the whole batch in one statement, run in autocommit (no BEGIN/COMMIT round trips; one statement is
# atomic). ``bumped`` takes each open conversation's row lock and its next seqs, which serialises concurrent writers
# of a conversation exactly as the one-message path does; messages of a conversation that is not open are simply
# not inserted, and the caller sends them through the slow path. Fixed text: prepared once per connection.
_PG_BATCH = text("""
WITH batch AS (
    SELECT * FROM unnest(CAST(:conversation_ids AS text[]), CAST(:ks AS integer[]), CAST(:authors AS text[]),
                         CAST(:author_ids AS text[]), CAST(:kinds AS text[]), CAST(:bodies AS text[]),
                         CAST(:client_ids AS text[]))
        AS b(conversation_id, k, author, author_id, kind, body, client_id)
), counts AS (
    SELECT conversation_id, count(*) AS n, bool_or(author = 'operator') AS replied
    FROM batch GROUP BY conversation_id
), bumped AS (
    UPDATE conversations AS c
    SET last_seq = c.last_seq + counts.n,
        first_reply_at = CASE WHEN counts.replied THEN coalesce(c.first_reply_at, CAST(:now AS timestamptz))
                         ELSE c.first_reply_at END
    FROM counts
    WHERE c.id = counts.conversation_id AND c.status IN ('queued', 'active')
    RETURNING c.id, c.last_seq - counts.n AS base
)
INSERT INTO messages (conversation_id, seq, author, author_id, kind, body, client_id, created_at)
SELECT b.conversation_id, bumped.base + b.k, b.author, b.author_id, b.kind, b.body, b.client_id,
       CAST(:now AS timestamptz)
FROM batch AS b JOIN bumped ON bumped.id = b.conversation_id
RETURNING conversation_id, seq
""").bindparams(bindparam("now", type_=UTCDateTime()))

# SQLite: the counts travel as one JSON object, so the statement text never changes (no compile per batch).
_SQLITE_BUMP = text("""
UPDATE conversations
SET last_seq = last_seq + (SELECT value FROM json_each(:counts) WHERE key = conversations.id),
    first_reply_at = CASE WHEN id IN (SELECT value FROM json_each(:replied)) THEN coalesce(first_reply_at, :now)
                     ELSE first_reply_at END
WHERE id IN (SELECT key FROM json_each(:counts)) AND status IN ('queued', 'active')
RETURNING id, last_seq
""").bindparams(bindparam("now", type_=UTCDateTime()))


async def _write(sessions: async_sessionmaker[AsyncSession], batch: list[Pending]) -> list[Result | None]:
    """The batch's outcomes in order; None for a message whose conversation is not open (nothing stored for it)."""
    now = utcnow()
    counts = Counter(p.conversation_id for p in batch)
    ks, seen = [], Counter[str]()
    for p in batch:
        seen[p.conversation_id] += 1
        ks.append(seen[p.conversation_id])
    engine = sessions.kw["bind"]
    if engine.dialect.name == "postgresql":
        params = {
            "conversation_ids": [p.conversation_id for p in batch], "ks": ks,
            "authors": [p.author for p in batch], "author_ids": [p.author_id for p in batch],
            "kinds": [p.kind for p in batch], "bodies": [p.body for p in batch],
            "client_ids": [p.client_id for p in batch], "now": now,
        }
        async with autocommit_engine(sessions).connect() as connection:
            rows = (await connection.execute(_PG_BATCH, params)).all()
        first: dict[str, int] = {}
        for conversation_id, seq in rows:
            first[conversation_id] = min(seq, first.get(conversation_id, seq))
        base = {cid: seq - 1 for cid, seq in first.items()}
    else:
        base = await _write_sqlite(engine, batch, ks, counts, now)
    return [
        store.Appended(store.StoredMessage(p.conversation_id, base[p.conversation_id] + k, p.author, p.kind, p.body,
                                           p.client_id, now), duplicate=False)
        if p.conversation_id in base else None
        for p, k in zip(batch, ks, strict=True)
    ]


# SQLite: the batch's BEGIN, UPDATE … RETURNING, INSERT and COMMIT in one call to the connection's thread
# (aiosqlite runs every call of a connection in a thread of its own; through SQLAlchemy this batch was 9 trips
# there and back — cursor, execute, fetch and close of each statement, the commit, the reset — each a wake-up of
# the thread and of the event loop: ~1.2 ms of a lone message's 1.5 ms commit at low load, issue 19 item 4). Same
# statement texts, same parameters as SQLAlchemy binds them (``UTCDateTime``'s own conversion), errors turned into
# SQLAlchemy's (an ``IntegrityError`` still sends the batch to the slow path).
_SQLITE_INSERT = (
    "INSERT INTO messages (conversation_id, seq, author, author_id, kind, body, client_id, created_at) "
    "VALUES (:conversation_id, :seq, :author, :author_id, :kind, :body, :client_id, :created_at)"
)


def _sqlite_batch(connection: sqlite3.Connection, bump: dict[str, Any], counts: Counter[str],
                  rows: list[tuple[dict[str, Any], int]]) -> dict[str, int]:
    """In the connection's thread: the whole transaction; the base seq of each open conversation."""
    try:
        connection.execute("BEGIN IMMEDIATE")
        base = {cid: last - counts[cid] for cid, last in connection.execute(_SQLITE_BUMP.text, bump).fetchall()}
        if base:
            connection.executemany(_SQLITE_INSERT, [{**row, "seq": base[row["conversation_id"]] + k}
                                                    for row, k in rows if row["conversation_id"] in base])
        connection.commit()
    except BaseException:
        if connection.in_transaction:
            connection.rollback()
        raise
    return base


async def _write_sqlite(engine: AsyncEngine, batch: list[Pending], ks: list[int], counts: Counter[str],
                        now: datetime) -> dict[str, int]:
    stamp = _sqlite_time(engine.dialect)(now)
    replied = sorted({p.conversation_id for p in batch if p.author == "operator"})
    bump = {"counts": json.dumps(counts), "replied": json.dumps(replied), "now": stamp}
    rows = [({"conversation_id": p.conversation_id, "author": p.author, "author_id": p.author_id, "kind": p.kind,
              "body": p.body, "client_id": p.client_id, "created_at": stamp}, k)
            for p, k in zip(batch, ks, strict=True)]
    async with engine.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection  # the aiosqlite connection
        assert driver is not None
        try:
            return cast(dict[str, int], await driver._execute(_sqlite_batch, driver._conn, bump, counts, rows))
        except sqlite3.Error as exc:
            error = DBAPIError.instance(_SQLITE_BUMP.text, None, exc, sqlite3.Error)
            if not isinstance(error, IntegrityError):
                STORAGE_ERRORS.inc()  # SQLAlchemy's error event, which counts the others, did not see this call
            raise error from exc


@functools.cache
def _sqlite_time(dialect: Dialect) -> Callable[[datetime], Any]:
    """How SQLAlchemy binds a ``UTCDateTime`` on this dialect (the text every other statement reads back)."""
    process = UTCDateTime().bind_processor(dialect)
    assert process is not None
    return process


async def _one_by_one(sessions: async_sessionmaker[AsyncSession], batch: list[Pending]) -> list[Result]:
    results: list[Result] = []
    for pending in batch:
        try:
            results.append(await pending.one_by_one(sessions))
        except Exception as exc:  # each sender gets its own outcome (closed, storage down…)
            results.append(exc)
    return results


async def _measured(sessions: async_sessionmaker[AsyncSession], batch: list[Pending]) -> list[Result]:
    """``write_batch``, timed (pnav_commit_seconds) and counted (pnav_messages_committed_total) for /metrics."""
    started = time.perf_counter()
    results = await write_batch(sessions, batch)
    COMMIT_SECONDS.observe(time.perf_counter() - started)
    MESSAGES_COMMITTED.inc(sum(1 for r in results if isinstance(r, store.Appended) and not r.duplicate))
    return results


class MessageWriter(Batcher[Pending, store.Appended]):
    """The per-process writer: ``await writer.append(pending)`` returns once the message is committed."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], max_batch: int = MAX_BATCH) -> None:
        super().__init__(partial(_measured, sessions), max_batch, "pnav-message-writer")

    async def append(self, pending: Pending, within: float | None = SEND_DEADLINE) -> store.Appended:
        """Committed (an ack may follow), or TimeoutError after ``within`` seconds: outcome unknown, send again."""
        return await self.submit(pending, within)
