"""Database operations on conversations and messages. Every write that others rely on is committed here first."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, Table, and_, bindparam, exists, func, insert, or_, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat.db import AnyRow, ByKeys, UTCDateTime, fetch, one_of_keys, single_read, utcnow
from chat.models import UNLOCATED, Conversation, Message, Participant
from routing.models import Resolution

OPEN_STATUSES = ("queued", "active")
# The idempotency keys of posts the server makes (chat.conversations.server_key) start with a character that a
# client's ``client_id`` may not hold (chat.protocol), so they never collide with one and are never shown.
SERVER_KEY_PREFIX = "#"
# What happens in a tchat besides messages and cards, stored as a row of kind "event" with its own seq so that a
# page that reloads (or a socket that resumes) replays it like the rest of the transcript; the frame carries the
# event's fields, its seq and its time. Typing, read receipts, queue positions and flags stay live-only: they
# are state (the welcome frame carries the flags), not history. Other packages store events of their own the same way
# (``append_event``) and name them in ``ChatState.hooks.transcript_events``.
EVENT_KINDS = ("joined", "left", "transferred", "consent_request", "consent_result")
# Replay is paged so a client resuming after a long absence does not load a whole transcript at once.
REPLAY_PAGE = 500


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """The visitor's only credential: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def new_id() -> str:
    return secrets.token_hex(16)


@dataclass(frozen=True)
class StoredMessage:
    conversation_id: str
    seq: int
    author: str
    kind: str
    body: str
    client_id: str | None
    created_at: datetime

    def frame(self) -> dict[str, object]:
        at = self.created_at.isoformat().replace("+00:00", "Z")
        if self.kind == "card":
            card = json.loads(self.body)
            return {"type": "card", "seq": self.seq, "author": self.author, "at": at, **card}
        if self.kind in ("event", "attachment"):  # an attachment's body is its frame (chat.attachments.store)
            return {**json.loads(self.body), "seq": self.seq, "at": at}
        frame: dict[str, object] = {"type": "message", "seq": self.seq, "author": self.author, "body": self.body,
                                     "at": at}
        if self.client_id is not None and not self.client_id.startswith(SERVER_KEY_PREFIX):
            # Lets the sender bind its own message to its pending copy even when the ack was lost.
            frame["client_id"] = self.client_id
        return frame


@dataclass(frozen=True)
class Appended:
    message: StoredMessage
    duplicate: bool


class ConversationClosed(Exception):
    """The conversation no longer accepts messages."""


def _stored(row: Message) -> StoredMessage:
    return StoredMessage(row.conversation_id, row.seq, row.author, row.kind, row.body, row.client_id, row.created_at)


@dataclass
class NewConversation:
    category: str
    requester_role: str
    postal_code: str
    insee: str
    commune_name: str
    department: str
    force: str
    local_service_id: str | None
    local_service_approximate: bool
    language: str = "fr"


async def create_conversation(sessions: async_sessionmaker[AsyncSession], new: NewConversation) -> tuple[
    Conversation, str
]:
    token = new_token()
    now = utcnow()
    conversation = Conversation(
        id=new_id(), token_hash=hash_token(token), status="queued", priority=2, emergency=False, minor=False,
        last_seq=0, created_at=now, queued_at=now, visitor_seen_at=now, **vars(new),
    )
    async with sessions.begin() as session:
        session.add(conversation)
    return conversation, token


@dataclass(frozen=True, slots=True)
class ConversationRow:
    """A conversation as read for checks and summaries: a plain row (no ORM identity, no instrumentation), because
    the console reads one for every frame. Every column but the token hash, which stays in the database."""

    id: str
    category: str
    requester_role: str
    postal_code: str
    insee: str
    commune_name: str
    department: str
    force: str
    local_service_id: str | None
    local_service_approximate: bool
    status: str
    priority: int
    emergency: bool
    minor: bool
    assigned_to: str | None
    last_seq: int
    outcome: str | None
    subtype: str | None
    created_at: datetime
    queued_at: datetime
    taken_at: datetime | None
    first_reply_at: datetime | None
    closed_at: datetime | None
    visitor_seen_at: datetime
    language: str


