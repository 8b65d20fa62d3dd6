"""The benchmark that decides: pnav against a bare relay, same harness, same run, so results are ratios.

For each target (bare relay; pnav on SQLite, on PostgreSQL+Redis with 1 or 2 processes) it opens M tchats (a
visitor socket each, operator consoles following ``--per-operator`` tchats each) and runs:

- memory: server RSS delta over the idle visitor sockets, then over the idle consoles;
- sweep: open-loop load at each ``--rates`` (aggregate msg/s, both directions), delivery latency p50/p95/p99/max
  from timestamps carried in the bodies, throughput, loss (acked but never delivered), server and bench CPU;
- peak: closed loop (each pair has one message in flight, alternating directions): persisted msg/s;
- storm: ``--storm`` visitors drop, their operators write to them, they all come back within ``--storm-window``
  seconds with ``hello after=<last seq>``: every missed message must be replayed, none lost;
- hold (opt-in, ``--hold N``): N tchats = 2N idle sockets held, RSS per socket;
- queue surge (``--queue-surge N``, instead of the phases above): N visitors arrive over ``--surge-window``
  seconds and wait, operators take ``--surge-take-rate`` per second; position latency, missed and wrong positions,
  CPU and memory (``loadtests/queue_surge.py``).

Run: python -m loadtests.bench --target both --backends sqlite,pg1,pg2
Results: JSON and a PNG (latency percentiles vs offered load) under ``--out``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import platform
import random
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from loadtests.harness import Operator, Recorder, Visitor, bounded, percentile, summary_ms, wait_delivered
from loadtests.queue_surge import queue_surge
from loadtests.targets import ROOT, Setup, Target, durability, setup_tchats, start
from pnav import collector

# After a load step, deliveries still in flight get this long to arrive before they count as lost: far beyond
# any healthy latency, so a loss here is a real loss, not a slow message.
DRAIN_SECONDS = 30.0
# A closed-loop chain waits this long for its message before counting a stall and moving on.
CHAIN_TIMEOUT = 5.0
# Idle sockets settle (handshake buffers freed, lazy allocations done) before RSS is read.
SETTLE_SECONDS = 2.0
WARM_RATE = 500.0  # first messages per second in the untimed warm-up (``Run.warm``)
# 20,000 sockets in the bench plus as many in the server, and files: far above the default 1,024.
OPEN_FILES = 65_536
# Tchats per hold worker process: 2 sockets each, so 8,000 open files, well under a hard limit of 20,000 per
# process (this machine's), and few enough that one worker's event loop opens them in seconds.
PAIRS_PER_WORKER = 4_000


def console_base(target: Target, operator: int) -> int:
    """Which server process an operator's console talks to; its visitors are on ``operator % processes``.

    pnav with two processes: always the other one, so every message crosses processes (through Redis). The relay
    keeps its rooms in memory, so with two relay processes both sides of a tchat stay on the same one.
    """
    count = len(target.ws_bases)
    return operator % count if target.kind == "relay" else (operator + 1) % count


@dataclass
class Pair:
    index: int
    conversation: str
    visitor: Visitor
    operator: Operator


class Run:
    def __init__(self, target: Target, setup: Setup, recorder: Recorder) -> None:
        self.target, self.setup, self.recorder = target, setup, recorder
        bases = target.ws_bases
        self.operators: list[Operator] = []
        by_operator: dict[int, list[str]] = {}
        for tchat in setup.tchats:
            by_operator.setdefault(tchat.operator, []).append(tchat.conversation)
        for index, cookie in enumerate(setup.cookies):
            base_index = console_base(target, index)
            self.operators.append(Operator(recorder, bases[base_index], target.origin(base_index), cookie,
                                           by_operator.get(index, [])))
        self.pairs = [
            Pair(i, t.conversation, Visitor(recorder, bases[t.operator % len(bases)], t.token),
                 self.operators[t.operator])
            for i, t in enumerate(setup.tchats)
        ]

    async def connect(self) -> dict[str, Any]:
        """Open every socket, measuring RSS per idle visitor socket and per idle console."""
        before = self.target.rss()
        results = await bounded([p.visitor.connect() for p in self.pairs])
        failed_visitors = sum(isinstance(r, BaseException) for r in results)
        await asyncio.sleep(SETTLE_SECONDS)
        after_visitors = self.target.rss()
        results = await bounded([o.connect() for o in self.operators])
        failed_operators = sum(isinstance(r, BaseException) for r in results)
        await asyncio.sleep(SETTLE_SECONDS)
        after_operators = self.target.rss()
        visitors, consoles = len(self.pairs), len(self.operators)
        return {
            "visitor_sockets": visitors, "operator_sockets": consoles,
            "failed_visitors": failed_visitors, "failed_operators": failed_operators,
            "rss_before_mib": before / 2**20, "rss_after_mib": after_operators / 2**20,
            "kib_per_visitor_socket": (after_visitors - before) / 1024 / max(1, visitors),
            "kib_per_operator_socket": (after_operators - after_visitors) / 1024 / max(1, consoles),
            "kib_per_socket": (after_operators - before) / 1024 / max(1, visitors + consoles),
        }

    async def warm(self) -> dict[str, Any]:
        """One message per pair, untimed: proves every pair is wired before anything is measured. Paced at
        ``WARM_RATE``: sent all at once (2,000 first messages of their tchats within ~0.1 s, each reading its
        tchat's stored totals), on PostgreSQL about 800 missed the 3 s send deadline (answered
        ``storage_unavailable``, retry) and a dozen consoles were closed by a storage error (the page reconnects;
        this harness does not), which then counted as lost at every later step."""
        self.recorder.reset()
        self.recorder.recording = False
        started = time.perf_counter()
        for n, pair in enumerate(self.pairs):
            await asyncio.sleep(max(0.0, started + n / WARM_RATE - time.perf_counter()))
            await pair.visitor.say(f"w-{pair.index}")
        await wait_delivered(self.recorder, DRAIN_SECONDS)
        result = {"sent": len(self.recorder.sent), "lost": len(self.recorder.lost()),
                  "delivered": len(self.recorder.delivered), "errors": dict(self.recorder.errors)}
        self.recorder.recording = True
        return result

    async def measured(self, label: str, body: Callable[[], Awaitable[float]]) -> dict[str, Any]:
        """Run a load phase; returns latency, throughput, loss and CPU for it."""
        recorder = self.recorder
        recorder.reset()
        me = psutil.Process()
        cpu_server, cpu_bench, system = self.target.cpu_seconds(), sum(me.cpu_times()[:2]), psutil.cpu_times()
        started = time.perf_counter()
        window = await body()
        await wait_delivered(recorder, DRAIN_SECONDS)
        wall = time.perf_counter() - started
        system_after = psutil.cpu_times()
        busy = (sum(system_after) - system_after.idle) - (sum(system) - system.idle)
        total = sum(system_after) - sum(system)
        lost = recorder.lost()
        return {
            "phase": label, "window_s": window, "sent": len(recorder.sent), "acked": len(recorder.acked),
            "delivered": len(recorder.delivered), "lost": len(lost), "errors": dict(recorder.errors),
            "unacked": len(recorder.sent) - len(recorder.acked),
            "throughput_msg_s": len(recorder.acked) / window if window else 0.0,
            "latency_ms": summary_ms(recorder.latencies),
            "latency_ms_by_author": {a: summary_ms(v) for a, v in recorder.by_author.items()},
            "server_cpu_pct": (self.target.cpu_seconds() - cpu_server) / wall * 100,
            "bench_cpu_pct": (sum(me.cpu_times()[:2]) - cpu_bench) / wall * 100,
            "machine_busy_pct": busy / total * 100 if total else 0.0,
        }

    async def open_loop(self, rate: float, duration: float) -> dict[str, Any]:
        """Messages at ``rate`` per second in aggregate, each pair alternating visitor → operator → visitor…"""
        loop = asyncio.get_running_loop()
        period = len(self.pairs) / rate
        lags: list[float] = []

        async def body() -> float:
            start = loop.time() + 0.2
            end = start + duration

            async def pair_loop(pair: Pair) -> None:
                due, k = start + random.random() * period, 0
                while due < end:
                    delay = due - loop.time()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    lags.append(loop.time() - due)
                    client_id = f"r{int(rate)}-{pair.index}-{k}"
                    # Half the pairs start with the visitor, half with the operator: both directions are
                    # measured even when a step is shorter than two periods.
                    if (k + pair.index) % 2 == 0:
                        await pair.visitor.say(client_id)
                    else:
                        await pair.operator.say(pair.conversation, client_id)
                    k, due = k + 1, due + period

            await asyncio.gather(*(pair_loop(p) for p in self.pairs))
            return duration

        result = await self.measured(f"rate-{int(rate)}", body)
        lags.sort()
        # How late the generator sent compared with its schedule: large values mean the bench, not the server,
        # limited the offered load.
        result["offered_msg_s"] = rate
        result["send_lag_ms_p99"] = percentile(lags, 99) * 1000
        return result

    async def closed_loop(self, duration: float) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        stalls = 0

        async def body() -> float:
            nonlocal stalls
            end = loop.time() + duration

            async def chain(pair: Pair) -> None:
                nonlocal stalls
                k = 0
                while loop.time() < end:
                    client_id = f"p-{pair.index}-{k}"
                    waiter: asyncio.Future[None] = loop.create_future()
                    self.recorder.waiters[client_id] = waiter
                    if k % 2 == 0:
                        await pair.visitor.say(client_id)
                    else:
                        await pair.operator.say(pair.conversation, client_id)
                    try:
                        await asyncio.wait_for(waiter, CHAIN_TIMEOUT)
                    except TimeoutError:
                        stalls += 1
                    k += 1

            began = loop.time()
            await asyncio.gather(*(chain(p) for p in self.pairs))
            return loop.time() - began

        result = await self.measured("peak", body)
        result["stalls"] = stalls
        return result

    async def storm(self, count: int, window: float) -> dict[str, Any]:
        """``count`` visitors drop; their operators write; they all come back within ``window`` seconds."""
        recorder = self.recorder
        recorder.reset()
        recorder.recording = False
        pairs = self.pairs[:count]
        await asyncio.gather(*(p.visitor.close(abort=True) for p in pairs))
        await asyncio.sleep(1.0)
        for pair in pairs:
            await pair.operator.say(pair.conversation, f"s-{pair.index}")
        deadline = time.monotonic() + DRAIN_SECONDS
        while len(recorder.acked) < len(pairs) and time.monotonic() < deadline:  # noqa: ASYNC110 - polls a set
            await asyncio.sleep(0.05)
        acked_while_away = len(recorder.acked)
        cpu_server = self.target.cpu_seconds()
        started = time.perf_counter()
        handshakes: list[float] = []
        failures = 0
        retries = 0

        async def back(position: int, pair: Pair) -> None:
            nonlocal failures, retries
            await asyncio.sleep(position / max(1, len(pairs)) * window)
            for attempt in range(3):
                try:
                    handshakes.append(await pair.visitor.connect())
                    return
                except Exception:  # a real client retries with a pause, so does this one
                    retries += attempt == 0
                    await pair.visitor.close(abort=True) if pair.visitor.ws else None
                    await asyncio.sleep(1.0 + attempt)
            failures += 1

        await asyncio.gather(*(back(i, p) for i, p in enumerate(pairs)))
        span = time.perf_counter() - started
        await wait_delivered(recorder, DRAIN_SECONDS)
        replayed = sum(1 for p in pairs if f"s-{p.index}" in recorder.delivered)
        wall = time.perf_counter() - started
        recorder.recording = True
        return {
            "visitors": len(pairs), "window_s": window, "span_s": span, "acked_while_away": acked_while_away,
            "replayed": replayed, "lost": len(recorder.lost()), "failures": failures, "retried": retries,
            "handshake_ms": summary_ms(handshakes),
            "server_cpu_pct": (self.target.cpu_seconds() - cpu_server) / wall * 100,
        }

    async def close(self) -> None:
        await bounded([p.visitor.close() for p in self.pairs], 500)
        await bounded([o.close() for o in self.operators], 500)


async def run_target(target: Target, args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"target": target.name, "processes": len(target.processes),
                              "durability": await durability(target)}
    recorder = Recorder()
    setup = await setup_tchats(target, args.tchats, args.per_operator)
    run = Run(target, setup, recorder)
    print(f"[{target.name}] connecting {args.tchats} tchats", flush=True)
    result["memory"] = await run.connect()
    # The load generator's own collector pauses would show as delivery latency of whichever target runs: the
    # sockets and pairs, alive for the whole run, are moved out of its generations (same for every target).
    gc.collect()
    gc.freeze()
    print(f"[{target.name}] memory {_short(result['memory'])}", flush=True)
    result["warm"] = await run.warm()
    result["sweep"] = []
    for rate in args.rates:
        step = await run.open_loop(rate, args.duration)
        result["sweep"].append(step)
        print(f"[{target.name}] {_line(step)}", flush=True)
    if args.peak_duration > 0:
        profiler = start_profiler(target, args.peak_duration) if args.profile == "peak" else None
        result["peak"] = await run.closed_loop(args.peak_duration)
        if profiler is not None:
            result["profile"] = finish_profiler(*profiler)
        print(f"[{target.name}] {_line(result['peak'])}", flush=True)
    if args.storm > 0:
        # The reconnections, then as long again for the stragglers.
        profiler = start_profiler(target, 2 * args.storm_window) if args.profile == "storm" else None
        result["storm"] = await run.storm(min(args.storm, len(run.pairs)), args.storm_window)
        if profiler is not None:
            result["storm_profile"] = finish_profiler(*profiler)
        print(f"[{target.name}] storm {_short(result['storm'])}", flush=True)
    await run.close()
    gc.unfreeze()
    if args.hold > 0:
        result["hold"] = await hold(target, args.hold)
        print(f"[{target.name}] hold {_short(result['hold'])}", flush=True)
    return result


async def hold(target: Target, tchats: int) -> dict[str, Any]:
    """``tchats`` visitor sockets and as many consoles (one tchat each) held open and idle, by worker processes."""
    setup = await setup_tchats(target, tchats, 1)
    bases = target.ws_bases
    pairs = []
    for t in setup.tchats:
        console = console_base(target, t.operator)
        pairs.append({"visitor_base": bases[t.operator % len(bases)], "token": t.token,
                      "operator_base": bases[console], "origin": target.origin(console),
                      "cookie": setup.cookies[t.operator], "conversation": t.conversation})
    shares = [pairs[i:i + PAIRS_PER_WORKER] for i in range(0, len(pairs), PAIRS_PER_WORKER)]
    workers = [await asyncio.create_subprocess_exec(
        sys.executable, "-m", "loadtests.hold_worker", stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        cwd=ROOT) for _ in shares]

    async def ask(command: str) -> list[dict[str, Any]]:
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write(command.encode() + b"\n")
        answers = []
        for worker in workers:
            assert worker.stdout is not None
            line = await worker.stdout.readline()
            if not line:
                raise RuntimeError(f"hold worker exited with {await worker.wait()}")
            answers.append(json.loads(line))
        return answers

    try:
        for worker, share in zip(workers, shares, strict=True):
            assert worker.stdin is not None
            # Every worker's sample: one message from about 200 visitors in all, spread over the workers.
            step = max(1, len(pairs) // 200)
            worker.stdin.write(json.dumps({"pairs": share, "sample": list(range(0, len(share), step))}).encode()
                               + b"\n")
        started = time.perf_counter()
        before = target.rss()
        visitors = await ask("visitors")
        await asyncio.sleep(SETTLE_SECONDS)
        after_visitors = target.rss()
        consoles = await ask("consoles")
        await asyncio.sleep(SETTLE_SECONDS)
        after_consoles = target.rss()
        connect_s = time.perf_counter() - started
        # Still alive with everything open: one message across a sample of pairs.
        sample = await ask("sample")
        await ask_close(workers)
    finally:
        for worker in workers:
            if worker.returncode is None:
                worker.kill()
                await worker.wait()
    opened_v, opened_c = sum(v["opened"] for v in visitors), sum(c["opened"] for c in consoles)
    return {
        "workers": len(workers), "visitor_sockets": opened_v, "operator_sockets": opened_c,
        "failed_visitors": sum(v["failed"] for v in visitors), "failed_operators": sum(c["failed"] for c in consoles),
        "rss_before_mib": before / 2**20, "rss_after_mib": after_consoles / 2**20,
        "kib_per_visitor_socket": (after_visitors - before) / 1024 / max(1, opened_v),
        "kib_per_operator_socket": (after_consoles - after_visitors) / 1024 / max(1, opened_c),
        "kib_per_socket": (after_consoles - before) / 1024 / max(1, opened_v + opened_c),
        "connect_s": connect_s,
        "sample_sent": sum(x["sent"] for x in sample), "sample_delivered": sum(x["delivered"] for x in sample),
    }


async def ask_close(workers: list[asyncio.subprocess.Process]) -> None:
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write(b"close\n")
        await worker.stdin.drain()
    await asyncio.gather(*(asyncio.wait_for(w.wait(), 120) for w in workers))


def start_profiler(target: Target, seconds: float) -> tuple[list[subprocess.Popen[bytes]], list[Path]]:
    """py-spy samples every server process for ``seconds`` (the peak phase: the hot path at saturation; or a storm)."""
    spy = Path(sys.executable).parent / "py-spy"
    outputs = [Path(tempfile.mkdtemp(prefix="pnav-spy-")) / f"{pid}.txt" for pid in target.pids]
    # Blocking mode (the process is paused for each of 100 samples a second): non-blocking sampling stitched async
    # stacks of different tasks together, which made inclusive shares meaningless.
    processes = [subprocess.Popen([str(spy), "record", "--format", "raw", "--rate", "100",
                                   "--duration", str(int(seconds)), "--pid", str(pid), "-o", str(out)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for pid, out in zip(target.pids, outputs, strict=True)]
    return processes, outputs


def finish_profiler(processes: list[subprocess.Popen[bytes]], outputs: list[Path]) -> dict[str, Any]:
    """Collapsed stacks → the functions holding most samples (inclusive and self), across server processes."""
    inclusive: dict[str, int] = {}
    leaf: dict[str, int] = {}
    total = 0
    for process, out in zip(processes, outputs, strict=True):
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(60)
        if not out.exists():
            continue
        for line in out.read_text().splitlines():
            stack, _, count_text = line.rpartition(" ")
            if not count_text.isdigit():
                continue
            count = int(count_text)
            total += count
            frames = [_frame_name(f) for f in stack.split(";") if f]
            for name in set(frames):
                inclusive[name] = inclusive.get(name, 0) + count
            if frames:
                leaf[frames[-1]] = leaf.get(frames[-1], 0) + count

    def top(table: dict[str, int], n: int) -> list[tuple[str, float]]:
        return [(name, round(100 * c / max(1, total), 1)) for name, c in sorted(table.items(), key=lambda x: -x[1])[:n]]

    return {"samples": total, "inclusive_pct": top(inclusive, 60), "self_pct": top(leaf, 30)}


def _frame_name(frame: str) -> str:
    """``func (path/to/module.py:123)`` → ``func (module.py)``: lines merged, paths shortened to the package."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    parts = path.split("/")
    if "site-packages" in parts:
        parts = parts[parts.index("site-packages") + 1:][:2]
    short = "/".join(parts[-2:])
    return f"{name} ({short})"


