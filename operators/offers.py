"""Fair load (issue 21, part 2): each operator's capacity and status, and the routing mode of each force.

- **pick** (the default): operators take from the queue; a take is refused at capacity (``at_capacity``).
- **offer**: the oldest waiting tchat (emergency first, then minors, as the queue orders them) is offered to the
  available operator of that force, console open, with the most free capacity — ties to whoever got a tchat longest
  ago — who has not been offered that tchat more often than others. The operator accepts within OFFER_SECONDS or
  the offer lapses and the tchat goes to the next; three lapses in a row set the operator « absent » until they
  say they are available again. Manual takes are refused in this mode (``offer_mode``).

Load = live tchats in charge + open offers; free capacity = capacity − load. PostgreSQL is the truth: a force's
offers are made under a transaction-level advisory lock (one dispatcher at a time, across processes),
the operators' rows are locked while their load is counted (a take or a transfer locks the same row), and two
partial unique indexes refuse a second open offer for a tchat or for an operator whatever happens. On SQLite the
process's single connection serialises the same transactions. The 30 s timer is ``expires_at`` in the database:
every process sweeps expired offers every second (``UPDATE … RETURNING`` hands each lapse to exactly one process),
so an offer lapses on time even if the process that made it died. Every offer, acceptance, lapse, withdrawal, status
and mode change is audited.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from audit import trail
from chat import conversations, protocol, store
from chat.db import utcnow
from chat.models import FORCES, UNLOCATED, Conversation
from chat.state import ChatState
from operators.channels import account_channel
from operators.consoles import Console
from operators.models import Account, AccountSession, Offer, RoutingMode
from operators.presence import ONLINE_WINDOW

log = logging.getLogger("pnav.operators")

MODES = ("pick", "offer")
STATUSES = ("available", "paused", "absent")
# The rule: an offer not accepted within 30 s goes to the next operator.
OFFER_SECONDS = 30
# Three offers let lapse in a row: the operator is away from the desk; marking them absent stops the tchats that
# wait from losing 30 s with them each time.
MAX_LAPSES = 3
# Every process sweeps once a second: an offer lapses at most a second late, and a tchat arriving in offer mode is
# offered within a second. Each pass is a few indexed statements per force in offer mode.
SWEEP_SECONDS = 1.0
# The PostgreSQL advisory lock key of the dispatchers ("offr"). One key for every force rather than one per force:
# a tchat both forces may answer (a queue they share) is then never offered by two dispatchers at once, and offers
# are made a few per second at most, so serialising them all costs nothing measurable.
_LOCK_KEY = 0x6F666672
# Never given a tchat: they waited longest of all.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def team_channel(force: str) -> str:
    """Operators and supervisors of a force: routing mode changes."""
    return f"team:{force}"


async def _serialise(session: AsyncSession) -> None:
    """One dispatcher at a time across processes, until the end of the transaction (SQLite: its single connection)."""
    if (await session.connection()).dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})


async def mode_in(session: AsyncSession, force: str) -> str:
    return await session.scalar(select(RoutingMode.mode).where(RoutingMode.force == force)) or "pick"


async def mode_of(state: ChatState, force: str) -> str:
    async with state.sessions() as session:
        return await mode_in(session, force)


def _active_count(account_id: Any) -> Any:
    return (select(func.count(Conversation.id))
            .where(Conversation.assigned_to == account_id, Conversation.status == "active").scalar_subquery())


def _offer_count(account_id: Any) -> Any:
    return select(func.count(Offer.id)).where(Offer.account_id == account_id, Offer.status == "open").scalar_subquery()


async def load_of(session: AsyncSession, account_id: str) -> int:
    """Live tchats in charge plus open offers."""
    row = (await session.execute(select(_active_count(account_id), _offer_count(account_id)))).one()
    return int(row[0] or 0) + int(row[1] or 0)


async def lock_capacity(session: AsyncSession, account_id: str) -> tuple[int, int]:
    """Lock the operator's row for this transaction and return (capacity, load): a take, a transfer to them and the
    dispatcher all count under this lock, so none of them can overshoot the capacity together."""
    capacity = await session.scalar(select(Account.capacity).where(Account.id == account_id).with_for_update())
    return int(capacity or 0), await load_of(session, account_id)


async def take(state: ChatState, conversation_id: str, account: Account, force: str) -> tuple[str, int]:
    """A take in pick mode: (``taken`` | ``at_capacity`` | ``offer_mode`` | ``already_taken``, the capacity)."""
    async with state.sessions.begin() as session:
        capacity, load = await lock_capacity(session, account.id)
        if await mode_in(session, force) == "offer":
            return "offer_mode", capacity
        if load >= capacity:
            return "at_capacity", capacity
        joined = await store.take_in(session, conversation_id, account.id, force, _joined(force))
        if joined is None:
            return "already_taken", capacity
        await session.execute(update(Account).where(Account.id == account.id).values(last_assigned_at=utcnow()))
        await trail.record(session, actor=account.username, action="conversation.taken", target=conversation_id)
    await conversations.taken(state, conversation_id, joined)
    return "taken", capacity


def _joined(force: str) -> dict[str, Any]:
    """The stored ``joined`` event of a take (chat.store.take_in), the same as a take in pick mode."""
    return {"type": "joined", "who": "operator", "force": force}


# ---- offers -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Made:
    offer: str
    account_id: str
    frame: dict[str, Any]


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def offer_frame(offer: Offer, c: Conversation) -> dict[str, Any]:
    return {"type": "offer", "offer": offer.id, "conversation": c.id, "category": c.category,
            "role": c.requester_role, "language": c.language, "department": c.department, "commune": c.commune_name,
            "emergency": c.emergency, "minor": c.minor, "queued_at": _iso(c.queued_at),
            "expires_at": _iso(offer.expires_at), "seconds": OFFER_SECONDS}


@dataclass
class _Candidate:
    id: str
    username: str
    free: int
    last_assigned_at: datetime
    languages: tuple[str, ...] = ("fr",)


async def _candidates(session: AsyncSession, force: str, now: datetime) -> list[_Candidate]:
    """Available operators of the force with a console open, no open offer and free capacity; rows locked."""
    online = select(AccountSession.account_id).where(AccountSession.console_seen_at > now - ONLINE_WINDOW,
                                                     AccountSession.revoked_at.is_(None))
    ids = list(await session.scalars(
        select(Account.id).where(Account.role == "operator", Account.force == force, Account.disabled.is_(False),
                                 Account.status == "available", Account.id.in_(online))
        .order_by(Account.id).with_for_update()))
    if not ids:
        return []
    rows = await session.execute(
        select(Account.id, Account.username, Account.capacity, Account.last_assigned_at, _active_count(Account.id),
               _offer_count(Account.id), Account.languages).where(Account.id.in_(ids)))
    found = []
    for account_id, username, capacity, last, active, offered, languages in rows:
        if offered:
            continue  # one open offer per operator at a time
        free = int(capacity) - int(active or 0) - int(offered or 0)
        if free > 0:
            found.append(_Candidate(account_id, username, free, last or EPOCH,
                                    tuple(code for code in str(languages or "fr").split(",") if code)))
    return found


# How long a tchat in another language than French is offered only to operators who speak it (issue 22); after
# that, to anyone, as other tchats. PNAV_LANGUAGE_WAIT_SECONDS overrides it (0: no preference).
DEFAULT_LANGUAGE_WAIT = 60


def language_wait(state: ChatState) -> timedelta:
    raw = state.settings.extra.get("PNAV_LANGUAGE_WAIT_SECONDS", "")
    return timedelta(seconds=int(raw) if raw.isdigit() else DEFAULT_LANGUAGE_WAIT)


def _speakers(conversation: Conversation, candidates: list[_Candidate], now: datetime,
              wait: timedelta) -> list[_Candidate]:
    """Who may be offered this tchat now: those who speak its language, or anyone once it has waited ``wait``."""
    language = conversation.language or "fr"
    speakers = [c for c in candidates if language in c.languages]
    if speakers or language == "fr" or now - conversation.queued_at >= wait:
        return speakers or candidates
    return []


async def dispatch(state: ChatState, force: str) -> list[Made]:
    """Offer the oldest waiting tchats of ``force`` to the operators with the most free capacity (offer mode only)."""
    now = utcnow()
    made: list[Made] = []
    async with state.sessions.begin() as session:
        await _serialise(session)
        if await mode_in(session, force) != "offer":
            return []
        candidates = await _candidates(session, force, now)
        if not candidates:
            return []
        open_offer = exists().where(Offer.conversation_id == Conversation.id, Offer.status == "open")
        waiting = list(await session.scalars(
            select(Conversation).where(Conversation.force.in_((force, UNLOCATED)), Conversation.status == "queued",
                                       ~open_offer)
            .order_by(Conversation.priority, Conversation.queued_at, Conversation.id).limit(len(candidates))))
        if not waiting:
            return []
        earlier: dict[tuple[str, str], int] = {
            (cid, aid): n for cid, aid, n in await session.execute(
                select(Offer.conversation_id, Offer.account_id, func.count(Offer.id))
                .where(Offer.conversation_id.in_([c.id for c in waiting]))
                .group_by(Offer.conversation_id, Offer.account_id))}
        for conversation in waiting:
            if not candidates:
                break
            eligible = _speakers(conversation, candidates, now, language_wait(state))
            if not eligible:
                continue  # nobody free speaks the visitor's language yet: wait a little for someone who does
            # Whoever was offered this tchat fewer times, then the most free capacity, then who waited longest.
            chosen = min(eligible, key=lambda c: (earlier.get((conversation.id, c.id), 0), -c.free,
                                                     c.last_assigned_at, c.username))
            candidates.remove(chosen)
            offer = Offer(id=secrets.token_hex(16), conversation_id=conversation.id, account_id=chosen.id,
                          status="open", offered_at=now, expires_at=now + timedelta(seconds=OFFER_SECONDS))
            session.add(offer)
            await trail.record(session, actor="system", action="offer.made", target=conversation.id,
                               details={"offer": offer.id, "operator": chosen.username})
            made.append(Made(offer.id, chosen.id, offer_frame(offer, conversation)))
    await _tell(state, [(m.account_id, m.frame) for m in made])
    return made


async def _tell(state: ChatState, frames: list[tuple[str, dict[str, Any]]]) -> None:
    for account_id, frame in frames:
        await state.broker.publish(account_channel(account_id), protocol.dumps(frame))


async def open_offers_for(state: ChatState, account_id: str) -> list[dict[str, Any]]:
    """The operator's open offer, for a console that (re)connects."""
    async with state.sessions() as session:
        rows = await session.execute(
            select(Offer, Conversation).join(Conversation, Conversation.id == Offer.conversation_id)
            .where(Offer.account_id == account_id, Offer.status == "open", Offer.expires_at > utcnow()))
        return [offer_frame(o, c) for o, c in rows]


