"""Fault fixtures: a PostgreSQL and a Redis of their own (the tests stop them), and `pnav serve` processes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import migrated, wipe
from tests.faults.processes import App, Postgres, Redis


@pytest.fixture(scope="session")
def fault_pg() -> Iterator[Postgres]:
    cluster = Postgres()
    cluster.start()
    migrated(cluster.url)
    yield cluster
    cluster.close()


@pytest.fixture(scope="session")
def fault_redis() -> Iterator[Redis]:
    server = Redis()
    server.start()
    yield server
    server.close()


@pytest.fixture
async def apps(fault_pg: Postgres, fault_redis: Redis, tmp_path: Path) -> AsyncIterator[Callable[..., list[App]]]:
    """Start `pnav serve` processes on the fault backends; every one is stopped at the end of the test."""
    await wipe(fault_pg.url)
    started: list[App] = []

    def start(count: int = 1, **env: str) -> list[App]:
        new = [App(fault_pg.url, fault_redis.url, tmp_path, **env).spawn() for _ in range(count)]
        started.extend(new)
        return [app.wait_ready() for app in new]

    yield start
    for app in started:
        app.stop()
