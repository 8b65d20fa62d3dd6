"""Figures the fault and security tests measure, kept in var/security/results.json for tests/faults/report.py."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from chat.settings import VAR_DIR

RESULTS = Path(os.environ.get("PNAV_SECURITY_RESULTS", str(VAR_DIR / "security" / "results.json")))


@dataclass
class Row:
    key: str  # stable id, also the order of the table
    fault: str  # what was done to the system (French or English, short)
    load: str  # what load was held meanwhile
    inputs: str  # what was tried
    acknowledged: int  # messages acknowledged to clients (or requests/inputs sent, for floods)
    delivered: int  # of those, delivered and in the database (or handled without 5xx)
    lost: int  # acknowledged but missing, duplicated deliveries, or 5xx/crashes
    result: str  # one sentence
    seconds: float = 0.0


def record(row: Row) -> None:
    """Merge one row into the results file (one row per key; the latest run wins)."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    rows: dict[str, dict[str, object]] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    rows[row.key] = {**asdict(row), "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    tmp = RESULTS.with_suffix(".tmp")
    tmp.write_text(json.dumps(rows, indent=2, ensure_ascii=False, sort_keys=True))
    tmp.replace(RESULTS)