async def accept(console: Console, fields: dict[str, Any]) -> None:
    """``accept_offer`` ``{offer}``: the offer and the take commit together, or neither (``offer_gone``)."""
    offer_id = fields.get("offer")
    if not isinstance(offer_id, str) or not offer_id.isalnum() or len(offer_id) > 64:
        await console.error("invalid_field")
        return
    state, me = console.state, console.account
    now = utcnow()
    async with state.sessions.begin() as session:
        won = (await session.execute(
            update(Offer).where(Offer.id == offer_id, Offer.account_id == me.id, Offer.status == "open",
                                Offer.expires_at > now)
            .values(status="accepted", answered_at=now).returning(Offer.conversation_id))).first()
        conversation_id: str | None = won[0] if won else None
        # The operator's force: a tchat waiting sans localisation becomes theirs, as with a take.
        force = me.force or ""
        joined = None
        if conversation_id is not None:
            joined = await store.take_in(session, conversation_id, me.id, force, _joined(force))
            if joined is None:  # the visitor left meanwhile: the offer is void
                await session.execute(update(Offer).where(Offer.id == offer_id).values(status="withdrawn"))
        if conversation_id is None or joined is None:
            taken = False
        else:
            await session.execute(update(Account).where(Account.id == me.id).values(lapses=0, last_assigned_at=now))
            await trail.record(session, actor=me.username, action="offer.accepted", target=conversation_id,
                               details={"offer": offer_id})
            await trail.record(session, actor=me.username, action="conversation.taken", target=conversation_id)
            taken = True
    if not taken:
        await console.send({"type": "offer_gone", "offer": offer_id, "reason": "gone"})
        await console.error("offer_gone", conversation_id)
        return
    assert conversation_id is not None and joined is not None
    await conversations.taken(state, conversation_id, joined)
    await state.broker.publish(account_channel(me.id), protocol.dumps({"type": "offer_gone", "offer": offer_id,
                                                                        "reason": "accepted"}))
    await state.broker.publish(account_channel(me.id), protocol.dumps({"type": "attach",
                                                                        "conversation": conversation_id}))


