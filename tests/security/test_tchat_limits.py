"""Limits of one tchat whatever its sockets: how many are open, how fast they send together, how much it stores."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from chat.tchat_limits import SOCKETS_PER_TCHAT
from tests.client import Visitor, start_tchat
from tests.conftest import settings_for
from tests.faults.results import Row, record
from tests.servers import LiveServer

WIDE = 40  # sockets on one token, as measured in issue 18 (97 messages a second with the defaults then)
CEILING_MESSAGES, CEILING_BYTES = 6, 20_000
tried: dict[str, Any] = {}


def _server(tmp_path_factory: pytest.TempPathFactory, name: str, **extra: str) -> LiveServer:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp(name) / 'pnav.sqlite3'}"
    return LiveServer(settings_for(url, "memory://", extra=extra)).start()


@pytest.fixture(scope="module")
def wide(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """40 sockets allowed per tchat, the default send rate (2 a second, bursts of 10)."""
    server = _server(tmp_path_factory, "wide", PNAV_SOCKETS_PER_TCHAT=str(WIDE))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Tchats of at most 6 visitor messages and 20,000 bytes."""
    server = _server(tmp_path_factory, "small", PNAV_MESSAGES_PER_TCHAT=str(CEILING_MESSAGES),
                     PNAV_BYTES_PER_TCHAT=str(CEILING_BYTES))
    yield server
    server.stop()


async def test_sockets_per_tchat(plain: LiveServer) -> None:
    """Past its allowance of sockets a tchat's next one gets a French error and close 1008; the others work on,
    and a socket closed frees its place."""
    tchat = await start_tchat(plain)
    held = [Visitor(plain, tchat["token"]) for _ in range(SOCKETS_PER_TCHAT)]
    for visitor in held:
        await visitor.connect()
    extra = Visitor(plain, tchat["token"])
    with pytest.raises(ConnectionClosed) as closed:
        await extra.connect()
    refused = [f for f in extra.frames if f["type"] == "error"]
    assert refused and refused[0]["code"] == "too_many_tabs" and "onglets" in refused[0]["message"]
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    await held[0].send({"type": "send", "client_id": "encore", "body": "Je suis toujours là"})
    await held[0].expect("ack", client_id="encore")
    for visitor in held[1:]:
        await visitor.expect("message", client_id="encore")
    await held[0].close()
    await asyncio.sleep(0.2)
    again = Visitor(plain, tchat["token"])
    await again.connect()
    for visitor in (*held[1:], again):
        await visitor.close()
    tried["sockets"] = SOCKETS_PER_TCHAT + 2


async def test_sends_per_tchat_across_sockets(wide: LiveServer) -> None:
    """40 sockets on one token sending 5 messages each at once: the tchat stores what one socket may (a burst of
    10, then 2 a second), every other send is refused in French."""
    tchat = await start_tchat(wide)
    sockets = [Visitor(wide, tchat["token"]) for _ in range(WIDE)]
    for visitor in sockets:
        await visitor.connect()
    started = time.monotonic()
    for n, visitor in enumerate(sockets):
        for k in range(5):
            await visitor.send({"type": "send", "client_id": f"s{n}-{k}", "body": f"message {n}-{k}"})
    answers: list[dict[str, Any]] = []
    for n, visitor in enumerate(sockets):
        mine: dict[str, dict[str, Any]] = {}
        while len(mine) < 5:
            frame = await visitor.recv(10)
            if frame["type"] in ("ack", "error") and str(frame.get("client_id", "")).startswith(f"s{n}-"):
                mine[frame["client_id"]] = frame
        answers += mine.values()
    elapsed = time.monotonic() - started
    acked = [a for a in answers if a["type"] == "ack"]
    refused = [a for a in answers if a["type"] == "error"]
    assert 10 <= len(acked) <= 10 + 2 * elapsed + 1, (len(acked), elapsed)
    assert all(a["code"] == "rate_limited" and "patientez" in a["message"] for a in refused)
    for visitor in sockets:
        await visitor.close()
    tried.update(wide_sends=len(answers), wide_acked=len(acked), wide_seconds=elapsed)


async def _send(visitor: Visitor, client_id: str, body: str) -> dict[str, Any]:
    await visitor.send({"type": "send", "client_id": client_id, "body": body})
    while True:
        frame = await visitor.recv(10)
        if frame.get("client_id") == client_id and frame["type"] in ("ack", "error"):
            return frame


async def test_tchat_ceiling(small: LiveServer) -> None:
    """A tchat stores at most so many visitor messages and bytes: the next send gets a French error, and the
    operator reads once in the tchat that the ceiling was reached."""
    from tests.operators.staff import console_for, make

    staff = await make(small, "plafond", "operator", "police")
    console = await console_for(small, staff)
    tchat = await start_tchat(small)
    await console.send({"type": "take", "conversation": tchat["id"]})
    await console.expect("taken", conversation=tchat["id"])
    visitor = Visitor(small, tchat["token"])
    await visitor.connect()
    answers = [await _send(visitor, f"c{n}", f"message {n}") for n in range(CEILING_MESSAGES + 2)]
    assert [a["type"] for a in answers] == ["ack"] * CEILING_MESSAGES + ["error", "error"]
    assert answers[-1]["code"] == "tchat_full" and "taille maximale" in answers[-1]["message"]
    notice = await console.expect("message", author="system")
    assert "taille maximale" in notice["body"]
    assert await console.quiet("message", 0.5, author="system")  # told once, not at every refused send
    await visitor.close()

    # Bytes: five messages of 4,000 characters fill 20,000 bytes; the sixth does not fit (in a new visit too).
    other = await start_tchat(small)
    visitor = Visitor(small, other["token"])
    await visitor.connect()
    answers = [await _send(visitor, f"b{n}", "x" * 4_000) for n in range(5)]
    await visitor.close()
    visitor = Visitor(small, other["token"])
    await visitor.connect()
    answers.append(await _send(visitor, "b5", "x" * 4_000))
    assert [a["type"] for a in answers] == ["ack"] * 5 + ["error"] and answers[-1]["code"] == "tchat_full"
    await visitor.close()
    await console.close()
    tried["ceiling"] = CEILING_MESSAGES + 2 + 6
    record(Row(
        key="5-tchat-limits", fault="un tchat ouvert sur de nombreuses sockets, rempli sans fin",
        load=f"{SOCKETS_PER_TCHAT} sockets par tchat (par défaut), 2 messages/s (rafale 10) par tchat toutes "
             f"sockets confondues ; plafond de test {CEILING_MESSAGES} messages et {CEILING_BYTES} octets "
             "(2 000 et 2 Mo par défaut)",
        inputs=f"{tried.get('sockets', 0)} sockets sur un jeton (la {SOCKETS_PER_TCHAT + 1}e refusée, 1008) ; "
               f"{WIDE} sockets sur un jeton : {tried.get('wide_sends', 0)} envois en rafale, "
               f"{tried.get('wide_acked', 0)} acquittés en {tried.get('wide_seconds', 0):.1f} s ; "
               f"{tried.get('ceiling', 0)} envois contre le plafond",
        acknowledged=tried.get("wide_acked", 0), delivered=tried.get("wide_acked", 0), lost=0,
        result="chaque refus est en français ; les autres sockets continuent ; l'opérateur est prévenu une fois",
    ))
