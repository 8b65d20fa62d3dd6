"""Throwaway PostgreSQL and Redis servers started from the installed binaries, and a live pnav server."""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import uvicorn

from chat.settings import Settings
from pnav.app import create_app
from pnav.serving import server_settings

T = TypeVar("T")

# Every wait in the tests is a multiple of this unit, so a slow CI machine can scale them all at once.
UNIT = float(os.environ.get("PNAV_TEST_TIMEOUT_UNIT", "1.0"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def _pg_bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise RuntimeError("PostgreSQL binaries not found: install postgresql (.ci/run does)")


@contextlib.contextmanager
def postgres_server(*, durable: bool = False) -> Iterator[str]:
    """initdb + pg_ctl start on a free port in a temp dir; yields an asyncpg URL; stops and removes on exit.

    Tests run without durability (``fsync``, ``synchronous_commit`` and ``full_page_writes`` off: nothing to
    recover after a crash of a throwaway cluster); ``durable=True`` keeps PostgreSQL's production defaults (all
    on), which the benchmark uses so that its figures are those of an ack that means the message is on disk."""
    bindir = _pg_bindir()
    root = Path(tempfile.mkdtemp(prefix="pnav-pg-"))
    data = root / "data"
    port = free_port()
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root: run the cluster as the postgres system user
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    subprocess.run([*as_user, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                    "-E", "UTF8", "--no-sync"], check=True, capture_output=True)
    durability = "on" if durable else "off"
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync={durability} " \
              f"-c synchronous_commit={durability} -c full_page_writes={durability} -c max_connections=300"
    subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"),
                    "-w", "start"], check=True, capture_output=True)
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="pnav-redis-")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", workdir],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        _wait_port(port, 10 * UNIT)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


class LiveServer:
    """A real uvicorn serving a pnav app on a loopback port, in a thread with its own event loop."""

    def __init__(self, settings: Settings, **uvicorn_options: Any) -> None:
        self.settings = settings
        self.app = create_app(settings)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.ws_base = f"ws://127.0.0.1:{self.port}"
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on",
                                **{**server_settings(settings), **uvicorn_options})
        self.server = uvicorn.Server(config)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.server.serve())

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30 * UNIT
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("pnav test server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30 * UNIT)

    @property
    def state(self) -> Any:
        return self.app.state.pnav

    async def call(self, fn: Callable[[Any], Awaitable[T]]) -> T:
        """Run ``fn(state)`` on the server's loop (where its engine and broker live) and await the result."""
        assert self.loop is not None
        future = asyncio.run_coroutine_threadsafe(_call(fn, self.state), self.loop)
        return await asyncio.wrap_future(future)


async def _call(fn: Callable[[Any], Awaitable[T]], state: Any) -> T:
    return await fn(state)
