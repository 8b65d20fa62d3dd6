"""The consoles connected to this process, and the one task that keeps their sessions honest.

Every 20 s it re-checks the session of every console (revoked, expired, account disabled → the console is signed
out and closed), marks the live ones present (one UPDATE for all), authorises again every tchat each console follows
and makes operators follow every live tchat they hold (``Console.revalidate``), and refreshes what they show of others'
presence (``operators.availability``). One task for all the consoles of a process
instead of a task each: an idle console then costs no task but its socket's (memory per console, BENCHMARKS.md).
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from chat import store
from chat.db import single_read
from chat.models import Conversation
from chat.state import ChatState
from operators import availability, sessions
from operators.consoles import Console

log = logging.getLogger("pnav.operators")

EXTENSION = "operators.roster"
# Every 20 s: under the 60 s idle timeout of common proxies, and the session and account are re-checked at least
# this often even when a console is silent (a disabled account is cut off within 20 s; every frame is checked too).
HEARTBEAT_SECONDS = 20.0
# Sessions per query: the re-check is an IN over this many ids, the heartbeat one UPDATE of as many.
CHUNK = 500


class Roster:
    def __init__(self, state: ChatState) -> None:
        self.state = state
        self.consoles: set[Console] = set()

    def join(self, console: Console) -> None:
        self.consoles.add(console)

    def leave(self, console: Console) -> None:
        self.consoles.discard(console)

    async def check(self) -> None:
        """Sign out the consoles whose session ended; mark the others present."""
        consoles = list(self.consoles)
        for start in range(0, len(consoles), CHUNK):
            chunk = consoles[start:start + CHUNK]
            alive = await sessions.alive_among(self.state.sessions, [c.signed.session_id for c in chunk])
            for console in chunk:
                if not alive.get(console.signed.session_id):
                    await console.sign_out()
            live = [c.signed.session_id for c in chunk if alive.get(c.signed.session_id)]
            if live:
                await sessions.heartbeat_many(self.state.sessions, live)
            await self._revalidate([c for c in chunk if alive.get(c.signed.session_id) and not c.signed_out])
        await availability.refresh(self.state, consoles)

    async def _revalidate(self, consoles: list[Console]) -> None:
        """Every attached tchat of every console authorised again, and every live tchat an operator holds followed:
        revocation and assignment do not ride on pub/sub alone (a lost ``detach`` or ``attach``). Two queries per
        chunk of consoles."""
        attached = sorted({cid for console in consoles for cid in console.attached})
        rows = await store.get_many(self.state.sessions, attached) if attached else {}
        operators = sorted({c.account.id for c in consoles if c.account.role == "operator"})
        held = await held_by(self.state, operators) if operators else {}
        for console in consoles:
            try:
                await console.revalidate(rows, held.get(console.account.id, []))
            except Exception as exc:  # one console's socket failing must not stop the others' pass
                log.warning("console revalidation failed: %s", type(exc).__name__)


async def held_by(state: ChatState, account_ids: list[str]) -> dict[str, list[str]]:
    """The live tchats each operator is in charge of."""
    held: dict[str, list[str]] = {}
    async with single_read(state.sessions) as session:
        rows = await session.execute(select(Conversation.assigned_to, Conversation.id).where(
            Conversation.assigned_to.in_(account_ids), Conversation.status == "active"))
        for account_id, conversation_id in rows:
            held.setdefault(str(account_id), []).append(conversation_id)
    return held


def roster_of(state: ChatState) -> Roster:
    return state.extension(EXTENSION, lambda: Roster(state))


async def console_heartbeats(state: ChatState) -> None:
    """Background task: the heartbeat of every console of the process."""
    roster = roster_of(state)
    while True:
        await asyncio.sleep(HEARTBEAT_SECONDS)
        try:
            await roster.check()
        except (SQLAlchemyError, OSError) as exc:
            # The database is unreachable: every frame says so on its own; the next beat checks again.
            log.warning("console heartbeat failed: %s", type(exc).__name__)
