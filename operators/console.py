"""The operator WebSocket ``/ws/operator``: one connection per console tab, for operators, psychologists and
supervisors. This module is the endpoint — the welcome, the read loop, the dispatch of client frames through the
state's frame table (``operators.frames``, filled by ``operators.wiring``). The connection itself is
``operators.consoles.Console``. Frames are documented in operators/README.md."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from chat import conversations, protocol, store
from chat.broker import SubscriberOverflow
from chat.db import single_read
from chat.models import CATEGORIES, Conversation, Participant
from chat.origin import origin_allowed
from chat.state import ChatState, state_of
from operators import availability, canned, invitations, offers, office_hours, sessions, supervision
from operators.availability import AVAILABILITY_CHANNEL
from operators.channels import PSYCHOLOGISTS_CHANNEL, account_channel, queues_of
from operators.consoles import (
    CLOSE_FORBIDDEN,
    CLOSE_OVERFLOW,
    CLOSE_TRY_AGAIN,
    CLOSE_UNAUTHORISED,
    Console,
    queue_snapshot,
)
from operators.errors import error_frame
from operators.frames import frames_of
from operators.lanes import Lanes
from operators.lookups import lookups_of, reading_named
from operators.models import Account
from operators.permissions import CONSOLE_ROLES
from operators.roster import roster_of

log = logging.getLogger("pnav.operators")

# Supervisors get a fresh snapshot every 5 s: queues move in minutes, 5 s feels live without loading the database.
SUPERVISION_SECONDS = 5.0


async def _open_conversations(state: ChatState, account: Account) -> list[str]:
    """What this console follows at connection: taken tchats, or joined ones for a psychologist."""
    async with single_read(state.sessions) as session:
        if account.role == "operator":
            # Live tchats, and abandoned ones whose outcome the operator has not recorded yet.
            rows = await session.scalars(
                select(Conversation.id).where(
                    Conversation.assigned_to == account.id,
                    (Conversation.status == "active")
                    | ((Conversation.status == "abandoned") & Conversation.outcome.is_(None)),
                ).order_by(Conversation.taken_at)
            )
            return list(rows)
        if account.role == "psychologist":
            rows = await session.scalars(
                select(Participant.conversation_id).join(Conversation, Conversation.id == Participant.conversation_id)
                .where(Participant.account_id == account.id, Participant.role == "psychologist",
                       Participant.left_at.is_(None), Conversation.status == "active")
            )
            return list(rows)
    return []


async def endpoint(websocket: WebSocket) -> None:
    state = state_of(websocket)
    # The session cookie rides along with any page the operator visits: a missing Origin is refused too.
    if not origin_allowed(websocket, state.settings.trusted_origins, require=True):
        # Refused before the handshake completes: the browser sees a 403, a cross-site page learns nothing.
        await websocket.close(code=CLOSE_FORBIDDEN)
        return
    signed = await sessions.lookup(state.sessions, websocket.cookies.get(sessions.COOKIE))
    await websocket.accept()
    if signed is None or signed.account.role not in CONSOLE_ROLES:
        code = "not_signed_in" if signed is None else "forbidden"
        await websocket.send_text(protocol.dumps(error_frame(code)))
        await websocket.close(code=CLOSE_UNAUTHORISED if signed is None else CLOSE_FORBIDDEN)
        return
    account = signed.account
    channels = [account_channel(account.id)]
    if account.role in ("operator", "supervisor") and account.force:
        channels += [conversations.queue_channel(force, c) for force in queues_of(account.force) for c in CATEGORIES]
        channels.append(offers.team_channel(account.force))
    if account.role == "operator":
        channels.append(AVAILABILITY_CHANNEL)
    if account.role == "psychologist":
        channels.append(PSYCHOLOGISTS_CHANNEL)
    console = Console(state, websocket, signed)
    roster = roster_of(state)
    supervising: asyncio.Task[None] | None = None
    await console.events.acquire()
    try:
        async with state.broker.subscribe(*channels, on_ready=console.events_ready) as sub:
            console.sub = sub
            try:
                await _welcome(console)
            finally:
                console.events.release()
            roster.join(console)
            if account.role == "psychologist":
                await availability.announce(state)
            if account.role == "supervisor":
                supervising = asyncio.create_task(_supervise(console))
            await _read(console)
    except (WebSocketDisconnect, SubscriberOverflow):
        pass
    except (SQLAlchemyError, OSError) as exc:
        # The database is down or its pool exhausted (thousands of consoles opening at once): say so; the console
        # page reconnects by itself and resumes every tab.
        log.warning("console ended by storage error: %s", type(exc).__name__)
        with contextlib.suppress(RuntimeError, OSError):
            await console.error("storage_unavailable")
        await console.close(CLOSE_TRY_AGAIN)
    finally:
        roster.leave(console)
        for task in (supervising, console._drainer):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        with contextlib.suppress(Exception):
            await sessions.console_closed(state.sessions, signed.session_id)
            if account.role == "psychologist":
                await availability.announce(state)  # one psychologist fewer for the operators
        if websocket.client_state == WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await websocket.close(code=CLOSE_OVERFLOW)


async def _welcome(console: Console) -> None:
    state, account = console.state, console.account
    await lookups_of(state).heartbeat.submit(console.signed.session_id)
    schedule = await office_hours.schedule(state)
    # Operators see before any click whether a psychologist can join (hours and how many are online).
    psychologists = (await availability.psychologists(state) if account.role == "operator"
                     else office_hours.status_json(schedule))
    await console.send({
        "type": "welcome",
        "account": {"username": account.username, "display_name": account.display_name, "role": account.role,
                    "force": account.force, "languages": list(account.spoken)},
        "canned": [canned.as_json(a) for a in await canned.all_answers(state.sessions)],
        "psychologists": psychologists,
        # The frames this role may send, including those other packages registered: the console shows only
        # the buttons that will work.
        "actions": frames_of(state).types_for(account.role),
        # The force's routing mode (pick or offer), and an operator's own status and capacity (operators.offers).
        "team": await offers.team_state(state, account),
    })
    if account.role in ("operator", "supervisor") and account.force:
        for force in queues_of(account.force):
            for category in CATEGORIES:
                await console.send(await queue_snapshot(state, force, category))
    if account.role == "psychologist":
        for invitation in await invitations.pending(state):
            await console.send(invitation)
    if account.role == "operator":
        for offer in await offers.open_offers_for(state, account.id):
            await console.send(offer)
    for conversation_id in await _open_conversations(state, account):
        await console.attach(conversation_id)


async def _read(console: Console) -> None:
    """Client frames, read by the connection's own task until the socket closes or the session ends."""
    settings = console.state.settings
    lanes = Lanes()
    try:
        while not console.signed_out:
            raw = await console.websocket.receive_text()
            if not console.rate_ok():
                await console.error("rate_limited")
                continue
            data = protocol.decode(raw, settings.max_frame_bytes)
            if isinstance(data, protocol.ProtocolError):
                await console.send(data.frame())
                continue
            lane = data.get("conversation")
            lanes.submit(lane if isinstance(lane, str) else "", _handle(console, data))
    finally:
        await lanes.close()