async def sweep(state: ChatState) -> None:
    """Lapse expired offers (three in a row: absent), withdraw offers of tchats no longer waiting, then offer the
    waiting tchats of every force in offer mode. Idempotent across processes."""
    now = utcnow()
    told: list[tuple[str, dict[str, Any]]] = []
    async with state.sessions.begin() as session:
        lapsed = (await session.execute(
            update(Offer).where(Offer.status == "open", Offer.expires_at <= now)
            .values(status="lapsed", answered_at=now)
            .returning(Offer.id, Offer.account_id, Offer.conversation_id))).all()
        for offer_id, account_id, conversation_id in lapsed:
            row = (await session.execute(update(Account).where(Account.id == account_id)
                                         .values(lapses=Account.lapses + 1)
                                         .returning(Account.lapses, Account.username))).one()
            await trail.record(session, actor=row[1], action="offer.lapsed", target=conversation_id,
                               details={"offer": offer_id, "in_a_row": row[0]})
            told.append((account_id, {"type": "offer_gone", "offer": offer_id, "reason": "lapsed"}))
            if row[0] >= MAX_LAPSES and (await session.execute(
                    update(Account).where(Account.id == account_id, Account.status == "available")
                    .values(status="absent").returning(Account.id))).first():
                await trail.record(session, actor="system", action="operator.status_changed", target=row[1],
                                   details={"status": "absent", "reason": "lapses"})
                told.append((account_id, {"type": "status", "status": "absent", "reason": "lapses"}))
        not_waiting = exists().where(Conversation.id == Offer.conversation_id, Conversation.status != "queued")
        withdrawn = (await session.execute(
            update(Offer).where(Offer.status == "open", not_waiting).values(status="withdrawn", answered_at=now)
            .returning(Offer.id, Offer.account_id, Offer.conversation_id))).all()
        for offer_id, account_id, conversation_id in withdrawn:
            await trail.record(session, actor="system", action="offer.withdrawn", target=conversation_id,
                               details={"offer": offer_id})
            told.append((account_id, {"type": "offer_gone", "offer": offer_id, "reason": "withdrawn"}))
        forces = list(await session.scalars(select(RoutingMode.force).where(RoutingMode.mode == "offer")))
    await _tell(state, told)
    for force in forces:
        await dispatch(state, force)


