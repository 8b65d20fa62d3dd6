"""Live servers configured with a contact key and a sealing public key whose private half the tests hold."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from escalation import crypto
from tests.conftest import settings_for, wipe
from tests.servers import LiveServer


@dataclass(frozen=True)
class Keys:
    private_path: Path
    public_path: Path
    contact_key: str

    @property
    def private_pem(self) -> bytes:
        return self.private_path.read_bytes()

    def extra(self) -> dict[str, str]:
        return {"PNAV_CONTACT_KEY": self.contact_key, "PNAV_SEAL_PUBLIC_KEY": str(self.public_path),
                "PNAV_PSYCHOLOGIST_HOURS": "mon-sun 00:00-24:00"}


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    folder = tmp_path_factory.mktemp("keys")
    private_pem, public_pem = crypto.generate_keypair()
    (folder / "private.pem").write_bytes(private_pem)
    (folder / "public.pem").write_bytes(public_pem)
    return Keys(folder / "private.pem", folder / "public.pem",
                base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())


@pytest.fixture(scope="session")
def escalation_servers(tmp_path_factory: pytest.TempPathFactory, postgres_url: str, redis_url: str,
                       keys: Keys) -> Iterator[dict[str, tuple[LiveServer, str]]]:
    sqlite = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('escalation') / 'pnav.sqlite3'}"
    servers = {
        "sqlite-memory": (LiveServer(settings_for(sqlite, "memory://", extra=keys.extra())).start(), sqlite),
        "postgresql-redis": (LiveServer(settings_for(postgres_url, redis_url, extra=keys.extra())).start(),
                             postgres_url),
    }
    yield servers
    for server, _url in servers.values():
        server.stop()


@dataclass(frozen=True)
class Live:
    server: LiveServer
    database_url: str


@pytest.fixture(params=["sqlite-memory", "postgresql-redis"])
async def esc(request: pytest.FixtureRequest, escalation_servers: dict[str, tuple[LiveServer, str]]) -> Live:
    """A live server on SQLite + memory and PostgreSQL + Redis with escalation keys, emptied before each test."""
    server, url = escalation_servers[request.param]
    await wipe(url)
    server.state.extensions.pop("escalation.followup_limiter", None)
    return Live(server, url)


@pytest.fixture
async def pg(escalation_servers: dict[str, tuple[LiveServer, str]]) -> Live:
    """The PostgreSQL + Redis server only (the issue asks for the whole path there)."""
    server, url = escalation_servers["postgresql-redis"]
    await wipe(url)
    return Live(server, url)
