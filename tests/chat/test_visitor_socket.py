"""The visitor WebSocket of API.md, rule by rule, against a live server on each stack."""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import select

from chat import conversations, store
from chat.visitor_socket import TRANSCRIPT
from operators.models import Account
from tests.client import Visitor, start_tchat
from tests.servers import UNIT, LiveServer


async def operator_says(live: LiveServer, conversation_id: str, body: str) -> int:
    appended = await live.call(lambda s: conversations.post(s, conversation_id, author="operator", body=body))
    return appended.message.seq


async def test_welcome_then_replay_after(live: LiveServer) -> None:
    """hello → welcome, then every message with seq > after, in order."""
    tchat = await start_tchat(live)
    for i in range(5):
        await operator_says(live, tchat["id"], f"m{i}")
    visitor = Visitor(live, tchat["token"])
    welcome = await visitor.connect(after=2)
    assert welcome["conversation"] == tchat["id"] and welcome["status"] == "queued"
    replay = [await visitor.expect("message") for _ in range(3)]
    assert [f["seq"] for f in replay] == [3, 4, 5] and [f["body"] for f in replay] == ["m2", "m3", "m4"]
    await visitor.close()


async def test_resume_after_drop_delivers_exactly_the_missing(live: LiveServer) -> None:
    """A dropped visitor reconnects with its last seq and gets exactly what it missed, once."""
    tchat = await start_tchat(live)
    visitor = Visitor(live, tchat["token"])
    await visitor.connect()
    await operator_says(live, tchat["id"], "avant")
    assert (await visitor.expect("message"))["seq"] == 1
    await visitor.close()
    for body in ("pendant 1", "pendant 2"):
        await operator_says(live, tchat["id"], body)
    again = Visitor(live, tchat["token"])
    await again.connect(after=1)
    await operator_says(live, tchat["id"], "après")
    got = [await again.expect("message") for _ in range(3)]
    assert [(f["seq"], f["body"]) for f in got] == [(2, "pendant 1"), (3, "pendant 2"), (4, "après")]
    with pytest.raises(TimeoutError):
        await again.expect("message", timeout=0.3)
    await again.close()


async def test_resume_frame_mid_connection(live: LiveServer) -> None:
    """A resume frame replays from the given seq on an open socket."""
    tchat = await start_tchat(live)
    await operator_says(live, tchat["id"], "un")
    await operator_says(live, tchat["id"], "deux")
    visitor = Visitor(live, tchat["token"])
    await visitor.connect(after=2)
    await visitor.send({"type": "resume", "after": 0})
    assert [(await visitor.expect("message"))["seq"] for _ in range(2)] == [1, 2]
    await visitor.close()


async def test_send_is_acked_with_its_seq_and_idempotent(live: LiveServer) -> None:
    """The same client_id twice yields one message and the same ack."""
    tchat = await start_tchat(live)
    visitor = Visitor(live, tchat["token"])
    await visitor.connect()
    await visitor.send({"type": "send", "client_id": "k1", "body": "Bonjour"})
    first = await visitor.expect("ack")
    await visitor.send({"type": "send", "client_id": "k1", "body": "Bonjour"})
    second = await visitor.expect("ack")
    assert first == second == {"type": "ack", "client_id": "k1", "seq": 1}
    frames = await live.call(lambda s: conversations.transcript(s, tchat["id"]))
    assert [(f["seq"], f["author"], f["body"]) for f in frames] == [(1, "visitor", "Bonjour")]
    await visitor.close()


async def test_bad_frames_get_error_and_socket_stays_open(live: LiveServer) -> None:
    """Malformed, unknown, oversize and invalid frames give French errors; the socket keeps working."""
    tchat = await start_tchat(live)
    visitor = Visitor(live, tchat["token"])
    await visitor.connect()
    cases = {"{not json": "malformed_frame", json.dumps({"type": "boom"}): "unknown_frame",
             json.dumps({"type": "send", "client_id": "a", "body": ""}): "empty_message",
             json.dumps({"type": "send", "client_id": "a", "body": "x" * 30_000}): "frame_too_large",
             json.dumps({"type": "send", "client_id": "a", "body": "\x00"}): "forbidden_characters"}
    for raw, code in cases.items():
        await visitor.send(raw)
        frame = await visitor.expect("error")
        assert frame["code"] == code and frame["message"][0].isupper()
    await visitor.send({"type": "send", "client_id": "ok", "body": "toujours là"})
    assert (await visitor.expect("ack"))["seq"] == 1
    await visitor.close()


async def test_bad_token_closes_4401(live: LiveServer) -> None:
    """A bad token yields an error frame in French and close code 4401."""
    visitor = Visitor(live, "not-a-token")
    async with websockets.connect(f"{live.ws_base}/ws/visitor") as ws:
        await ws.send(json.dumps({"type": "hello", "token": "nope", "after": 0}))
        frame = json.loads(await ws.recv())
        assert frame["type"] == "error" and frame["code"] == "invalid_token"
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5 * UNIT)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    del visitor


