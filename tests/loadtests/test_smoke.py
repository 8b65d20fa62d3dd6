"""Tiny runs of the benchmark and of the locust load test, so neither rots. No timing is asserted here."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import UNIT

ROOT = Path(__file__).resolve().parent.parent.parent

pytestmark = pytest.mark.slow


def test_bench_smoke(tmp_path: Path) -> None:
    """bench.py drives the bare relay and pnav (SQLite) through every scenario and loses no acked message."""
    completed = subprocess.run(
        [sys.executable, "-m", "loadtests.bench", "--target", "both", "--backends", "sqlite", "--tchats", "4",
         "--per-operator", "2", "--rates", "8", "--duration", "1", "--peak-duration", "1", "--storm", "4",
         "--storm-window", "1", "--hold", "3", "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120 * UNIT, check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    report = json.loads(next(tmp_path.glob("bench-*.json")).read_text())
    assert [r["target"] for r in report["results"]] == ["relay", "sqlite"]
    for result in report["results"]:
        assert result["memory"]["failed_visitors"] == 0 and result["memory"]["failed_operators"] == 0
        assert result["warm"]["lost"] == 0 and result["warm"]["delivered"] == 4
        for phase in [*result["sweep"], result["peak"]]:
            assert phase["lost"] == 0 and phase["delivered"] > 0, phase
        assert result["storm"]["replayed"] == 4 and result["storm"]["lost"] == 0
        assert result["hold"]["sample_delivered"] == result["hold"]["sample_sent"]
    assert list(tmp_path.glob("latency-*.png"))


def test_locust_smoke(tmp_path: Path) -> None:
    """The locustfile runs headless against a local pnav: visitors start tchats, an operator signs in."""
    completed = subprocess.run(
        [sys.executable, "-m", "loadtests.run_locust", "--users", "4", "--operators", "1", "--spawn-rate", "4",
         "--run-time", "6s", "--reports", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120 * UNIT, check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert (tmp_path / "pnav.html").exists()
    with (tmp_path / "pnav_stats.csv").open() as handle:
        rows = {row["Name"]: row for row in csv.DictReader(handle)}
    assert int(rows["start tchat"]["Request Count"]) > 0
    assert int(rows["start tchat"]["Failure Count"]) == 0
    assert int(rows["login"]["Request Count"]) == 1 and int(rows["login"]["Failure Count"]) == 0