_conversations, _messages = cast(Table, Conversation.__table__), cast(Table, Message.__table__)
_ROW = select(*(_conversations.c[name] for name in ConversationRow.__dataclass_fields__))
_BY_TOKEN = _ROW.where(_conversations.c.token_hash == bindparam("token_hash"))
_BY_ID = _ROW.where(_conversations.c.id == bindparam("id"))
_BY_IDS = ByKeys(lambda dialect: _ROW.where(one_of_keys(_conversations.c.id, dialect)))


def _conversation_row(row: AnyRow | tuple[Any, ...]) -> ConversationRow:
    return ConversationRow(*row)


async def by_token(sessions: async_sessionmaker[AsyncSession], token: str) -> ConversationRow | None:
    rows = await fetch(sessions, _BY_TOKEN, {"token_hash": hash_token(token)})
    return _conversation_row(rows[0]) if rows else None


_BY_TOKEN_HASHES = ByKeys(lambda dialect: select(_conversations.c.token_hash, *_ROW.selected_columns)
                         .where(one_of_keys(_conversations.c.token_hash, dialect)))


async def by_token_hashes(sessions: async_sessionmaker[AsyncSession], token_hashes: list[str]) -> dict[
    str, ConversationRow
]:
    """By token hash, for visitors arriving together (a ``Coalescer`` fetch)."""
    return {row[0]: _conversation_row(row[1:]) for row in await _BY_TOKEN_HASHES.rows(sessions, token_hashes)}


async def get(sessions: async_sessionmaker[AsyncSession], conversation_id: str) -> ConversationRow | None:
    rows = await fetch(sessions, _BY_ID, {"id": conversation_id})
    return _conversation_row(rows[0]) if rows else None


async def get_many(sessions: async_sessionmaker[AsyncSession], conversation_ids: list[str]) -> dict[
    str, ConversationRow
]:
    return {row.id: _conversation_row(row) for row in await _BY_IDS.rows(sessions, conversation_ids)}


async def _existing(session: AsyncSession, conversation_id: str, client_id: str) -> Message | None:
    return await session.scalar(
        select(Message).where(Message.conversation_id == conversation_id, Message.client_id == client_id)
    )


# The two statements of every message, built once: Core (not the ORM unit of work) and prebuilt, so a message
# costs no statement construction or coercion, only parameter binding (profiled: ~15% of a saturated process).
_conversations, _messages = cast(Table, Conversation.__table__), cast(Table, Message.__table__)
_NEXT_SEQ = (
    update(_conversations)
    .where(_conversations.c.id == bindparam("conversation_id"), _conversations.c.status.in_(OPEN_STATUSES))
    .values(last_seq=_conversations.c.last_seq + 1)
    .returning(_conversations.c.last_seq)
)
_NEXT_SEQ_OPERATOR = _NEXT_SEQ.values(
    first_reply_at=func.coalesce(_conversations.c.first_reply_at, bindparam("now", type_=UTCDateTime()))
)
_INSERT_MESSAGE = insert(_messages)


async def append(
    sessions: async_sessionmaker[AsyncSession],
    conversation_id: str,
    *,
    author: str,
    body: str,
    client_id: str | None = None,
    author_id: str | None = None,
    kind: str = "text",
) -> Appended:
    """Commit one message with the next dense seq; a retried client_id returns the first one unchanged.

    The first attempt goes straight to UPDATE + INSERT (two statements: the hot path of every message); a retried
    client_id is caught by the unique constraint, which rolls the whole transaction back (the seq too), and the
    next attempt returns the message already stored.
    """
    for attempt in range(3):
        try:
            async with sessions.begin() as session:
                if attempt > 0 and client_id is not None and (row := await _existing(session, conversation_id,
                                                                                      client_id)):
                    return Appended(_stored(row), duplicate=True)
                now = utcnow()
                # The row lock this UPDATE takes serialises writers of one conversation: seq stays dense.
                if author == "operator":
                    seq = await session.scalar(_NEXT_SEQ_OPERATOR, {"conversation_id": conversation_id, "now": now})
                else:
                    seq = await session.scalar(_NEXT_SEQ, {"conversation_id": conversation_id})
                if seq is None:
                    if client_id is not None and (row := await _existing(session, conversation_id, client_id)):
                        return Appended(_stored(row), duplicate=True)  # stored before the close: same ack
                    raise ConversationClosed(conversation_id)
                stored = StoredMessage(conversation_id, seq, author, kind, body, client_id, now)
                await session.execute(_INSERT_MESSAGE, {
                    "conversation_id": conversation_id, "seq": seq, "author": author, "author_id": author_id,
                    "kind": kind, "body": body, "client_id": client_id, "created_at": now,
                })
            return Appended(stored, duplicate=False)
        except IntegrityError:
            # The same client_id again (a retry, or two sends racing): the next attempt finds the stored row.
            if client_id is None:
                raise
        except DBAPIError as exc:
            # A pooled connection the database dropped (restart, failover): the pool is recycled, try once more
            # on a fresh one; if the first attempt did commit, its client_id finds it.
            if not exc.connection_invalidated or attempt > 0:
                raise
    raise RuntimeError("could not append message")  # pragma: no cover - three races in a row


