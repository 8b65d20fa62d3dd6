"""``make loadtest``: a bounded headless locust run against a local pnav (loopback only), CSV and HTML reports.

It migrates a throwaway SQLite database, creates operator accounts (password + TOTP secret written to a private
file for the locust operators), starts ``pnav serve`` on a free 127.0.0.1 port, runs locust headless for
``--run-time`` and stops everything. Reports land in ``loadtests/reports/``.

Run: python -m loadtests.run_locust [--users 60] [--operators 6] [--run-time 60s]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from loadtests.targets import BIN, ROOT, pnav_servers

REPORTS = Path(__file__).resolve().parent / "reports"
# locust gets its run time plus this much to stop its users and write the reports before it is killed.
STOP_GRACE_SECONDS = 60
PASSWORD = "load test password, not a real one"


async def _create_operators(database_url: str, count: int) -> list[dict[str, str]]:
    import re

    from audit import keys
    from chat.db import create_engine, session_factory
    from chat.settings import Settings
    from operators import accounts

    engine = create_engine(database_url)
    sessions = keys.bind(session_factory(engine), keys.load(Settings.from_env()))
    created = []
    try:
        for index in range(count):
            force = "police" if index % 2 == 0 else "gendarmerie"
            result = await accounts.create(sessions, f"loadtest-op{index}", PASSWORD, role="operator", force=force)
            secret = re.search(r"secret=([A-Z2-7]+)", result.otpauth_uri)
            assert secret is not None
            created.append({"username": result.account.username, "password": PASSWORD, "secret": secret.group(1)})
    finally:
        await engine.dispose()
    return created


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="bounded headless locust run against a local pnav")
    parser.add_argument("--users", type=int, default=60, help="total locust users (operators included)")
    parser.add_argument("--operators", type=int, default=6)
    parser.add_argument("--spawn-rate", type=float, default=10.0)
    parser.add_argument("--run-time", default="60s")
    parser.add_argument("--reports", default=str(REPORTS))
    parser.add_argument("--prefix", default="pnav")
    args = parser.parse_args(argv)
    reports = Path(args.reports)
    reports.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="pnav-locust-"))
    database_url = f"sqlite+aiosqlite:///{workdir / 'locust.sqlite3'}"
    subprocess.run([str(BIN / "pnav"), "migrate"], check=True, capture_output=True, cwd=ROOT,
                   env={"PNAV_DATABASE_URL": database_url, "PNAV_ENV": "test", "PATH": str(BIN)})
    accounts_file = workdir / "operators.json"
    accounts_file.write_text(json.dumps(asyncio.run(_create_operators(database_url, args.operators))))
    accounts_file.chmod(0o600)
    seconds = _seconds(args.run_time)
    with pnav_servers(database_url, "memory://", 1, workdir, {"PNAV_VISITOR_SEND_RATE": "2"}) as processes:
        port = _port(processes[0].args)
        command = [
            str(BIN / "locust"), "-f", str(Path(__file__).resolve().parent / "locustfile.py"), "--headless",
            "--host", f"http://127.0.0.1:{port}", "--users", str(args.users), "--spawn-rate", str(args.spawn_rate),
            "--run-time", args.run_time, "--stop-timeout", "5", "--only-summary",
            "--csv", str(reports / args.prefix), "--html", str(reports / f"{args.prefix}.html"),
        ]
        env = {"PNAV_LOADTEST_OPERATORS": str(accounts_file), "PATH": str(BIN), "PYTHONPATH": str(ROOT)}
        completed = subprocess.run(command, cwd=ROOT, env=env, timeout=seconds + STOP_GRACE_SECONDS, check=False)
    print(f"reports in {reports}/{args.prefix}*")
    # locust exits 1 when any request failed; a failed connect under load is a finding, not a crash of this tool.
    return 0 if completed.returncode in (0, 1) else completed.returncode


def _seconds(run_time: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600}
    if run_time[-1] in units:
        return int(float(run_time[:-1]) * units[run_time[-1]])
    return int(run_time)


def _port(args: object) -> str:
    assert isinstance(args, list)
    return str(args[args.index("--port") + 1])


if __name__ == "__main__":
    sys.exit(main())