async def offer_sweeper(state: ChatState) -> None:
    """Background task of every process: the offers' timer and dispatcher."""
    while True:
        await asyncio.sleep(SWEEP_SECONDS)
        try:
            await sweep(state)
        except (SQLAlchemyError, OSError, TimeoutError) as exc:  # the database is unreachable: next pass retries
            log.warning("offer sweep failed: %s", type(exc).__name__)


# ---- status and mode ----------------------------------------------------------------------------------------

async def _withdraw_open(session: AsyncSession, *conditions: Any) -> list[tuple[str, dict[str, Any]]]:
    rows = (await session.execute(
        update(Offer).where(Offer.status == "open", *conditions).values(status="withdrawn", answered_at=utcnow())
        .returning(Offer.id, Offer.account_id, Offer.conversation_id))).all()
    for offer_id, _account_id, conversation_id in rows:
        await trail.record(session, actor="system", action="offer.withdrawn", target=conversation_id,
                           details={"offer": offer_id})
    return [(account_id, {"type": "offer_gone", "offer": offer_id, "reason": "withdrawn"})
            for offer_id, account_id, _c in rows]


async def set_status(console: Console, fields: dict[str, Any]) -> None:
    """``set_status`` ``{status: available|paused|absent}``: the operator's own; an open offer goes to the next."""
    status = fields.get("status")
    if status not in STATUSES:
        await console.error("invalid_field")
        return
    state, me = console.state, console.account
    async with state.sessions.begin() as session:
        values: dict[str, Any] = {"status": status}
        if status == "available":
            values["lapses"] = 0
        await session.execute(update(Account).where(Account.id == me.id).values(**values))
        told = [] if status == "available" else await _withdraw_open(session, Offer.account_id == me.id)
        await trail.record(session, actor=me.username, action="operator.status_changed", target=me.username,
                           details={"status": status})
    await _tell(state, told)
    await state.broker.publish(account_channel(me.id), protocol.dumps({"type": "status", "status": status}))
    if status == "available" and me.force:
        await dispatch(state, me.force)


