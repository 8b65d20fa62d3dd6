"""Hostile input: fuzzed JSON bodies and frames, oversize, invalid UTF-8, deep JSON, idle sockets. Nothing crashes."""

from __future__ import annotations

import asyncio
import json
import warnings
from typing import Any

import httpx
import pytest
import websockets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import NonInteractiveExampleWarning
from websockets.exceptions import ConnectionClosed

from chat import visitor_socket
from tests.client import Visitor, start_tchat
from tests.faults.results import Row, record
from tests.servers import UNIT, LiveServer

POSTS = ["/api/v1/conversations", "/api/v1/conversations/leave", "/api/v1/signalements",
         "/api/v1/signalements/refuse", "/api/v1/signalements/pending"]
tally: dict[str, int] = {"http": 0, "frames": 0, "http_5xx": 0, "socket_broken": 0}

scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
           | st.text(max_size=40))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                                           max_size=4), max_leaves=12)
known_keys = st.sampled_from(["category", "role", "postal_code", "insee", "token", "consent", "consent_version",
                              "name", "phone", "email", "type", "client_id", "body", "after", "seq", "conversation"])
objects = st.dictionaries(known_keys | st.text(max_size=8), values, max_size=8)


def _french_error(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        error = response.json()["error"]
        assert error["code"] and error["message"] and "Traceback" not in response.text


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(path=st.sampled_from(POSTS), body=objects | values)
def test_fuzzed_json_bodies(plain: LiveServer, path: str, body: Any) -> None:
    """Any JSON value on any JSON endpoint gets a 2xx or a French 4xx, never a 5xx."""
    response = httpx.post(f"{plain.base}{path}", json=body, timeout=10 * UNIT)
    tally["http"] += 1
    tally["http_5xx"] += response.status_code >= 500
    _french_error(response)


@pytest.mark.parametrize("content", [
    b"\xff\xfe{\"category\": \"x\"}",  # invalid UTF-8
    b"[" * 100_000 + b"]" * 100_000,  # deep JSON, also oversize
    b"[" * 2_000 + b"]" * 2_000,  # deep JSON under the size limit
    b"{\"a\":" * 40 + b"1" + b"}" * 40,  # nesting past the depth limit
    b"x" * 200_000,  # oversize
    b"",  # empty
    b"{\"category\": \"sexual_violence\"",  # truncated
])
def test_raw_bodies(plain: LiveServer, content: bytes) -> None:
    """Malformed, deep, oversize bodies are refused in French with 400 or 413."""
    for path in POSTS:
        response = httpx.post(f"{plain.base}{path}", content=content, headers={"content-type": "application/json"},
                              timeout=10 * UNIT)
        tally["http"] += 1
        assert response.status_code in (400, 404, 413, 422), (path, response.status_code)
        _french_error(response)


frames = st.one_of(
    objects.map(json.dumps),
    st.fixed_dictionaries({"type": st.sampled_from(["send", "read", "resume", "typing", "leave", "hello", "ping"])},
                          optional={"client_id": values, "body": values, "after": values, "seq": values,
                                    "conversation": values}).map(json.dumps),
    st.text(max_size=200),
    st.binary(max_size=200),
)


async def _acked(visitor: Visitor, client_id: str) -> None:
    """Send until acknowledged: a flood spends the socket's frame budget, and the page resends a refused send
    (``rate_limited``) a moment later, as done here."""
    for _ in range(20):
        await visitor.send({"type": "send", "client_id": client_id, "body": "toujours là"})
        while True:
            frame = await visitor.recv(10)
            if frame.get("client_id") == client_id and frame["type"] in ("ack", "error"):
                break
        if frame["type"] == "ack":
            return
        assert frame["code"] == "rate_limited" and "patientez" in frame["message"]
        await asyncio.sleep(0.3 * UNIT)
    raise AssertionError(f"{client_id} never acknowledged")


async def test_fuzzed_frames_keep_the_socket(plain: LiveServer) -> None:
    """Hundreds of random frames: each gets an answer or is ignored (past the socket's frame budget, a French
    rate_limited error at most once a second), the socket stays usable, sends still ack."""
    started = await start_tchat(plain)
    visitor = Visitor(plain, started["token"])
    await visitor.connect()
    with warnings.catch_warnings():  # example() outside @given: a plain random corpus is what is wanted here
        warnings.simplefilter("ignore", NonInteractiveExampleWarning)
        samples = [frames.example() for _ in range(150)]
    for n, raw in enumerate(samples):
        if isinstance(raw, str) and '"leave"' in raw:
            continue  # a valid leave ends the tchat by design
        await visitor.send(raw if isinstance(raw, str) else raw.decode("latin-1"))
        tally["frames"] += 1
        if n % 25 == 0:
            await _acked(visitor, f"alive-{n}")
    assert visitor.ws is not None
    await asyncio.sleep(0.5 * UNIT)  # the flood spent the socket's frame budget (chat.frame_budget): let it refill
    await visitor.ws.send(b"\xff\xfe\xfd")  # a binary frame that is not UTF-8
    tally["frames"] += 1
    await visitor.expect("error", code="malformed_frame")
    errors = [f for f in visitor.frames if f["type"] == "error"]
    assert errors and all(f["message"] and f["code"] for f in errors)
    await visitor.close()


async def test_oversize_and_deep_frames(plain: LiveServer) -> None:
    """A 20 KiB frame and deep JSON get French errors on an open socket; past 64 KiB the transport closes (1009)."""
    started = await start_tchat(plain)
    visitor = Visitor(plain, started["token"])
    await visitor.connect()
    await visitor.send({"type": "send", "client_id": "big", "body": "a" * 20_000})
    assert (await visitor.expect("error"))["code"] == "frame_too_large"
    await visitor.send("[" * 5_000 + "]" * 5_000)
    assert (await visitor.expect("error"))["code"] == "malformed_frame"
    await visitor.send(json.dumps({"type": "send", "client_id": "long", "body": "é" * 4_001}, ensure_ascii=False))
    assert (await visitor.expect("error"))["code"] == "message_too_long"
    await visitor.send({"type": "send", "client_id": "ok", "body": "encore là"})
    await visitor.expect("ack", client_id="ok")
    await visitor.send("x" * 70_000)
    with pytest.raises(ConnectionClosed) as closed:
        for _ in range(10):  # the echo of "ok" may come first
            await visitor.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    tally["frames"] += 5


async def test_idle_socket_without_hello(plain: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A socket that never says hello is told in French and closed after the hello timeout."""
    monkeypatch.setattr(visitor_socket, "HELLO_TIMEOUT", 1 * UNIT)
    ws = await websockets.connect(f"{plain.ws_base}/ws/visitor")
    frame = json.loads(await asyncio.wait_for(ws.recv(), 5 * UNIT))
    assert frame["code"] == "hello_required" and "Patientez" in frame["message"]
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(ws.recv(), 5 * UNIT)
    health = httpx.get(f"{plain.base}/healthz")
    assert health.status_code == 200
    record(Row(
        key="6-hostile", fault="entrées hostiles (hypothesis)",
        load="1 processus, SQLite + courtier mémoire",
        inputs=f"{tally['http']} corps JSON générés ou malformés sur {len(POSTS)} routes POST (UTF-8 invalide, "
               f"JSON profond, 200 Kio, tronqué) ; {tally['frames']} trames WebSocket aléatoires, 20 et 70 Kio, "
               "socket muette",
        acknowledged=tally["http"] + tally["frames"], delivered=tally["http"] + tally["frames"],
        lost=tally["http_5xx"] + tally["socket_broken"],
        result="aucune 5xx, aucun plantage : chaque entrée refusée a une réponse française, la socket reste ouverte",
    ))
