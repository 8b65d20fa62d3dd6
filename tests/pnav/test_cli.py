"""The pnav command line: one-line errors and refusals that protect the deployment."""

from __future__ import annotations

import subprocess
import sys


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pnav.cli", *args], capture_output=True, text=True, timeout=60,
                          env=env)


def test_workers_need_redis() -> None:
    """Several workers with the in-process broker are refused with a one-line reason."""
    result = run("serve", "--workers", "2", env={"PNAV_ENV": "test", "PNAV_REDIS_URL": "memory://",
                                                  "PATH": "/usr/bin:/bin"})
    assert result.returncode == 2
    assert "PNAV_REDIS_URL" in result.stderr and "Traceback" not in result.stderr


def test_unknown_command_is_a_usage_error() -> None:
    """An unknown subcommand ends with argparse's usage error, not a traceback."""
    result = run("fly")
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_production_without_secret_refused() -> None:
    """In production a missing PNAV_SECRET_KEY stops the command with a one-line reason."""
    result = run("migrate", env={"PNAV_ENV": "production", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 2 and "PNAV_SECRET_KEY" in result.stderr and "Traceback" not in result.stderr


def _env(**extra: str) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "PNAV_ENV": "test", **extra}


def test_public_host_refused_outside_production() -> None:
    """Outside production `pnav serve` refuses a non-loopback --host unless told it knowingly is not production."""
    for environment in ("development", "test"):
        result = run("serve", "--host", "0.0.0.0", "--port", "9", env=_env(PNAV_ENV=environment))
        assert result.returncode == 2 and "--i-know-this-is-not-production" in result.stderr
        assert "Traceback" not in result.stderr


def test_loopback_hosts_are_loopback() -> None:
    """127.0.0.0/8, ::1 and localhost count as loopback; a name or a public address does not."""
    from pnav.serving import is_loopback

    assert all(is_loopback(h) for h in ("127.0.0.1", "127.0.0.9", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.0.2.1", "example.org", ""))


def test_serve_refuses_a_uvicorn_without_back_pressure() -> None:
    """With a uvicorn whose WebSocket protocol ignores pause_writing, `pnav serve` refuses to start and says why."""
    code = ("import asyncio, sys\n"
            "from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol as P\n"
            "P.pause_writing = asyncio.Protocol.pause_writing\n"
            "from pnav.cli import main\n"
            "sys.exit(main(['serve', '--port', '9']))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=_env())
    assert result.returncode == 2 and "pause_writing" in result.stderr and "requirements.txt" in result.stderr
    assert "Traceback" not in result.stderr


def test_installed_protocol_has_what_pnav_relies_on() -> None:
    """The pinned uvicorn and websockets pass the start-up check; a protocol that keeps uvicorn's queue does not."""
    from pnav.websocket_protocol import LeanWebSocketProtocol, reliance_problems

    assert reliance_problems() == []

    class Forgetful(LeanWebSocketProtocol):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super(LeanWebSocketProtocol, self).__init__(*args, **kwargs)  # type: ignore[arg-type]

    assert any("queue" in problem for problem in reliance_problems(Forgetful))


def test_settings_repr_shows_no_secret() -> None:
    """repr(Settings) (tracebacks, debug logs) shows no secret key, no PNAV_ secret and no password of a URL."""
    from chat.settings import Settings

    settings = Settings.from_env({
        "PNAV_ENV": "test", "PNAV_SECRET_KEY": "s3cr3t-" + "k" * 40, "PNAV_CONTACT_KEY": "contact-key-value",
        "PNAV_WEBHOOKS": '{"x": {"url": "https://h", "secret": "webhook-secret-value"}}',
        "PNAV_DATABASE_URL": "postgresql+asyncpg://pnav:db-password@127.0.0.1/pnav",
        "PNAV_REDIS_URL": "redis://:redis-password@127.0.0.1:6379/0"})
    shown = f"{settings!r} {settings!s} {[settings]}"
    for secret in ("s3cr3t-", "contact-key-value", "webhook-secret-value", "db-password", "redis-password"):
        assert secret not in shown
    assert "127.0.0.1/pnav" in shown and "environment='test'" in shown

def test_migrate_says_what_it_did(tmp_path: object) -> None:
    """On a database created seconds earlier ``pnav migrate`` lists the migrations it applied; run again, it says
    there was nothing to apply."""
    from pathlib import Path

    database = Path(str(tmp_path)) / "fresh.sqlite3"
    env = {"PNAV_ENV": "test", "PNAV_DATABASE_URL": f"sqlite+aiosqlite:///{database}", "PATH": "/usr/bin:/bin"}
    first = run("migrate", env=env)
    assert first.returncode == 0, first.stderr
    assert "migration(s) applied to" in first.stdout and "core_0001" in first.stdout
    assert "escalation_0002_i16" in first.stdout and "already" not in first.stdout
    assert "now up to date" in first.stdout
    again = run("migrate", env=env)
    assert again.returncode == 0 and "nothing to apply" in again.stdout and "already up to date" in again.stdout


def test_services_search_by_postal_code_commune_and_name() -> None:
    """``pnav services search`` finds the competent service of a postal code (spaces allowed) or of a commune, and
    services by name; nothing found is a one-line French reason and exit 1."""
    by_code = run("services", "search", "54 120")
    assert by_code.returncode == 0
    assert by_code.stdout.startswith("gendarmerie-54039-01\tgendarmerie\tBrigade de gendarmerie - Baccarat\t")
    assert "commissariat_police-75111-01\tpolice" in run("services", "search", "75011").stdout
    assert "gendarmerie-54039-01" in run("services", "search", "baccarat").stdout
    assert "commissariat_police-75111-01" in run("services", "search", "paris", "11").stdout
    saint_denis = run("services", "search", "Saint-Denis").stdout
    assert "(93)" in saint_denis and "(974)" in saint_denis  # homonyms, told apart by département
    nothing = run("services", "search", "zzzz")
    assert nothing.returncode == 1 and nothing.stderr.count("\n") == 1 and "aucun service" in nothing.stderr
