"""``pnav users`` and ``pnav demo`` against a real database: output, exit codes, one-line errors."""

from __future__ import annotations

import io

import pytest

from operators.cli import main_demo, main_users


def run(argv: list[str], db_url: str, stdin: str = "") -> tuple[int, str]:
    out = io.StringIO()
    code = main_users(argv, stdin=io.StringIO(stdin), stdout=out, env={"PNAV_DATABASE_URL": db_url, "PNAV_ENV": "test"})
    return code, out.getvalue()


async def test_create_list_disable_and_resets(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """create prints an otpauth URI; list shows the account; disable, reset-password and reset-totp work."""
    import asyncio

    def scenario() -> None:
        code, out = run(["create", "Agent.X", "--role", "operator", "--force", "police"], db_url,
                        "un mot de passe solide\n")
        assert code == 0 and "otpauth://totp/pnav:agent.x?secret=" in out
        code, out = run(["list"], db_url)
        assert code == 0 and "agent.x\toperator\tpolice" in out and "actif" in out
        assert run(["disable", "agent.x"], db_url)[0] == 0
        assert "désactivé" in run(["list"], db_url)[1]
        assert run(["reset-password", "agent.x"], db_url, "un autre mot de passe\n")[0] == 0
        code, out = run(["reset-totp", "agent.x"], db_url)
        assert code == 0 and out.startswith("otpauth://")

    await asyncio.to_thread(scenario)


async def test_user_errors_are_one_line(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Bad role, missing force, short password, duplicates and unknown users: exit ≠ 0, one line, no traceback."""
    import asyncio

    def scenario() -> None:
        cases = [
            (["create", "a.b", "--role", "operator"], "un mot de passe solide\n", "exige --force"),
            (["create", "a.b", "--role", "psychologist"], "court\n", "au moins 12"),
            (["create", "a.b", "--role", "pilot"], "un mot de passe solide\n", "invalid choice"),
            (["create", "a.b", "--role", "local_service", "--service", "nope"], "un mot de passe solide\n",
             "service local inconnu"),
            (["disable", "ghost"], "", "aucun compte"),
        ]
        for argv, stdin, reason in cases:
            code, _ = run(argv, db_url, stdin)
            err = capsys.readouterr().err
            assert code != 0 and reason in err and err.count("\n") == 1 and "Traceback" not in err
        assert run(["create", "dup", "--role", "psychologist"], db_url, "un mot de passe solide\n")[0] == 0
        code, _ = run(["create", "dup", "--role", "psychologist"], db_url, "un mot de passe solide\n")
        assert code == 1 and "existe déjà" in capsys.readouterr().err

    await asyncio.to_thread(scenario)


async def test_demo_prints_credentials_once(db_url: str) -> None:
    """pnav demo creates one account per demo role, prints passwords and TOTP URIs, and keeps them on rerun."""
    import asyncio

    def scenario() -> None:
        env = {"PNAV_DATABASE_URL": db_url, "PNAV_ENV": "test"}
        out = io.StringIO()
        assert main_demo([], stdout=out, env=env) == 0
        text = out.getvalue()
        for username in ("demo-police", "demo-gendarmerie", "demo-psychologue", "demo-superviseur-police"):
            assert username in text
        assert text.count("otpauth://") >= 5 and "mot de passe :" in text
        again = io.StringIO()
        assert main_demo([], stdout=again, env=env) == 0
        assert "otpauth://" not in again.getvalue()

    await asyncio.to_thread(scenario)


def test_unreachable_database_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    """An unreachable database gives a one-line French reason and exit code 1."""
    code, _ = run(["list"], "postgresql+asyncpg://nobody@127.0.0.1:1/none")
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err