async def test_expired_token_closes_4401(live: LiveServer) -> None:
    """After the grace period following the end of a tchat, its token no longer opens it."""
    tchat = await start_tchat(live)
    await live.call(lambda s: conversations.finish(s, tchat["id"], status="closed", outcome="other"))
    visitor = Visitor(live, tchat["token"])
    assert (await visitor.connect())["status"] == "closed"  # within the grace period: may read the end
    await visitor.close()

    async def age(state: object) -> None:
        from datetime import timedelta

        from sqlalchemy import update

        from chat.db import utcnow
        from chat.models import Conversation

        async with state.sessions.begin() as session:  # type: ignore[attr-defined]
            await session.execute(update(Conversation).where(Conversation.id == tchat["id"])
                                  .values(closed_at=utcnow() - timedelta(days=1)))

    await live.call(age)
    async with websockets.connect(f"{live.ws_base}/ws/visitor") as ws:
        await ws.send(json.dumps({"type": "hello", "token": tchat["token"], "after": 0}))
        assert json.loads(await ws.recv())["code"] == "invalid_token"
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_typing_relayed_not_echoed(live: LiveServer) -> None:
    """The operator's typing reaches the visitor; the visitor's own typing is not echoed back."""
    tchat = await start_tchat(live)
    visitor = Visitor(live, tchat["token"])
    await visitor.connect()
    await visitor.send({"type": "typing"})
    await live.call(lambda s: conversations.publish(s, tchat["id"], {"type": "typing", "who": "operator"}))
    frame = await visitor.expect("typing")
    assert frame["who"] == "operator"
    assert not any(f["type"] == "typing" and f.get("who") == "visitor" for f in visitor.frames)
    await visitor.close()


async def test_queue_position_updates_live(live: LiveServer) -> None:
    """Positions follow the queue: when the first visitor is taken, the second becomes first."""
    first, second = await start_tchat(live), await start_tchat(live)
    v2 = Visitor(live, second["token"])
    assert (await v2.connect())["position"] == 2
    assert await live.call(lambda s: conversations.take(s, first["id"], "op", "police"))
    assert (await v2.expect("queue"))["position"] == 1
    await v2.close()


async def test_leave_abandons(live: LiveServer) -> None:
    """leave ends the tchat as abandoned and closes the socket normally."""
    tchat = await start_tchat(live)
    visitor = Visitor(live, tchat["token"])
    await visitor.connect()
    await visitor.send({"type": "leave"})
    assert (await visitor.expect("closed"))["status"] == "abandoned"
    conversation = await live.call(lambda s: store.get(s.sessions, tchat["id"]))
    assert conversation is not None and conversation.status == "abandoned"


async def test_leave_beacon(live: LiveServer) -> None:
    """The quick-exit beacon ends the tchat and answers 204 whatever the token."""
    tchat = await start_tchat(live)
    async with httpx.AsyncClient(base_url=live.base) as http:
        assert (await http.post("/api/v1/conversations/leave", json={"token": tchat["token"]})).status_code == 204
        assert (await http.post("/api/v1/conversations/leave", json={"token": "unknown"})).status_code == 204
    conversation = await live.call(lambda s: store.get(s.sessions, tchat["id"]))
    assert conversation is not None and conversation.status == "abandoned"


async def test_replayed_state_equals_fresh_state(live: LiveServer) -> None:
    """What a client assembled from live frames and resumes (messages and events: joined, left…) equals a fresh
    full fetch."""
    tchat = await start_tchat(live)
    live_view: dict[int, dict[str, object]] = {}
    visitor = Visitor(live, tchat["token"])

    async def collect(client: Visitor, view: dict[int, dict[str, object]], count: int) -> None:
        while len(view) < count:
            frame = await client.recv()
            if frame["type"] in TRANSCRIPT and "seq" in frame:
                view[frame["seq"]] = {k: v for k, v in frame.items() if k != "client_id"}

    await visitor.connect()
    await live.call(lambda s: conversations.take(s, tchat["id"], "op", "police"))
    for round_ in range(3):
        for i in range(3):
            await visitor.send({"type": "send", "client_id": f"v{round_}{i}", "body": f"visiteur {round_}.{i}"})
            await operator_says(live, tchat["id"], f"opérateur {round_}.{i}")
        await collect(visitor, live_view, 1 + (round_ + 1) * 6)
        await visitor.close()
        visitor = Visitor(live, tchat["token"])
        await visitor.connect(after=max(live_view))
    await live.call(lambda s: conversations.finish(s, tchat["id"], status="closed", outcome="other"))
    await collect(visitor, live_view, 20)
    fresh = Visitor(live, tchat["token"])
    await fresh.connect(after=0)
    fresh_view: dict[int, dict[str, object]] = {}
    await collect(fresh, fresh_view, 20)
    assert fresh_view == live_view and sorted(live_view) == list(range(1, 21))
    assert [live_view[seq]["type"] for seq in (1, 20)] == ["joined", "left"]
    await visitor.close()
    await fresh.close()


