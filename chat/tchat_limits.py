"""Limits of one tchat, whatever the number of its sockets: sockets open at once, sends per second across them, and
what the visitor may store in it (messages and bytes), so that one visitor can neither hold hundreds of sockets on
one token, nor multiply the send rate by opening more, nor fill the database.

Counted per process, in memory, while the tchat has sockets here: a tchat's sockets normally reach one process (a
visitor has one or two tabs), and the stored totals are read from the database when its first socket opens here,
so the ceiling holds across reconnections and processes (give or take the sends in flight at that moment).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import LargeBinary, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat.models import Message
from chat.ratelimit import TokenBucket
from chat.state import ChatState

# A visitor has a phone and a computer, a few tabs, one more socket while each reconnects: 8 is plenty.
SOCKETS_PER_TCHAT = 8
# The longest real tchats hold a few hundred messages from the visitor (an hour at one message every 10 s is 360);
# 2,000 messages or 2 MB of text (500 messages of the longest kind) is far past any account of facts.
MESSAGES_PER_TCHAT = 2_000
BYTES_PER_TCHAT = 2_000_000

TOO_MANY_TABS = (
    "Cette conversation est déjà ouverte dans trop d'onglets ou d'appareils. Fermez ceux qui ne servent plus puis "
    "rechargez la page ; en cas de danger, appelez le 17 ou le 112, ou envoyez un SMS au 114."
)
TCHAT_FULL = (
    "Cette conversation a atteint sa taille maximale : ce message n'a pas été enregistré, et la personne qui vous "
    "répond en est informée. Pour continuer, commencez une nouvelle conversation depuis l'accueil ; en cas de "
    "danger, appelez le 17 ou le 112, ou envoyez un SMS au 114."
)
# The system line the operator (and the visitor) read in the tchat, once, when the ceiling is reached.
TCHAT_FULL_NOTICE = (
    "Ce tchat a atteint sa taille maximale ({messages} messages ou {megabytes} Mo de texte du visiteur) : les "
    "nouveaux messages du visiteur ne sont plus enregistrés. Proposez-lui de poursuivre dans une nouvelle "
    "conversation si besoin."
)
# What names the notice (with the tchat's id) in its idempotency key (``conversations.server_key``): it is stored once
# per tchat, whichever process or socket reaches the ceiling first, and no client can take the key first.
TCHAT_FULL_KEY = "tchat-full"


@dataclass
class Tchat:
    """One tchat's counters on this process, shared by its sockets."""

    conversation_id: str
    sends: TokenBucket
    sockets: int = 0
    # What the visitor stored, read from the database when first needed, then kept up to date by the sends here.
    messages: int | None = None
    bytes: int = 0
    told: bool = False


@dataclass
class TchatLimits:
    sockets: int
    messages: int
    bytes: int
    send_rate: float
    send_burst: float
    tchats: dict[str, Tchat] = field(default_factory=dict)

    def open(self, conversation_id: str) -> Tchat | None:
        """One more socket on this tchat; None when it already has ``sockets`` open here."""
        tchat = self.tchats.get(conversation_id)
        if tchat is None:
            tchat = self.tchats[conversation_id] = Tchat(conversation_id, TokenBucket(self.send_rate, self.send_burst))
        if self.sockets > 0 and tchat.sockets >= self.sockets:
            return None
        tchat.sockets += 1
        return tchat

    def close(self, conversation_id: str) -> None:
        tchat = self.tchats.get(conversation_id)
        if tchat is None:
            return
        tchat.sockets -= 1
        if tchat.sockets <= 0:
            del self.tchats[conversation_id]

    async def room_for(self, sessions: async_sessionmaker[AsyncSession], tchat: Tchat, size: int) -> bool:
        """Whether the visitor may store one more message of ``size`` bytes in this tchat."""
        if tchat.messages is None:
            tchat.messages, tchat.bytes = await visitor_totals(sessions, tchat.conversation_id)
        return tchat.messages < self.messages and tchat.bytes + size <= self.bytes

    def stored(self, tchat: Tchat, size: int) -> None:
        if tchat.messages is not None:
            tchat.messages += 1
            tchat.bytes += size

    def notice(self) -> str:
        return TCHAT_FULL_NOTICE.format(messages=self.messages, megabytes=f"{self.bytes / 1e6:g}".replace(".", ","))


async def visitor_totals(sessions: async_sessionmaker[AsyncSession], conversation_id: str) -> tuple[int, int]:
    """How many messages the visitor stored in the tchat, and their bytes (UTF-8): one indexed aggregate."""
    async with sessions() as session:
        postgres = session.get_bind().dialect.name == "postgresql"
        size = func.octet_length(Message.body) if postgres else func.length(cast(Message.body, LargeBinary))
        count, total = (await session.execute(
            select(func.count(), func.coalesce(func.sum(size), 0))
            .where(Message.conversation_id == conversation_id, Message.author == "visitor", Message.kind == "text")
        )).one()
    return int(count), int(total)


def _setting(state: ChatState, name: str, default: int) -> int:
    raw = state.settings.extra.get(name, "").strip()
    return int(raw) if raw.isdigit() else default


def tchat_limits_of(state: ChatState) -> TchatLimits:
    """The process's per-tchat limits, made on first use (PNAV_SOCKETS_PER_TCHAT, PNAV_MESSAGES_PER_TCHAT,
    PNAV_BYTES_PER_TCHAT; the send rate is the socket's, PNAV_VISITOR_SEND_RATE and _BURST)."""
    settings = state.settings
    return state.extension("chat.tchat_limits", lambda: TchatLimits(
        sockets=_setting(state, "PNAV_SOCKETS_PER_TCHAT", SOCKETS_PER_TCHAT),
        messages=_setting(state, "PNAV_MESSAGES_PER_TCHAT", MESSAGES_PER_TCHAT),
        bytes=_setting(state, "PNAV_BYTES_PER_TCHAT", BYTES_PER_TCHAT),
        send_rate=float(settings.visitor_send_rate), send_burst=float(settings.visitor_send_burst),
    ))