async def set_mode(console: Console, fields: dict[str, Any]) -> None:
    """``set_mode`` ``{mode: pick|offer}``: a supervisor chooses how their force's queue reaches its operators."""
    mode, me = fields.get("mode"), console.account
    if mode not in MODES or me.force not in FORCES:
        await console.error("invalid_field")
        return
    state = console.state
    assert me.force is not None
    async with state.sessions.begin() as session:
        await _serialise(session)
        before = await mode_in(session, me.force)
        row = await session.get(RoutingMode, me.force)
        if row is None:
            session.add(RoutingMode(force=me.force, mode=mode, changed_by=me.username, changed_at=utcnow()))
        else:
            row.mode, row.changed_by, row.changed_at = str(mode), me.username, utcnow()
        told: list[tuple[str, dict[str, Any]]] = []
        if mode == "pick":
            in_force = exists().where(Offer.account_id == Account.id, Account.force == me.force)
            told = await _withdraw_open(session, in_force)
        await trail.record(session, actor=me.username, action="routing.mode_changed", target=me.force,
                           details={"from": before, "to": mode})
    await _tell(state, told)
    await state.broker.publish(team_channel(me.force), protocol.dumps({"type": "routing_mode", "force": me.force,
                                                                       "mode": mode}))
    if mode == "offer":
        await dispatch(state, me.force)


async def team_state(state: ChatState, account: Account) -> dict[str, Any]:
    """What a console shows of the routing: the force's mode, and for an operator their status and capacity."""
    if account.force not in FORCES:
        return {}
    assert account.force is not None
    async with state.sessions() as session:
        mode = await mode_in(session, account.force)
        if account.role != "operator":
            return {"mode": mode}
        row = (await session.execute(select(Account.status, Account.capacity).where(Account.id == account.id))).one()
    return {"mode": mode, "status": row[0], "capacity": int(row[1])}

