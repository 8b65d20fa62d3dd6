"""Where one message spends its time: stage timestamps of each benchmark message inside the server, at low load.

``python -m loadtests.path_trace --backend sqlite --rate 50`` starts one pnav target of the benchmark (same
setup: M tchats, consoles following ``--per-operator`` each) with this module installed in the server process
(``PNAV_PATH_TRACE``, through a ``sitecustomize`` of its own on the server's path), sends messages at ``--rate``
in both directions, then reads back the server's timestamps and prints, for each direction, the median time
between consecutive stages (and their p90):

visitor → console: client send → frame parsed → send handled (``_on_send``) → tchat room checked → batch
started → committed → published → ack written → console forward started → delivered frame written → client
received.

console → visitor: client send → frame decoded → frame handled (``_handle``) → session re-checked → tchat
read and checked → batch started → committed → published → ack written → visitor forward started → delivered
frame written → client received.

Timestamps are ``time.perf_counter`` (CLOCK_MONOTONIC, one clock for the bench and the server on Linux). The
wrappers cost a few microseconds per stage; the figures are for locating the time, not for the headline latency
(that is ``loadtests.bench``'s).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import signal
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

ENV = "PNAV_PATH_TRACE"
# Stage → client id → first time the stage was reached for that message.
_stamps: dict[str, dict[str, float]] = {}
# Database calls → their durations (s), whoever made them: the time a statement takes, apart from the queueing.
_calls: dict[str, list[float]] = {}


def _mark(stage: str, client_id: object) -> None:
    if isinstance(client_id, str):
        _stamps.setdefault(stage, {}).setdefault(client_id, time.perf_counter())


def _body_id(body: object) -> str | None:
    return body.partition(" ")[0] if isinstance(body, str) else None


def _patch(owner: object, name: str, replacement: object) -> None:
    setattr(owner, name, replacement)


def install() -> None:
    """Wrap the functions of the message path (in this server process only)."""
    from chat import conversations, db, protocol, visitor_socket, writer
    from operators import console, consoles

    parse = vars(visitor_socket)["parse"]

    def traced_parse(*args: Any, **kwargs: Any) -> Any:
        frame = parse(*args, **kwargs)
        _mark("parsed", getattr(frame, "client_id", None))
        return frame

    _patch(visitor_socket, "parse", traced_parse)

    on_send = visitor_socket.VisitorSocket._on_send

    async def traced_on_send(self: Any, frame: Any, arrived: float) -> None:
        _mark("handled", frame.client_id)
        await on_send(self, frame, arrived)

    _patch(visitor_socket.VisitorSocket, "_on_send", traced_on_send)

    post = conversations.post

    async def traced_post(state: Any, conversation_id: str, **kwargs: Any) -> Any:
        _mark("checked", kwargs.get("client_id"))
        return await post(state, conversation_id, **kwargs)

    _patch(conversations, "post", traced_post)

    write_batch = writer.write_batch

    async def traced_write_batch(sessions: Any, batch: list[Any]) -> Any:
        for pending in batch:
            _mark("batch_started", pending.client_id)
        results = await write_batch(sessions, batch)
        for pending in batch:
            _mark("committed", pending.client_id)
        return results

    _patch(writer, "write_batch", traced_write_batch)

    publish = conversations.publish

    async def traced_publish(state: Any, conversation_id: str, frame: dict[str, Any]) -> None:
        if frame.get("type") == "message":
            _mark("published", frame.get("client_id") or _body_id(frame.get("body")))
        await publish(state, conversation_id, frame)

    _patch(conversations, "publish", traced_publish)

    visitor_send = visitor_socket.VisitorSocket.send

    async def traced_visitor_send(self: Any, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "ack":
            await visitor_send(self, frame)
            _mark("ack_written", frame.get("client_id"))
            return
        if kind == "message":
            await visitor_send(self, frame)
            _mark("v_delivered_written", _body_id(frame.get("body")))
            return
        await visitor_send(self, frame)

    _patch(visitor_socket.VisitorSocket, "send", traced_visitor_send)

    on_event = visitor_socket.VisitorSocket._on_event

    async def traced_on_event(self: Any, raw: str, sub: Any) -> None:
        if '"type":"message"' in raw:
            _mark("v_forward_started", _body_id(orjson.loads(raw).get("body")))
        await on_event(self, raw, sub)

    _patch(visitor_socket.VisitorSocket, "_on_event", traced_on_event)

    forward = consoles._forward

    async def traced_forward(target: Any, event: str) -> None:
        if '"type":"message"' in event:
            _mark("c_forward_started", _body_id(orjson.loads(event).get("body")))
        await forward(target, event)

    _patch(consoles, "_forward", traced_forward)

    send_text = consoles.Console.send_text

    async def traced_send_text(self: Any, text: str) -> None:
        await send_text(self, text)
        if '"type":"message"' in text:
            _mark("c_delivered_written", _body_id(orjson.loads(text).get("body")))
        elif '"type":"ack"' in text:
            _mark("ack_written", orjson.loads(text).get("client_id"))

    _patch(consoles.Console, "send_text", traced_send_text)

    decode = protocol.decode

    def traced_decode(raw: str | bytes, max_bytes: int) -> Any:
        data = decode(raw, max_bytes)
        if isinstance(data, dict):
            _mark("parsed", data.get("client_id"))
        return data

    _patch(protocol, "decode", traced_decode)

    handle = console._handle

    async def traced_handle(target: Any, data: dict[str, Any]) -> None:
        _mark("handled", data.get("client_id"))
        await handle(target, data)

    _patch(console, "_handle", traced_handle)

    conversation = consoles.Console.conversation

    async def traced_conversation(self: Any, fields: dict[str, Any], *, need: str) -> Any:
        _mark("session_checked", fields.get("client_id"))
        return await conversation(self, fields, need=need)

    _patch(consoles.Console, "conversation", traced_conversation)

    fetch = db.fetch

    async def traced_fetch(sessions: Any, statement: Any, params: Any = None) -> Any:
        started = time.perf_counter()
        try:
            return await fetch(sessions, statement, params)
        finally:
            _calls.setdefault("db.fetch", []).append(time.perf_counter() - started)

    _patch(db, "fetch", traced_fetch)
    write = writer._write

    async def traced_write(sessions: Any, batch: list[Any]) -> Any:
        started = time.perf_counter()
        try:
            return await write(sessions, batch)
        finally:
            _calls.setdefault("writer._write", []).append(time.perf_counter() - started)

    _patch(writer, "_write", traced_write)

    def dump(*_: Any) -> None:
        Path(os.environ[ENV]).write_text(json.dumps({**_stamps, "calls": _calls}))

    signal.signal(signal.SIGUSR2, dump)


SITECUSTOMIZE = f"""
import os
if os.environ.get({ENV!r}):
    import pnav_path_trace
    pnav_path_trace.install()