async def test_thousand_hostile_frames_never_break_the_socket(live: LiveServer) -> None:
    """1,000 random and malformed frames: each answered or ignored, the socket and server keep working."""
    tchat = await start_tchat(live)
    visitor = Visitor(live, tchat["token"])
    await visitor.connect()
    rng = random.Random(1234)
    pieces = ['{"type":"send"', '"client_id":', '"body":', "null", "[]", "{}", '"\\ud800"', "1e999", "-1",
              '"typing"', '"read"', '"seq":', "true", ",", ":", "}", "]", '"x"', '"\\u0000"']
    assert visitor.ws is not None
    for i in range(1000):
        kind = rng.random()
        if kind < 0.4:
            raw: str | bytes = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 8)))
        elif kind < 0.6:
            raw = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 64)))
        elif kind < 0.8:
            raw = json.dumps({"type": rng.choice(["send", "read", "typing", "resume", "hello", "zz"]),
                              "client_id": rng.choice(["a", "", 1, None, "b" * 70]),
                              "body": rng.choice(["", "x", None, 3, "\x01", "é" * 5000]),
                              "seq": rng.choice([-1, 0, "1", None, 2**62]), "after": rng.choice([0, -5, "x"])})
        else:
            raw = json.dumps({"type": "send", "client_id": f"ok{i}", "body": f"message {i}"})
        await visitor.ws.send(raw)
    # The flood hit the send rate limit: like a real client, retry the same client_id until it is acked.
    final = None
    for _ in range(20):
        await visitor.send({"type": "send", "client_id": "final", "body": "encore là"})
        while final is None:
            frame = await visitor.recv(timeout=30)
            if frame.get("client_id") != "final":
                continue
            if frame["type"] == "ack":
                final = frame
            else:
                assert frame["code"] == "rate_limited"
                break
        if final is not None:
            break
        await asyncio.sleep(1 * UNIT)
    assert final is not None and final["seq"] >= 1
    async with httpx.AsyncClient(base_url=live.base) as http:
        assert (await http.get("/healthz")).status_code == 200
    await visitor.close()


async def test_over_transport_limit_closes_but_server_keeps_serving(live: LiveServer) -> None:
    """A frame above the transport limit closes that socket (1009); other clients are unaffected."""
    tchat = await start_tchat(live)
    visitor = Visitor(live, tchat["token"])
    await visitor.connect()
    assert visitor.ws is not None
    await visitor.ws.send("x" * 200_000)
    with pytest.raises(websockets.ConnectionClosed):
        await visitor.recv(timeout=5)
    other = Visitor(live, tchat["token"])
    await other.connect()
    await other.send({"type": "send", "client_id": "z", "body": "ok"})
    assert (await other.expect("ack"))["seq"] == 1
    await other.close()


async def test_cross_site_origin_refused(live: LiveServer) -> None:
    """A page of another site cannot open the visitor socket; same-origin and non-browser clients can."""
    tchat = await start_tchat(live)
    with pytest.raises(websockets.InvalidStatus) as refused:
        await Visitor(live, tchat["token"]).connect(origin="https://evil.example")
    assert refused.value.response.status_code == 403
    same = Visitor(live, tchat["token"])
    assert (await same.connect(origin=live.base))["type"] == "welcome"
    await same.close()


async def test_ping_pong_and_client_id_in_message(live: LiveServer) -> None:
    """An application ping gets a pong; the visitor's own message frame carries its client_id."""
    tchat = await start_tchat(live)
    visitor = Visitor(live, tchat["token"])
    await visitor.connect()
    await visitor.send({"type": "ping"})
    await visitor.expect("pong")
    await visitor.send({"type": "send", "client_id": "mine-1", "body": "coucou"})
    frame = await visitor.expect("message", seq=1)
    assert frame["client_id"] == "mine-1"
    await visitor.close()


async def test_welcome_reads_the_status_after_subscribing(live: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 18, item 5: an operator takes the tchat between the visitor's token lookup and the socket's
    subscription. The welcome says « active » (no queue position), not the « queued » read before subscribing."""
    from chat import hooks
    from tests.operators.staff import make

    operator = await make(live, "agent.welcome", "operator", "police")
    started = await start_tchat(live, postal_code="75011")

    async def account_id(state: Any) -> str:
        async with state.sessions() as session:
            return str(await session.scalar(select(Account.id).where(Account.username == operator.username)))

    operator_id = await live.call(account_id)
    real = hooks.notify_visitor_connected

    async def taken_meanwhile(state: Any, conversation_id: str, conn: Any) -> None:
        await real(state, conversation_id, conn)
        assert await conversations.take(state, conversation_id, operator_id, "police")

    monkeypatch.setattr(hooks, "notify_visitor_connected", taken_meanwhile)
    visitor = Visitor(live, started["token"])
    welcome = await visitor.connect()
    assert welcome["status"] == "active" and welcome["position"] is None
    await visitor.expect("joined")
    await visitor.close()
