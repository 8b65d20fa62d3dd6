"""Lighthouse 12 (mobile preset: simulated slow 4G, 4× CPU slowdown) on the visitor pages of a running pnav.

Runs the pinned ``lighthouse`` of ``package.json`` (``node_modules/.bin/lighthouse``) with the system Chromium
(``CHROME_PATH``, /usr/bin/chromium by default) against each page, ``--runs`` times, and prints one Markdown row
per page with the median scores, first contentful paint, largest contentful paint and the bytes transferred by
kind (document, stylesheets, scripts, fonts). ``--label`` names the column of a before/after table; ``--json``
keeps the medians for a later table.

Run: python -m loadtests.lighthouse --base http://127.0.0.1:8000 --label after
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LIGHTHOUSE = ROOT / "node_modules" / ".bin" / "lighthouse"
PAGES = ("/", "/commencer", "/tchat", "/suivi")
CATEGORIES = ("performance", "accessibility", "best-practices")
ATTEMPTS = 3
KINDS = {"Document": "html", "Stylesheet": "css", "Script": "js", "Font": "fonts"}


def run_once(url: str, out: Path) -> dict[str, Any]:
    """One Lighthouse run of ``url`` (mobile preset is Lighthouse's default), its JSON report parsed."""
    env = {**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH", "/usr/bin/chromium")}
    for attempt in range(ATTEMPTS):
        # Lighthouse sometimes fails to record a trace on a busy machine (NO_NAVSTART): run that page again.
        done = subprocess.run(
            [str(LIGHTHOUSE), url, "--quiet", "--output=json", f"--output-path={out}",
             f"--only-categories={','.join(CATEGORIES)}",
             "--chrome-flags=--headless=new --no-sandbox --disable-gpu"],
            check=attempt == ATTEMPTS - 1, env=env, timeout=180)
        if done.returncode == 0:
            break
    return dict(json.loads(out.read_text(encoding="utf-8")))


def measures(report: dict[str, Any]) -> dict[str, float]:
    """Scores (0–100), FCP and LCP (ms), and transferred bytes in total and per kind of resource."""
    audits = report["audits"]
    found: dict[str, float] = {name: round(100 * (report["categories"][name]["score"] or 0)) for name in CATEGORIES}
    found["fcp_ms"] = audits["first-contentful-paint"]["numericValue"]
    found["lcp_ms"] = audits["largest-contentful-paint"]["numericValue"]
    found["total_bytes"] = audits["total-byte-weight"]["numericValue"]
    per_kind = dict.fromkeys(KINDS.values(), 0.0)
    for request in audits["network-requests"]["details"]["items"]:
        kind = KINDS.get(request.get("resourceType", ""))
        if kind:
            per_kind[kind] += request.get("transferSize", 0)
    found.update({f"{kind}_bytes": value for kind, value in per_kind.items()})
    return found


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def row(label: str, page: str, m: dict[str, float]) -> str:
    kib = {key: f"{m[key] / 1024:.1f}" for key in m if key.endswith("_bytes")}
    return (f"| {label} | `{page}` | {m['performance']:.0f} | {m['fcp_ms'] / 1000:.2f} s | {m['lcp_ms'] / 1000:.2f} s "
            f"| {m['accessibility']:.0f} | {m['best-practices']:.0f} | {kib['total_bytes']} | {kib['html_bytes']} "
            f"| {kib['css_bytes']} | {kib['js_bytes']} | {kib['fonts_bytes']} |")


HEADER = ("| code | page | perf | FCP | LCP | a11y | best practices | KiB transferred | HTML | CSS | JS | fonts |\n"
          "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--base", default="http://127.0.0.1:8000", help="a running pnav")
    parser.add_argument("--label", default="pnav", help="first column of the rows (e.g. before, after)")
    parser.add_argument("--runs", type=int, default=3, help="runs per page; the rows show medians")
    parser.add_argument("--json", help="also write the medians here")
    args = parser.parse_args(argv)
    if not LIGHTHOUSE.exists():
        print("lighthouse is not installed: run `npm ci` (package.json pins it)", file=sys.stderr)
        return 1
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for page in PAGES:
            runs = [measures(run_once(args.base.rstrip("/") + page, Path(tmp) / f"{n}.json"))
                    for n in range(args.runs)]
            results[page] = median_of(runs)
    print(HEADER)
    for page, m in results.items():
        print(row(args.label, page, m))
    if args.json:
        Path(args.json).write_text(json.dumps({"label": args.label, "pages": results}, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