def _short(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items()
                     if not isinstance(v, dict))


def _line(step: dict[str, Any]) -> str:
    lat = step["latency_ms"]
    sides = "".join(f"{author} p50/p99 {v['p50']:.1f}/{v['p99']:.1f} ms, "
                    for author, v in step["latency_ms_by_author"].items())
    return (f"{step['phase']}: {step['throughput_msg_s']:.0f} msg/s, p50 {lat['p50']:.1f} p95 {lat['p95']:.1f} "
            f"p99 {lat['p99']:.1f} max {lat['max']:.1f} ms, lost {step['lost']}, errors {step['errors']}, {sides}"
            f"server cpu {step['server_cpu_pct']:.0f}%, bench cpu {step['bench_cpu_pct']:.0f}%")


def plot(results: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 5))
    for result in results:
        sweep = result.get("sweep", [])
        if not sweep:
            continue
        rates = [s["offered_msg_s"] for s in sweep]
        for key, style in (("p50", ":"), ("p99", "-")):
            axes.plot(rates, [s["latency_ms"][key] for s in sweep], style, marker="o",
                      label=f"{result['target']} {key}")
    axes.set_xlabel("offered load (messages/s, both directions)")
    axes.set_ylabel("delivery latency (ms)")
    axes.set_yscale("log")
    axes.axhline(50, color="grey", linewidth=0.8)
    axes.set_title("pnav vs bare relay: delivery latency vs offered load")
    axes.legend(fontsize=8)
    axes.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def environment() -> dict[str, Any]:
    return {
        "python": sys.version.split()[0], "platform": platform.platform(), "cpus": psutil.cpu_count(),
        "memory_gib": psutil.virtual_memory().total / 2**30, "load_avg": os.getloadavg(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--target", choices=("pnav", "relay", "both"), default="both")
    parser.add_argument("--backends", default="sqlite,pg1,pg2",
                        help="pnav backends: sqlite, pg1, pg2 (durable PostgreSQL), pg1-fast, pg2-fast (fsync off)")
    parser.add_argument("--relay", default="relay", choices=("relay", "relay2"),
                        help="relay2: two relay processes (past one process's open-file limit)")
    parser.add_argument("--tchats", type=int, default=2000)
    parser.add_argument("--per-operator", type=int, default=4, help="tchats followed by each operator console")
    parser.add_argument("--rates", default="250,500,1000,2000", help="offered aggregate msg/s, comma-separated")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per rate step")
    parser.add_argument("--peak-duration", type=float, default=10.0, help="closed-loop seconds (0: skip)")
    parser.add_argument("--storm", type=int, default=2000, help="visitors in the reconnect storm (0: skip)")
    parser.add_argument("--storm-window", type=float, default=10.0)
    parser.add_argument("--hold", type=int, default=0, help="tchats (2 sockets each) held idle (0: skip)")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"))
    parser.add_argument("--no-plot", action="store_true")
    parser.add_argument("--queue-surge", type=int, default=0,
                        help="visitors of a queue surge, run instead of the other phases on each pnav backend")
    parser.add_argument("--surge-window", type=float, default=30.0, help="seconds over which they arrive")
    parser.add_argument("--surge-take-rate", type=float, default=20.0, help="takes per second during the surge")
    parser.add_argument("--surge-takes-after", type=float, default=20.0,
                        help="seconds operators keep taking after the last arrival")
    parser.add_argument("--surge-settle", type=float, default=5.0, help="seconds of calm before the final check")
    parser.add_argument("--pin", action="store_true",
                        help="servers on the first CPU, the load generator on the others (see BENCHMARKS.md)")
    parser.add_argument("--profile", nargs="?", const="peak", choices=("peak", "storm", "surge"),
                        help="py-spy the servers during the peak phase (default), the reconnect storm or the queue "
                             "surge")
    args = parser.parse_args(argv)
    args.rates = [float(r) for r in args.rates.split(",") if r]
    return args


async def main_async(args: argparse.Namespace) -> list[dict[str, Any]]:
    names = ([args.relay] if args.target in ("relay", "both") else []) + (
        [b for b in args.backends.split(",") if b] if args.target in ("pnav", "both") else [])
    results = []
    task = asyncio.current_task()
    assert task is not None
    # A terminated bench still stops the servers and databases it started: SIGTERM cancels this task, and the
    # context managers below unwind.
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    for name in names:
        if args.queue_surge and name.startswith("relay"):
            continue  # the relay has no queue
        with start(name) as target:
            if args.pin:
                pin(target)
            if args.queue_surge:
                result = {"target": target.name, "durability": await durability(target)}
                profiler = (start_profiler(target, args.surge_window + args.surge_takes_after)
                            if args.profile == "surge" else None)
                result["queue_surge"] = await queue_surge(target, args.queue_surge, args.surge_window,
                                                          args.surge_take_rate, args.surge_takes_after,
                                                          args.surge_settle)
                if profiler is not None:
                    result["surge_profile"] = finish_profiler(*profiler)
                print(json.dumps(result), flush=True)
                results.append(result)
            else:
                results.append(await run_target(target, args))
    return results


def pin(target: Target) -> None:
    """The servers on the first CPU, this load generator on the others (PostgreSQL and Redis stay free): on a
    2-core machine the generator's thousands of sockets no longer take the server's core."""
    cpus = sorted(os.sched_getaffinity(0) | set(range(psutil.cpu_count() or 1)))
    if len(cpus) < 2:
        return
    for pid in target.pids:
        with contextlib.suppress(psutil.Error, OSError):
            for process in (psutil.Process(pid), *psutil.Process(pid).children(recursive=True)):
                process.cpu_affinity([cpus[0]])
    os.sched_setaffinity(0, set(cpus[1:]))


def raise_open_files() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = OPEN_FILES if hard == resource.RLIM_INFINITY else max(hard, OPEN_FILES)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
        return
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # not root: as many as we may


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    raise_open_files()  # inherited by the servers the bench starts
    # The load generator holds thousands of sockets too: with CPython's default thresholds its own collections
    # showed as a latency spike of ~100 ms at the first rate step of whichever target ran (the relay's, every run).
    # The servers' setting (pnav/asgi.py), so that both sides of the measure pause alike.
    collector.tune()
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    report: dict[str, Any] = {"environment": environment(), "arguments": {k: v for k, v in vars(args).items()},
              "results": asyncio.run(main_async(args))}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (out / f"bench-{stamp}.json").write_text(json.dumps(report, indent=2))
    if not args.no_plot and not args.queue_surge:
        plot(report["results"], out / f"latency-{stamp}.png")
    print(f"results in {out}/bench-{stamp}.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
