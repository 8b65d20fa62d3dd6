"""Render the figures the fault and security tests recorded (var/security/results.json) into SECURITY.md.

    .venv/bin/python -m tests.faults.report   # after `make test` (or pytest tests/faults tests/security)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from chat.settings import PROJECT_ROOT
from tests.faults.results import RESULTS

SECURITY = PROJECT_ROOT / "SECURITY.md"
BEGIN, END = "<!-- figures:begin (tests/faults/report.py) -->", "<!-- figures:end -->"


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def table(rows: dict[str, dict[str, object]]) -> str:
    lines = ["| panne ou attaque | charge tenue | entrées essayées | acquittés | livrés | perdus | résultat | durée |",
             "| --- | --- | --- | ---: | ---: | ---: | --- | ---: |"]
    for key in sorted(rows):
        row = rows[key]
        lines.append("| " + " | ".join(_cell(row[k]) for k in ("fault", "load", "inputs", "acknowledged",
                                                                 "delivered", "lost", "result"))
                     + f" | {row.get('seconds') or '—'} s |".replace("— s", "—"))
    dates = sorted(str(r.get("recorded_at", "")) for r in rows.values())
    return "\n".join(lines) + f"\n\nMesuré du {dates[0]} au {dates[-1]} (UTC) ; chaque ligne est écrite par son test.\n"


def render(document: str, rows: dict[str, dict[str, object]]) -> str:
    before, rest = document.split(BEGIN, 1)
    _, after = rest.split(END, 1)
    return f"{before}{BEGIN}\n{table(rows)}{END}{after}"


def main() -> int:
    if not RESULTS.exists():
        print(f"no figures at {RESULTS}: run pytest tests/faults tests/security first", file=sys.stderr)
        return 1
    rows: dict[str, dict[str, object]] = json.loads(RESULTS.read_text())
    bad = [key for key, row in rows.items() if row["lost"] != 0]
    SECURITY.write_text(render(Path(SECURITY).read_text(), rows))
    print(f"SECURITY.md: {len(rows)} rows" + (f", LOSSES in {bad}" if bad else ", nothing lost"))
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
