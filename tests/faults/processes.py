"""Real processes for fault tests: `pnav serve` subprocesses, and a PostgreSQL and a Redis that can be stopped."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from chat.settings import PROJECT_ROOT
from tests.servers import UNIT, _pg_bindir, free_port


def _wait(check: object, timeout: float, what: str) -> None:
    assert callable(check)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05 * UNIT)
    raise RuntimeError(f"{what} not ready after {timeout:.0f} s")


class Postgres:
    """A throwaway cluster on a fixed loopback port that a test may stop and start again."""

    def __init__(self) -> None:
        self.bindir = _pg_bindir()
        self.root = Path(tempfile.mkdtemp(prefix="pnav-faults-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # initdb refuses root: the cluster belongs to the postgres system user
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        subprocess.run([*self.as_user, str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
                        "--auth=trust", "-E", "UTF8", "--no-sync"], check=True, capture_output=True)
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str) -> None:
        subprocess.run([*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.data), *args],
                       check=True, capture_output=True, timeout=60 * UNIT)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off " \
                  "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        self._ctl("-o", options, "-l", str(self.root / "log"), "-w", "start")

    def stop(self) -> None:
        """A fast shutdown: sessions are cut, as when the database server goes away."""
        self._ctl("-m", "fast", "-w", "stop")

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self._ctl("-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


class Redis:
    """A throwaway Redis on a fixed loopback port that a test may kill and start again."""

    def __init__(self) -> None:
        self.binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.port = free_port()
        self.workdir = tempfile.mkdtemp(prefix="pnav-faults-redis-")
        self.process: subprocess.Popen[bytes] | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.workdir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait(lambda: _port_open(self.port), 10 * UNIT, "redis")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10 * UNIT)
            self.process = None

    def close(self) -> None:
        self.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _port_open(port: int) -> bool:
    import socket

    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
        return True
    return False


class App:
    """`pnav serve` in its own process, its stderr kept in a file (the privacy test reads every line)."""

    def __init__(self, database_url: str, redis_url: str, log_dir: Path, **env: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.ws_base = f"ws://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"pnav-{self.port}.log"
        self.env = {**os.environ, "PNAV_ENV": "test", "PNAV_DATABASE_URL": database_url,
                    "PNAV_REDIS_URL": redis_url, "PNAV_SECRET_KEY": "faults-secret-" + "k" * 32, **env}
        self.process: subprocess.Popen[bytes] | None = None

    def spawn(self) -> App:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen([sys.executable, "-m", "pnav.cli", "serve", "--port", str(self.port)],
                                        cwd=PROJECT_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        return self

    def wait_ready(self) -> App:
        _wait(self.healthy, 60 * UNIT, f"pnav on port {self.port}")
        return self

    def healthy(self) -> bool:
        return self.health() == 200

    def health(self) -> int | None:
        try:
            return httpx.get(f"{self.base}/healthz", timeout=3 * UNIT).status_code
        except httpx.HTTPError:
            return None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """kill -9: no shutdown, no goodbye to the sockets."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10 * UNIT)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15 * UNIT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10 * UNIT)

    def rss(self) -> int:
        """Resident memory of the server process, in bytes."""
        import psutil

        assert self.process is not None
        return int(psutil.Process(self.process.pid).memory_info().rss)
