"""Fixtures: real backends (SQLite, a throwaway PostgreSQL, the memory broker, a throwaway Redis) and live servers."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audit import keys
from chat.db import create_cli_engine, create_engine, session_factory
from chat.settings import Settings
from pnav.migrate import upgrade
from pnav.registry import metadata
from tests.servers import LiveServer, postgres_server, redis_server

os.environ.setdefault("PNAV_ENV", "test")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A migrated PostgreSQL database: PNAV_TEST_DATABASE_URL if set, else a throwaway server."""
    given = os.environ.get("PNAV_TEST_DATABASE_URL")
    if given:
        yield given
        return
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    given = os.environ.get("PNAV_TEST_REDIS_URL")
    if given:
        yield given
        return
    with redis_server() as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("sqlite") / "pnav.sqlite3"
    return f"sqlite+aiosqlite:///{path}"


_migrated: set[str] = set()


def migrated(url: str) -> str:
    if url not in _migrated:
        upgrade(url)
        _migrated.add(url)
    return url


async def wipe(url: str) -> None:
    """Empty every table (children first) so each test starts from a clean database."""
    engine = create_cli_engine(url)
    try:
        async with engine.begin() as connection:
            for table in reversed(metadata().sorted_tables):
                await connection.execute(text(f'DELETE FROM "{table.name}"'))
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request: pytest.FixtureRequest) -> str:
    """A migrated, empty database on each backend."""
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    migrated(url)
    await wipe(url)
    return str(url)


@pytest.fixture
async def sessions(db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(db_url)
    yield keys.bind(session_factory(engine), keys.TEST_KEY)
    await engine.dispose()


@pytest.fixture(params=["memory", "redis"])
def broker_url(request: pytest.FixtureRequest) -> str:
    return "memory://" if request.param == "memory" else str(request.getfixturevalue("redis_url"))


class ServerPool:
    """Live servers kept for the session, one per (database, broker); stopped before the backends stop."""

    def __init__(self) -> None:
        self.servers: dict[tuple[str, str], LiveServer] = {}

    def get(self, database_url: str, redis: str) -> LiveServer:
        key = (database_url, redis)
        if key not in self.servers:
            self.servers[key] = LiveServer(settings_for(database_url, redis)).start()
        return self.servers[key]


def settings_for(database_url: str, redis: str, **overrides: Any) -> Settings:
    # Test servers share one database per backend: a server's own daily purge, a minute after its start, would
    # race the tests that write old rows and purge them (tests/escalation/test_purge.py).
    extra = {"PNAV_PURGE_IN_PROCESS": "off", **overrides.pop("extra", {})}
    return Settings(database_url=migrated(database_url), redis_url=redis, environment="test",
                    secret_key="test-secret-key-" + "x" * 32, extra=extra, **overrides)


@pytest.fixture(scope="session")
def server_pool(postgres_url: str, redis_url: str) -> Iterator[ServerPool]:
    pool = ServerPool()
    yield pool
    for server in pool.servers.values():
        server.stop()


@pytest.fixture(params=["sqlite-memory", "postgresql-redis"])
async def live(request: pytest.FixtureRequest, server_pool: ServerPool) -> LiveServer:
    """A live pnav server on SQLite + memory broker, and on PostgreSQL + Redis; database emptied per test."""
    if request.param == "sqlite-memory":
        url, redis = request.getfixturevalue("sqlite_url"), "memory://"
    else:
        url, redis = request.getfixturevalue("postgres_url"), request.getfixturevalue("redis_url")
    server = server_pool.get(url, redis)
    await wipe(url)
    return server
