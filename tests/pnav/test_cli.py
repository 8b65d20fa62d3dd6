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