_AFTER = (
    select(_messages.c.conversation_id, _messages.c.seq, _messages.c.author, _messages.c.kind, _messages.c.body,
           _messages.c.client_id, _messages.c.created_at)
    .where(_messages.c.conversation_id == bindparam("conversation_id"), _messages.c.seq > bindparam("after"))
    .order_by(_messages.c.seq)
    .limit(bindparam("limit"))
)


async def messages_after(
    sessions: async_sessionmaker[AsyncSession], conversation_id: str, after: int, limit: int = REPLAY_PAGE
) -> list[StoredMessage]:
    rows = await fetch(sessions, _AFTER, {"conversation_id": conversation_id, "after": after, "limit": limit})
    return [StoredMessage(*row) for row in rows]


async def take(
    sessions: async_sessionmaker[AsyncSession], conversation_id: str, account_id: str, force: str,
    event: dict[str, Any] | None = None,
) -> StoredMessage | None:
    """Atomically give a queued conversation of ``force`` (or one waiting sans localisation, which then becomes
    ``force``'s) to one operator: exactly one concurrent caller wins and gets its ``joined`` event, stored with the
    next seq in the same transaction; None for the others."""
    async with sessions.begin() as session:
        return await take_in(session, conversation_id, account_id, force, event)


async def take_in(session: AsyncSession, conversation_id: str, account_id: str, force: str,
                  event: dict[str, Any] | None = None) -> StoredMessage | None:
    """``take`` inside the caller's transaction (with the checks it makes first, e.g. an operator's capacity)."""
    now = utcnow()
    result = await session.execute(
        update(Conversation)
        .where(
            Conversation.id == conversation_id,
            Conversation.status == "queued",
            Conversation.force.in_((force, UNLOCATED)),
        )
        .values(status="active", assigned_to=account_id, force=force,
                taken_at=func.coalesce(Conversation.taken_at, now))
        .returning(Conversation.id)
    )
    if result.first() is None:
        return None
    session.add(Participant(conversation_id=conversation_id, account_id=account_id, role="operator"))
    joined = await append_event(session, conversation_id, event or {"type": "joined", "who": "operator",
                                                                     "force": force})
    assert joined is not None  # the row is ours and active: its seq cannot fail
    return joined


async def finish(
    sessions: async_sessionmaker[AsyncSession],
    conversation_id: str,
    *,
    status: str,
    outcome: str | None = None,
    only_assigned_to: str | None = None,
    event: dict[str, Any] | None = None,
) -> StoredMessage | None:
    """Move an open conversation to closed/abandoned, storing its ``left`` event (the last seq) in the same
    statement's transaction. Returns that event, or None when the conversation was already finished."""
    conditions = [Conversation.id == conversation_id, Conversation.status.in_(OPEN_STATUSES)]
    if only_assigned_to is not None:
        conditions.append(Conversation.assigned_to == only_assigned_to)
    now = utcnow()
    async with sessions.begin() as session:
        seq = await session.scalar(
            update(Conversation)
            .where(and_(*conditions))
            .values(status=status, outcome=outcome, closed_at=now, last_seq=Conversation.last_seq + 1)
            .returning(Conversation.last_seq)
        )
        if seq is None:
            return None
        return await _insert_event(session, conversation_id, seq, event or {"type": "left", "who": "operator"}, now)