"""

# The visitor's socket also receives its own message (its echo): the consoles' stages and the visitors' are apart.
VISITOR_STAGES = ("sent", "parsed", "handled", "checked", "batch_started", "committed", "published", "ack_written",
                  "c_forward_started", "c_delivered_written", "received")
CONSOLE_STAGES = ("sent", "parsed", "handled", "session_checked", "checked", "batch_started", "committed",
                  "published", "ack_written", "v_forward_started", "v_delivered_written", "received")


def breakdown(stamps: dict[str, dict[str, float]], stages: tuple[str, ...], ids: list[str]) -> list[dict[str, Any]]:
    """For each step between two consecutive stages, the median and p90 in ms over the messages that have both."""
    rows = []
    for before, after in itertools.pairwise(stages):
        gaps = sorted((stamps[after][i] - stamps[before][i]) * 1000 for i in ids
                      if i in stamps.get(before, {}) and i in stamps.get(after, {}))
        if gaps:
            rows.append({"step": f"{before} → {after}", "n": len(gaps), "p50_ms": statistics.median(gaps),
                         "p90_ms": gaps[int(0.9 * (len(gaps) - 1))]})
    totals = sorted((stamps["received"][i] - stamps["sent"][i]) * 1000 for i in ids
                    if i in stamps.get("received", {}) and i in stamps.get("sent", {}))
    if totals:
        rows.append({"step": "total (sent → received)", "n": len(totals), "p50_ms": statistics.median(totals),
                     "p90_ms": totals[int(0.9 * (len(totals) - 1))]})
    return rows


def _prepare(backend: str) -> tuple[Path, Path, Path]:
    """A folder for the server's path: the ``sitecustomize`` that installs the wrappers, and a copy of this module
    beside it (the server may be another checkout's, ``sqlite@/path``, without this file)."""
    from loadtests.targets import ROOT

    folder = Path(tempfile.mkdtemp(prefix="pnav-trace-"))
    (folder / "sitecustomize.py").write_text(SITECUSTOMIZE)
    (folder / "pnav_path_trace.py").write_text(Path(__file__).read_text())
    other = backend.partition("@")[2]
    return folder, folder / "stamps.json", Path(other).resolve() if other else ROOT


def _stamps_in(out: Path) -> dict[str, dict[str, float]]:
    stamps: dict[str, dict[str, float]] = json.loads(out.read_text())
    return stamps


async def run(backend: str, tchats: int, per_operator: int, rate: float, duration: float, spy: bool = False) -> (
    dict[str, Any]
):
    from loadtests.bench import Run, finish_profiler, start_profiler
    from loadtests.harness import Recorder
    from loadtests.targets import setup_tchats, start

    folder, out, root = _prepare(backend)
    received: dict[str, float] = {}

    class Timed(Recorder):
        def on_body(self, body: str, author: str) -> None:
            received.setdefault(body.partition(" ")[0], time.perf_counter())
            super().on_body(body, author)

    recorder = Timed()
    with start(backend, {"PYTHONPATH": f"{folder}:{root}", ENV: str(out)}) as target:
        setup = await setup_tchats(target, tchats, per_operator)
        bench = Run(target, setup, recorder)
        await bench.connect()
        await bench.warm()
        sent: dict[str, float] = {}
        original = recorder.sent

        class Keep(dict[str, float]):
            def __setitem__(self, key: str, value: float) -> None:
                sent[key] = value
                super().__setitem__(key, value)

        recorder.sent = Keep(original)
        profiler = start_profiler(target, duration) if spy else None
        step = await bench.open_loop(rate, duration)
        profile = finish_profiler(*profiler) if profiler is not None else None
        for pid in target.pids:
            os.kill(pid, signal.SIGUSR2)
        await asyncio.sleep(1.0)
        stamps = _stamps_in(out)
        await bench.close()
    calls: dict[str, list[float]] = stamps.pop("calls", {})  # type: ignore[assignment]
    stamps["sent"], stamps["received"] = sent, received
    from_visitor = [i for i in sent if i not in stamps.get("session_checked", {})]
    from_console = [i for i in sent if i in stamps.get("session_checked", {})]
    return {"backend": backend, "tchats": tchats, "rate": rate, "duration": duration,
            "latency_ms": step["latency_ms"], "latency_ms_by_author": step["latency_ms_by_author"],
            "server_cpu_pct": step["server_cpu_pct"],
            "visitor_to_console": breakdown(stamps, VISITOR_STAGES, from_visitor),
            "console_to_visitor": breakdown(stamps, CONSOLE_STAGES, from_console), "profile": profile,
            "calls": {name: {"n": len(d), "p50_ms": statistics.median(d) * 1000,
                             "p90_ms": sorted(d)[int(0.9 * (len(d) - 1))] * 1000} for name, d in calls.items() if d}}


def show(result: dict[str, Any]) -> None:
    lat = result["latency_ms"]
    print(f"{result['backend']}: {result['rate']:.0f} msg/s over {result['tchats']} tchats, p50 {lat['p50']:.2f} "
          f"p99 {lat['p99']:.2f} ms, server cpu {result['server_cpu_pct']:.0f}%")
    for direction in ("visitor_to_console", "console_to_visitor"):
        print(f"  {direction.replace('_', ' ')}")
        for row in result[direction]:
            print(f"    {row['step']:<40} n={row['n']:<5} p50 {row['p50_ms']:7.3f} ms   p90 {row['p90_ms']:7.3f} ms")
    for name, call in result.get("calls", {}).items():
        print(f"  {name:<42} n={call['n']:<5} p50 {call['p50_ms']:7.3f} ms   p90 {call['p90_ms']:7.3f} ms")
    if result.get("profile"):
        print(f"  py-spy ({result['profile']['samples']} samples), inclusive %:")
        for name, share in result["profile"]["inclusive_pct"][:45]:
            print(f"    {share:5.1f}  {name}")
        print("  self %:")
        for name, share in result["profile"]["self_pct"][:25]:
            print(f"    {share:5.1f}  {name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--backend", default="sqlite", help="sqlite, pg1, pg1-fast (or name@/other/checkout)")
    parser.add_argument("--tchats", type=int, default=200)
    parser.add_argument("--per-operator", type=int, default=4)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--out", help="write the result as JSON here too")
    parser.add_argument("--spy", action="store_true", help="py-spy the server during the step (blocking mode: slower)")
    args = parser.parse_args(argv)
    from pnav import collector

    collector.tune()
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    results = []
    for backend in args.backend.split(","):
        result = asyncio.run(run(backend, args.tchats, args.per_operator, args.rate, args.duration, args.spy))
        show(result)
        results.append(result)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
