"""What the benchmark drives: pnav (SQLite single process, PostgreSQL+Redis with N processes) or the bare relay,
each started on free loopback ports, plus the setup of open tchats (visitor token ↔ operator session).

Setup goes straight to the database (accounts, sessions, conversations already taken): the benchmark measures the
live message path, not sign-in (argon2id is deliberately slow) nor the queue (exercised by the locustfile).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

from tests.servers import free_port, postgres_server, redis_server

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# The server must answer /healthz within this long after start: migrations and imports take a few seconds on a
# busy 2-core machine.
START_TIMEOUT = 60.0
# One precomputed argon2id hash for every benchmark account: hashing thousands would take minutes and no
# benchmark account ever signs in with a password.
_PASSWORD_HASH: str | None = None


@dataclass
class Tchat:
    conversation: str
    token: str
    operator: int  # index into Setup.cookies


@dataclass
class Setup:
    tchats: list[Tchat]
    cookies: list[str]  # one operator console session per entry


@dataclass
class Target:
    name: str
    ws_bases: list[str]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    database_url: str | None = None
    kind: str = "pnav"  # pnav | relay

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def origin(self, index: int) -> str:
        return self.ws_bases[index % len(self.ws_bases)].replace("ws://", "http://")

    def rss(self) -> int:
        total = 0
        for pid in self.pids:
            with contextlib.suppress(psutil.Error):
                proc = psutil.Process(pid)
                total += proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True))
        return total

    def cpu_seconds(self) -> float:
        total = 0.0
        for pid in self.pids:
            with contextlib.suppress(psutil.Error):
                proc = psutil.Process(pid)
                for p in (proc, *proc.children(recursive=True)):
                    times = p.cpu_times()
                    total += times.user + times.system
        return total


def _env(database_url: str, redis_url: str, extra: dict[str, str], root: Path = ROOT) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PNAV_")}
    env.update({
        "PNAV_ENV": "test", "PNAV_SECRET_KEY": "bench-" + "x" * 40, "PNAV_DATABASE_URL": database_url,
        "PNAV_REDIS_URL": redis_url, "PYTHONPATH": str(root),
        # The benchmark raises the limits it does not measure: its pairs send faster than a person types (the
        # visitor's send limit), and each console sends for several tchats at machine speed (the console's frame
        # limit, 10/s: the peak phase of a 500-tchat run hit it with ``rate_limited`` errors).
        "PNAV_VISITOR_SEND_RATE": "1000", "PNAV_VISITOR_SEND_BURST": "1000",
        "PNAV_CONSOLE_FRAME_RATE": "100000", "PNAV_CONSOLE_FRAME_BURST": "100000",
    })
    env.update(extra)
    return env


def _wait_ready(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/healthz", timeout=1.0).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"server at {base} did not become healthy")


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@contextlib.contextmanager
def pnav_servers(database_url: str, redis_url: str, count: int, logdir: Path,
                 extra_env: dict[str, str] | None = None, root: Path = ROOT) -> Iterator[list[subprocess.Popen[bytes]]]:
    """``count`` processes of ``pnav serve`` on free ports; ``root`` may name another checkout (A/B runs)."""
    env = _env(database_url, redis_url, extra_env or {}, root)
    subprocess.run([str(BIN / "pnav"), "migrate"], env=env, check=True, capture_output=True, cwd=root)
    processes: list[subprocess.Popen[bytes]] = []
    ports = []
    try:
        for index in range(count):
            port = free_port()
            log = open(logdir / f"pnav-{index}.log", "wb")  # noqa: SIM115 - closed with the process
            processes.append(subprocess.Popen(
                [str(BIN / "pnav"), "serve", "--host", "127.0.0.1", "--port", str(port)],
                env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root,
            ))
            ports.append(port)
        for port, process in zip(ports, processes, strict=True):
            _wait_ready(f"http://127.0.0.1:{port}", process)
        yield processes
    finally:
        _stop(processes)


@contextlib.contextmanager
def start(name: str, extra_env: dict[str, str] | None = None) -> Iterator[Target]:
    """Start one target by name: relay, relay2 (two processes), sqlite, pg1, pg2 (PostgreSQL+Redis, 1 or 2
    processes; durable PostgreSQL), pg1-fast, pg2-fast (the same with fsync, synchronous_commit and
    full_page_writes off).

    ``sqlite@/path/to/checkout`` serves the pnav of another checkout (e.g. ``git worktree`` of the previous
    commit) with the same harness, for before/after comparisons in one run.
    """
    name, _, other = name.partition("@")
    root = Path(other).resolve() if other else ROOT
    label = f"{name}@{root.name}" if other else name
    logdir = Path(tempfile.mkdtemp(prefix=f"pnav-bench-{name}-"))
    if name in ("relay", "relay2"):
        ports = [free_port() for _ in range(2 if name == "relay2" else 1)]
        processes = []
        try:
            for port in ports:
                log = open(logdir / f"relay-{port}.log", "wb")  # noqa: SIM115 - closed with the process
                processes.append(subprocess.Popen(
                    [sys.executable, "-m", "loadtests.bare_relay", "--port", str(port)], stdout=log,
                    stderr=subprocess.STDOUT, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}))
            for port, process in zip(ports, processes, strict=True):
                _wait_port(port, process)
            yield Target(name, [f"ws://127.0.0.1:{port}" for port in ports], processes, kind="relay")
        finally:
            _stop(processes)
        return
    if name == "sqlite":
        url = f"sqlite+aiosqlite:///{logdir / 'bench.sqlite3'}"
        with pnav_servers(url, "memory://", 1, logdir, extra_env, root) as processes:
            yield Target(label, [_ws_base(processes[0])], processes, url)
        return
    if name in ("pg1", "pg2", "pg1-fast", "pg2-fast"):
        # Durable by default (fsync, synchronous_commit, full_page_writes on: PostgreSQL's production settings);
        # ``-fast`` turns them off, a labelled extra column only (an ack there is not an ack on disk).
        with postgres_server(durable=not name.endswith("-fast")) as pg, redis_server() as redis, \
                pnav_servers(pg, redis, int(name[2]), logdir, extra_env, root) as processes:
            yield Target(label, [_ws_base(p) for p in processes], processes, pg)
        return
    raise ValueError(f"unknown target {name!r} (relay, relay2, sqlite, pg1, pg2, pg1-fast, pg2-fast)")


def _ws_base(process: subprocess.Popen[bytes]) -> str:
    args = process.args
    assert isinstance(args, list)
    return f"ws://127.0.0.1:{args[args.index('--port') + 1]}"


def _wait_port(port: int, process: subprocess.Popen[bytes]) -> None:
    import socket

    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("relay exited")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise RuntimeError("relay did not start")


async def setup_tchats(target: Target, count: int, per_operator: int) -> Setup:
    """``count`` open tchats, already taken, ``per_operator`` of them followed by each operator console."""
    operators = (count + per_operator - 1) // per_operator
    if target.kind == "relay":
        cookies = [secrets.token_hex(8) for _ in range(operators)]
        # The relay checks nothing: the token is the conversation id.
        ids = [secrets.token_hex(16) for _ in range(count)]
        return Setup([Tchat(c, c, i // per_operator) for i, c in enumerate(ids)], cookies)
    assert target.database_url is not None
    return await _setup_database(target.database_url, count, per_operator, operators)


async def durability(target: Target) -> dict[str, str]:
    """The durability settings the target's PostgreSQL actually runs with (empty for SQLite or the relay): what
    the environment table of BENCHMARKS.md states."""
    if not (target.database_url or "").startswith("postgresql"):
        return {}
    from sqlalchemy import text

    from chat.db import create_engine

    assert target.database_url is not None
    engine = create_engine(target.database_url)
    try:
        async with engine.connect() as connection:
            return {name: str(await connection.scalar(text(f"SHOW {name}")))
                    for name in ("fsync", "synchronous_commit", "full_page_writes", "wal_sync_method")}
    finally:
        await engine.dispose()


def password_hash() -> str:
    """The one argon2id hash of every benchmark account (computed once per process)."""
    from operators import passwords

    global _PASSWORD_HASH
    if _PASSWORD_HASH is None:
        _PASSWORD_HASH = passwords.hash_password("bench password " + secrets.token_hex(8))
    return _PASSWORD_HASH


async def _setup_database(url: str, count: int, per_operator: int, operators: int) -> Setup:
    from chat import store
    from chat.db import create_engine, session_factory, utcnow
    from chat.models import Conversation, Participant
    from operators import sessions
    from operators.models import Account, AccountSession

    engine = create_engine(url)
    factory = session_factory(engine)
    now = utcnow()
    run = secrets.token_hex(3)  # usernames unique across runs on one database
    cookies: list[str] = []
    accounts: list[str] = []
    tchats: list[Tchat] = []
    try:
        # Batches of 1,000 rows keep each transaction short on SQLite (one writer) while setup stays fast.
        for first in range(0, operators, 1000):
            async with factory.begin() as session:
                for index in range(first, min(first + 1000, operators)):
                    account_id = store.new_id()
                    session.add(Account(id=account_id, username=f"bench-{run}-{index}", role="operator",
                                        force="police", display_name=f"Bench {index}", password_hash=password_hash(),
                                        totp_secret="A" * 32, totp_last_step=0, disabled=False, failed_logins=0,
                                        created_at=now))
                    cookie = secrets.token_urlsafe(32)
                    cookies.append(cookie)
                    session.add(AccountSession(id=sessions.session_id_of(cookie), account_id=account_id,
                                               csrf_secret=secrets.token_urlsafe(16), created_at=now,
                                               last_seen_at=now, expires_at=now + sessions.ABSOLUTE_LIFETIME))
                    accounts.append(account_id)
        for first in range(0, count, 1000):
            async with factory.begin() as session:
                for index in range(first, min(first + 1000, count)):
                    token = store.new_token()
                    conversation_id = store.new_id()
                    operator = index // per_operator
                    session.add(Conversation(
                        id=conversation_id, token_hash=store.hash_token(token), category="domestic_violence",
                        requester_role="victim", postal_code="75011", insee="75111", commune_name="Paris 11e",
                        department="75", force="police", local_service_id=None, local_service_approximate=False,
                        status="active", priority=2, emergency=False, minor=False, assigned_to=accounts[operator],
                        last_seq=0, created_at=now, queued_at=now, taken_at=now, visitor_seen_at=now,
                    ))
                    session.add(Participant(conversation_id=conversation_id, account_id=accounts[operator],
                                            role="operator", joined_at=now))
                    tchats.append(Tchat(conversation_id, token, operator))
    finally:
        await engine.dispose()
    return Setup(tchats, cookies)