async def append_event(session: AsyncSession, conversation_id: str, event: dict[str, Any]) -> StoredMessage | None:
    """Store an event (a frame with a ``type``) with the next seq, inside the caller's transaction, so that it commits
    with what it tells; None when the conversation is no longer open (the caller then only publishes it)."""
    seq = await session.scalar(_NEXT_SEQ, {"conversation_id": conversation_id})
    if seq is None:
        return None
    return await _insert_event(session, conversation_id, seq, event, utcnow())


async def _insert_event(session: AsyncSession, conversation_id: str, seq: int, event: dict[str, Any],
                        now: datetime) -> StoredMessage:
    assert isinstance(event.get("type"), str), event
    body = json.dumps(event, ensure_ascii=False)
    await session.execute(_INSERT_MESSAGE, {
        "conversation_id": conversation_id, "seq": seq, "author": "system", "author_id": None, "kind": "event",
        "body": body, "client_id": None, "created_at": now,
    })
    return StoredMessage(conversation_id, seq, "system", "event", body, None, now)


_TOUCH = ByKeys(lambda dialect: update(_conversations).where(one_of_keys(_conversations.c.id, dialect))
                .values(visitor_seen_at=bindparam("now", type_=UTCDateTime())))


async def touch_visitors(sessions: async_sessionmaker[AsyncSession], conversation_ids: list[str]) -> list[
    BaseException | None
]:
    """These visitors were connected until now (their sockets closed): one UPDATE for all (a ``Batcher`` run)."""
    await _TOUCH.run(sessions, conversation_ids, now=utcnow())
    return [None] * len(conversation_ids)


@dataclass(frozen=True)
class QueueItem:
    id: str
    category: str
    queued_at: datetime
    emergency: bool
    minor: bool
    department: str
    commune_name: str
    role: str
    language: str
    # The visitor already wrote while waiting: the operator who takes the tchat has something to read at once.
    wrote: bool

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id, "category": self.category, "queued_at": self.queued_at.isoformat().replace("+00:00", "Z"),
            "emergency": self.emergency, "minor": self.minor, "department": self.department,
            "commune": self.commune_name, "role": self.role, "language": self.language, "wrote": self.wrote,
        }


async def set_location(sessions: async_sessionmaker[AsyncSession], conversation_id: str, where: Resolution, *,
                       only_assigned_to: str) -> bool:
    """Set the commune of a live tchat (and what follows from it: département, postal code, competent local
    service) for the operator in charge; False when the tchat is no longer theirs or no longer live."""
    async with sessions.begin() as session:
        return await set_location_in(session, conversation_id, where, only_assigned_to=only_assigned_to)


async def set_location_in(session: AsyncSession, conversation_id: str, where: Resolution, *,
                          only_assigned_to: str) -> bool:
    """``set_location`` inside the caller's transaction (which audits it)."""
    service = where.local_service
    result = await session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id, Conversation.assigned_to == only_assigned_to,
               Conversation.status == "active")
        .values(postal_code=where.postal_code, insee=where.insee, commune_name=where.commune_name,
                department=where.department, local_service_id=service.id if service else None,
                local_service_approximate=service.approximate if service else False)
        .returning(Conversation.id)
    )
    return result.first() is not None


def priority_of(emergency: bool, minor: bool) -> int:
    """Queue order: emergency first, then minors, then everyone else (oldest first within each)."""
    return 0 if emergency else 1 if minor else 2


async def set_flags(
    sessions: async_sessionmaker[AsyncSession], conversation_id: str, *, emergency: bool, minor: bool
) -> None:
    async with sessions.begin() as session:
        await set_flags_in(session, conversation_id, emergency=emergency, minor=minor)


async def set_flags_in(session: AsyncSession, conversation_id: str, *, emergency: bool, minor: bool) -> None:
    """``set_flags`` inside the caller's transaction (which audits it)."""
    await session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id)
        .values(emergency=emergency, minor=minor, priority=priority_of(emergency, minor))
    )


