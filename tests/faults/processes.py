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
from collections.abc import Callable, Iterator
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
    """A throwaway cluster on a fixed loopback port that a test may stop, freeze, kill and start again.

    ``durable``: commits wait for the WAL (``synchronous_commit=on``), as a synchronous standby needs; the other
    fault tests keep the fast settings. ``initdb=False``: the data directory is filled by someone else
    (``pg_basebackup`` for a standby)."""

    def __init__(self, *, durable: bool = False, initdb: bool = True) -> None:
        self.bindir = _pg_bindir()
        self.root = Path(tempfile.mkdtemp(prefix="pnav-faults-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.durable = durable
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # initdb refuses root: the cluster belongs to the postgres system user
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        if initdb:
            subprocess.run([*self.as_user, str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
                            "--auth=trust", "-E", "UTF8", "--no-sync"], check=True, capture_output=True)
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def pids(self) -> list[int]:
        """The postmaster and every process it started (backends, walsender, checkpointer…)."""
        main = int((self.data / "postmaster.pid").read_text().split()[0])
        found = [main]
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                with contextlib.suppress(OSError, IndexError, ValueError):
                    fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                    if int(fields[1]) == main:
                        found.append(int(entry))
        return found

    @contextlib.contextmanager
    def frozen(self) -> Iterator[None]:
        """SIGSTOP the whole cluster (a stalled disk, a paused VM): connections stay open, nothing answers."""
        pids = self.pids()
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)

    def kill9(self) -> None:
        """The machine is gone: SIGKILL the postmaster and all its processes at once."""
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def sql(self, statement: str) -> str:
        out = subprocess.run([*self.as_user, str(self.bindir / "psql"), "-h", "127.0.0.1", "-p", str(self.port),
                              "-U", "postgres", "-At", "-c", statement], check=True, capture_output=True, text=True,
                             timeout=30 * UNIT)
        return out.stdout.strip()

    def _ctl(self, *args: str) -> None:
        subprocess.run([*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.data), *args],
                       check=True, capture_output=True, timeout=60 * UNIT)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off " \
                  f"-c synchronous_commit={'on' if self.durable else 'off'} -c full_page_writes=off " \
                  "-c max_connections=200"
        self._ctl("-o", options, "-l", str(self.root / "log"), "-w", "start")

    def promote(self) -> None:
        self._ctl("-w", "promote")

    def stop(self) -> None:
        """A fast shutdown: sessions are cut, as when the database server goes away."""
        self._ctl("-m", "fast", "-w", "stop")

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self._ctl("-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


class PostgresPair:
    """A primary and a streaming standby made with ``pg_basebackup -R``, the standby synchronous: a commit is on
    both before the primary answers it. The standby's own configuration names no synchronous standby, so once
    promoted it commits alone instead of waiting for a partner that is gone."""

    STANDBY_NAME = "pnav_standby"

    def __init__(self) -> None:
        self.primary = Postgres(durable=True)
        self.standby = Postgres(durable=True, initdb=False)
        hosts = f"host=127.0.0.1:{self.primary.port}&host=127.0.0.1:{self.standby.port}"
        # What PNAV_DATABASE_URL names in production: every host, and only the one that accepts writes is used.
        self.url = f"postgresql+asyncpg://postgres@/postgres?{hosts}&target_session_attrs=read-write"

    def start(self, prepare: Callable[[str], object]) -> None:
        """Start the primary, ``prepare(primary_url)`` it (migrations), clone it and make the clone synchronous."""
        self.primary.start()
        prepare(self.primary.url)
        subprocess.run([*self.primary.as_user, str(self.primary.bindir / "pg_basebackup"), "-h", "127.0.0.1",
                        "-p", str(self.primary.port), "-U", "postgres", "-D", str(self.standby.data), "-R",
                        "-X", "stream", "--no-sync"], check=True, capture_output=True, timeout=60 * UNIT)
        with (self.standby.data / "postgresql.auto.conf").open("a") as conf:
            conf.write(f"primary_conninfo = 'host=127.0.0.1 port={self.primary.port} user=postgres "
                       f"application_name={self.STANDBY_NAME}'\n")
        self.standby.start()
        self.primary.sql(f"ALTER SYSTEM SET synchronous_standby_names = '{self.STANDBY_NAME}'")
        self.primary.sql("SELECT pg_reload_conf()")
        _wait(lambda: self.primary.sql("SELECT sync_state FROM pg_stat_replication") == "sync", 30 * UNIT,
              "synchronous standby")

    def close(self) -> None:
        self.standby.close()
        self.primary.close()


class Redis:
    """A throwaway Redis on a fixed loopback port that a test may kill and start again."""

    def __init__(self, replica_of: int | None = None) -> None:
        self.binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.port = free_port()
        self.workdir = tempfile.mkdtemp(prefix="pnav-faults-redis-")
        self.process: subprocess.Popen[bytes] | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.replica_of = replica_of

    def start(self) -> None:
        replica = ["--replicaof", "127.0.0.1", str(self.replica_of)] if self.replica_of else []
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.workdir, *replica], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait(lambda: _port_open(self.port), 10 * UNIT, "redis")

    @contextlib.contextmanager
    def frozen(self) -> Iterator[None]:
        """SIGSTOP redis-server: its connections stay open and nothing answers."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)
        try:
            yield
        finally:
            self.process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10 * UNIT)
            self.process = None

    def close(self) -> None:
        self.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)


class SentinelGroup:
    """A Redis master, one replica and three sentinels (quorum 2) on loopback ports."""

    SERVICE = "pnav"

    def __init__(self) -> None:
        self.master = Redis()
        self.replica = Redis(replica_of=self.master.port)
        self.workdir = Path(tempfile.mkdtemp(prefix="pnav-faults-sentinel-"))
        self.ports = [free_port() for _ in range(3)]
        self.sentinels: list[subprocess.Popen[bytes]] = []
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.ports)
        self.url = f"redis+sentinel://{hosts}/{self.SERVICE}/0"

    def start(self) -> None:
        import redis

        self.master.start()
        self.replica.start()
        for port in self.ports:
            conf = self.workdir / f"sentinel-{port}.conf"
            # Down after 1 s without an answer and a failover within 5 s: a test-sized outage (production keeps
            # Sentinel's defaults or its own: deploy/README.md).
            conf.write_text(f"port {port}\nbind 127.0.0.1\ndir {self.workdir}\n"
                            f"sentinel monitor {self.SERVICE} 127.0.0.1 {self.master.port} 2\n"
                            f"sentinel down-after-milliseconds {self.SERVICE} 1000\n"
                            f"sentinel failover-timeout {self.SERVICE} 5000\n")
            self.sentinels.append(subprocess.Popen([self.master.binary, str(conf), "--sentinel"],
                                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for port in self.ports:
            _wait(lambda port=port: _port_open(port), 10 * UNIT, "sentinel")
        master = redis.Redis(port=self.master.port)

        def replica_linked() -> bool:
            info = master.info("replication")
            return bool(info.get("connected_slaves")) and "online" in str(info.get("slave0", ""))

        _wait(replica_linked, 30 * UNIT, "redis replica")

        def sentinels_see_replica() -> bool:
            for port in self.ports:
                with redis.Redis(port=port) as sentinel:
                    if not sentinel.sentinel_slaves(self.SERVICE):
                        return False
            return True

        _wait(sentinels_see_replica, 30 * UNIT, "sentinels")
        master.close()

    def master_port(self) -> int:
        import redis

        with redis.Redis(port=self.ports[0]) as sentinel:
            _host, port = sentinel.sentinel_get_master_addr_by_name(self.SERVICE)
        return int(port)

    def close(self) -> None:
        for process in self.sentinels:
            process.kill()
            process.wait(10 * UNIT)
        self.replica.close()
        self.master.close()
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
            # /healthz answers within 3 s whatever the backends do (chat.web.HEALTH_DEADLINE).
            return httpx.get(f"{self.base}/healthz", timeout=6 * UNIT).status_code
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
