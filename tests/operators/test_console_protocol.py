"""The console socket under stress: racing takes, malformed frames, floods — answered in French, never closed."""

from __future__ import annotations

import asyncio

import pytest
import websockets

from tests.client import start_tchat
from tests.operators.staff import ConsoleClient, console_for, make, session_cookie
from tests.servers import UNIT, LiveServer


async def test_two_operators_race_for_one_tchat(staff_live: LiveServer) -> None:
    """Two consoles take the same tchat at once: exactly one gets it, the other is told a colleague did."""
    a = await console_for(staff_live, await make(staff_live, "course.a", "operator", "police"))
    b = await console_for(staff_live, await make(staff_live, "course.b", "operator", "police"))
    started = await start_tchat(staff_live, postal_code="75011")
    frame = {"type": "take", "conversation": started["id"]}
    await asyncio.gather(a.send(frame), b.send(frame))

    async def outcome(client: object) -> str:
        while True:
            got = await client.recv()  # type: ignore[attr-defined]
            if got["type"] == "taken":
                return "taken"
            if got["type"] == "error":
                return str(got["code"])

    results = sorted(await asyncio.gather(outcome(a), outcome(b)))
    assert results == ["already_taken", "taken"]
    await a.close()
    await b.close()


async def test_malformed_frames_keep_the_console_open(staff_live: LiveServer) -> None:
    """Garbage, unknown types, bad fields and oversized frames get French error frames; the socket keeps working."""
    console = await console_for(staff_live, await make(staff_live, "agent.bruit", "operator", "police"))
    bad = ["not json", "[]", '{"type": 3}', '{"type":"fly"}', '{"type":"take"}',
           '{"type":"take","conversation":"../x"}',
           '{"type":"read","conversation":"abc","seq":-1}', '{"type":"close","conversation":"abc","outcome":"won"}',
           '{"type":"send","conversation":"abc","client_id":"a b","body":"x"}', "x" * 20_000,
           '{"type":"accept_invitation","invitation":"abc"}']
    codes = []
    for raw in bad:
        await console.send(raw)
        reply = await console.expect("error")
        assert reply["message"] and reply["code"] != "internal", raw
        codes.append(reply["code"])
    assert "frame_too_large" in codes and "malformed_frame" in codes and "unknown_frame" in codes
    await console.send({"type": "take", "conversation": "doesnotexist"})
    assert (await console.expect("error"))["code"] == "unknown_conversation"
    await console.close()


async def test_flood_is_rate_limited_not_disconnected(staff_live: LiveServer) -> None:
    """A burst of frames beyond the limit gets ``rate_limited`` errors, and the socket answers again afterwards."""
    console = await console_for(staff_live, await make(staff_live, "agent.flot", "operator", "police"))
    for _ in range(60):
        await console.send({"type": "typing", "conversation": "abc"})
    codes = [(await console.expect("error"))["code"] for _ in range(60)]
    assert "rate_limited" in codes
    await asyncio.sleep(1)
    await console.send({"type": "take", "conversation": "doesnotexist"})
    assert (await console.expect("error"))["code"] == "unknown_conversation"
    await console.close()


async def test_a_storage_failure_at_welcome_says_so_and_asks_to_reconnect(staff_live: LiveServer,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """When the database fails while a console opens (pool exhausted by thousands of consoles at once), the console
    gets a French ``storage_unavailable`` and close code 1013 (try again), and the next attempt works."""
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    from operators import console as console_module

    staff = await make(staff_live, "agent.plein", "operator", "police")
    cookie = await session_cookie(staff_live, staff)
    original = console_module._open_conversations

    async def exhausted(*_args: object) -> list[str]:
        raise PoolTimeout("QueuePool limit reached")

    monkeypatch.setattr(console_module, "_open_conversations", exhausted)
    client = ConsoleClient(staff_live, cookie)
    await client.connect()
    error = await client.expect("error")
    assert error["code"] == "storage_unavailable" and "reconnecte" in error["message"]
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await client.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
    monkeypatch.setattr(console_module, "_open_conversations", original)
    again = ConsoleClient(staff_live, cookie)
    assert (await again.connect())["type"] == "welcome"
    await again.close()


async def test_a_send_the_database_cannot_commit_in_time_is_refused_and_the_console_reconnects(
        staff_live: LiveServer) -> None:
    """While the message writer is stuck (a frozen database as the writer sees it), an operator's send gets
    ``storage_unavailable`` in French within the send deadline, never an ack, and the console is closed with 1013 so
    that it reconnects and resends; once the writer works again the resend with the same client_id is acked once."""
    from chat.writer import SEND_DEADLINE

    console = await console_for(staff_live, await make(staff_live, "agent.gel", "operator", "police"))
    started = await start_tchat(staff_live, postal_code="75011")
    await console.send({"type": "take", "conversation": started["id"]})
    await console.expect("taken")
    writer = staff_live.state.writer
    stuck = asyncio.Event()

    async def frozen(batch: list[object]) -> list[object]:
        await stuck.wait()
        raise ConnectionResetError("the database went away")

    writer._run, real = frozen, writer._run
    try:
        frame = {"type": "send", "conversation": started["id"], "client_id": "op-gel-1", "body": "Je suis là."}
        loop = asyncio.get_running_loop()
        asked = loop.time()
        await console.send(frame)
        refused = await console.expect("error", SEND_DEADLINE + 3)
        assert loop.time() - asked <= SEND_DEADLINE + 1 * UNIT
        assert refused["code"] == "storage_unavailable" and "reconnecte" in refused["message"]
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await console.recv(5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
    finally:
        stuck.set()
        writer._run = real
    console = ConsoleClient(staff_live, console.cookie)
    await console.connect()
    await console.send(frame)
    acked = await console.expect("ack", 10)
    assert acked["client_id"] == "op-gel-1"
    await console.close()


async def test_a_storage_failure_at_the_session_recheck_is_answered(staff_live: LiveServer,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Every console frame re-checks its session first; when that read fails (the pool exhausted by consoles opening
    together), the frame is answered with ``storage_unavailable`` and the console closed with 1013 so that it
    reconnects — it used to escape into the frame's task: no answer at all, the console left waiting."""
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    from operators.lookups import lookups_of

    console = await console_for(staff_live, await make(staff_live, "agent.relu", "operator", "police"))
    session_alive = lookups_of(staff_live.state).session_alive

    async def exhausted(_key: str) -> bool:
        raise PoolTimeout("QueuePool limit reached")

    monkeypatch.setattr(session_alive, "get", exhausted)
    await console.send({"type": "take", "conversation": "inconnue"})
    refused = await console.expect("error", 5)
    assert refused["code"] == "storage_unavailable" and "reconnecte" in refused["message"]
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await console.recv(5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
    monkeypatch.undo()
    again = ConsoleClient(staff_live, console.cookie)
    assert (await again.connect())["type"] == "welcome"
    await again.close()