async def _handle(console: Console, data: dict[str, Any]) -> None:
    if console.signed_out:
        return
    try:
        with reading_named(console.state, data):  # the tchat it names is read meanwhile, for the handler's check
            await _authorised(console, data)
    except (SQLAlchemyError, TimeoutError) as exc:
        # The database did not answer within its deadline — at the session's re-check (a pool exhausted by consoles
        # opening together) or in the handler (a send: chat.writer.SEND_DEADLINE, never acked): say so and close;
        # the console reconnects by itself and resends its unacknowledged messages with their client ids. (A failed
        # re-check used to escape into the frame's task: no answer, the console left waiting on an open socket.)
        log.warning("operator frame %s not handled: storage error %s", data["type"], type(exc).__name__)
        with contextlib.suppress(RuntimeError, OSError):
            await console.error("storage_unavailable", data.get("conversation") if isinstance(
                data.get("conversation"), str) else None)
        await console.close(CLOSE_TRY_AGAIN)


async def _authorised(console: Console, data: dict[str, Any]) -> None:
    # Authorisation on every frame: the session may have been revoked or the account disabled meanwhile.
    if not await lookups_of(console.state).session_alive.get(console.signed.session_id):
        await console.sign_out()
        return
    registered = frames_of(console.state).lookup(data["type"])
    if registered is None:
        await console.error("unknown_frame")
        return
    if console.account.role not in registered.roles:
        await console.error("forbidden", data.get("conversation") if isinstance(data.get("conversation"), str)
                            else None)
        return
    try:
        await registered.handler(console, data)
    except store.ConversationClosed:
        await console.error("conversation_closed", str(data.get("conversation")))
    except (SQLAlchemyError, TimeoutError):
        raise  # answered by _handle
    except Exception:
        # A bug in one handler must not close the console: log without the frame (it may hold a message).
        log.exception("operator frame %s failed", data["type"])
        await console.error("internal")


async def _supervise(console: Console) -> None:
    while True:
        force = console.account.force or ""
        try:
            await console.send(await supervision.snapshot(console.state, force))
        except SQLAlchemyError as exc:  # the database is unreachable: the next snapshot tries again
            log.warning("supervision snapshot failed: %s", type(exc).__name__)
        await asyncio.sleep(SUPERVISION_SECONDS)