def _queue_items(where: ColumnElement[bool]) -> Select[*tuple[Any, ...]]:
    """What a console shows of each waiting tchat matching ``where``, in queue order (rows for ``_queue_item``)."""
    return (
        select(
            Conversation.id, Conversation.category, Conversation.queued_at, Conversation.emergency,
            Conversation.minor, Conversation.department, Conversation.commune_name, Conversation.requester_role,
            Conversation.language,
            exists().where(Message.conversation_id == Conversation.id, Message.author == "visitor"),
        )
        .where(where)
        .order_by(Conversation.priority, Conversation.queued_at, Conversation.id)
    )


def _queue_item(row: Sequence[Any]) -> QueueItem:
    return QueueItem(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], bool(row[9]))


def _queued(force: str, category: str) -> ColumnElement[bool]:
    return and_(Conversation.force == force, Conversation.category == category, Conversation.status == "queued")


async def queue(sessions: async_sessionmaker[AsyncSession], force: str, category: str) -> list[QueueItem]:
    """Every tchat waiting in a queue, in queue order, with what a console shows of it."""
    async with single_read(sessions) as session:
        rows = await session.execute(_queue_items(_queued(force, category)))
        return [_queue_item(row) for row in rows]


@dataclass(frozen=True, slots=True)
class QueueView:
    """One read of a queue for what a change publishes (``chat/queue_frames.py``): the order of every waiting tchat,
    and the details of a few only — the first ``head``, those further back in another language than French (at
    most ``head``), and the newest arrival."""

    ids: list[str]
    shown: list[QueueItem]
    newest: QueueItem | None


async def queue_view(sessions: async_sessionmaker[AsyncSession], force: str, category: str, head: int) -> QueueView:
    """The order from the index alone, then the details (and the EXISTS over messages) of at most ``2 * head + 1``
    tchats: with 5,000 waiting, a read of the whole queue's details cost the process more than the rest of a
    change (issue 19, item 2)."""
    async with single_read(sessions) as session:
        order = (await session.execute(
            select(Conversation.id, Conversation.language, Conversation.queued_at)
            .where(_queued(force, category))
            .order_by(Conversation.priority, Conversation.queued_at, Conversation.id))).all()
        wanted = [row[0] for row in order[:head]] + [row[0] for row in order[head:] if row[1] != "fr"][:head]
        newest = max(order, key=lambda row: (row[2], row[0]), default=None)
        picked = set(wanted) | ({newest[0]} if newest is not None else set())
        details = {row[0]: _queue_item(row) for row in await session.execute(
            _queue_items(and_(_queued(force, category), Conversation.id.in_(picked))))} if picked else {}
    # A tchat taken between the two reads is simply not shown: the next change publishes again.
    return QueueView([row[0] for row in order], [details[i] for i in wanted if i in details],
                     details.get(newest[0]) if newest is not None else None)


@dataclass(frozen=True, slots=True)
class Seat:
    """What a visitor's socket keeps of its conversation for its whole life: its place in a queue, not the row."""

    id: str
    force: str
    category: str
    status: str
    priority: int
    queued_at: datetime
    emergency: bool
    minor: bool

    @classmethod
    def of(cls, c: ConversationRow) -> Seat:
        return cls(c.id, c.force, c.category, c.status, c.priority, c.queued_at, c.emergency, c.minor)


async def position(sessions: async_sessionmaker[AsyncSession], conversation: ConversationRow | Seat) -> int | None:
    """1-based place of a queued conversation in its queue: one indexed count, not a load of the whole queue."""
    if conversation.status != "queued":
        return None
    c = Conversation
    ahead = or_(
        c.priority < conversation.priority,
        and_(c.priority == conversation.priority, c.queued_at < conversation.queued_at),
        and_(c.priority == conversation.priority, c.queued_at == conversation.queued_at, c.id < conversation.id),
    )
    async with single_read(sessions) as session:
        count = await session.scalar(
            select(func.count()).select_from(c).where(
                c.force == conversation.force, c.category == conversation.category, c.status == "queued", ahead
            )
        )
    return int(count or 0) + 1
