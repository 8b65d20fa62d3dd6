"""Markdown tables from one or more bench JSON files (what BENCHMARKS.md shows).

Run: python -m loadtests.report loadtests/results/bench-*.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def _ms(value: float) -> str:
    if value != value:  # NaN is the only value unequal to itself: no sample
        return "–"
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def tables(report: dict[str, Any]) -> str:
    results = report["results"]
    relay = next((r for r in results if r["target"].startswith("relay")), None)
    lines = ["| target | offered msg/s | achieved msg/s | p50 ms | p95 ms | p99 ms | max ms | p99 ÷ relay p99 "
             "| lost | errors | server CPU % | bench CPU % |", "|" + "---|" * 12]
    for result in results:
        for index, step in enumerate(result.get("sweep", [])):
            lat = step["latency_ms"]
            ratio = "–"
            if relay is not None and index < len(relay.get("sweep", [])):
                base = relay["sweep"][index]["latency_ms"]["p99"]
                ratio = f"{lat['p99'] / base:.1f}×" if base == base and base > 0 else "–"
            lines.append(f"| {result['target']} | {step['offered_msg_s']:.0f} | {step['throughput_msg_s']:.0f} | "
                         f"{_ms(lat['p50'])} | {_ms(lat['p95'])} | {_ms(lat['p99'])} | {_ms(lat['max'])} | {ratio} | "
                         f"{step['lost']} | {sum(step['errors'].values())} | {step['server_cpu_pct']:.0f} | "
                         f"{step['bench_cpu_pct']:.0f} |")
    out = ["### Open-loop sweep (delivery latency, both directions)", "", *lines, ""]
    peak = ["| target | persisted msg/s | % of relay | p50 ms | p99 ms | lost | stalls | server CPU % |",
            "|" + "---|" * 8]
    relay_peak = relay["peak"]["throughput_msg_s"] if relay is not None and "peak" in relay else None
    for result in results:
        if "peak" not in result:
            continue
        step = result["peak"]
        share = f"{100 * step['throughput_msg_s'] / relay_peak:.0f}%" if relay_peak else "–"
        peak.append(f"| {result['target']} | {step['throughput_msg_s']:.0f} | {share} | "
                    f"{_ms(step['latency_ms']['p50'])} | {_ms(step['latency_ms']['p99'])} | {step['lost']} | "
                    f"{step.get('stalls', 0)} | {step['server_cpu_pct']:.0f} |")
    out += ["### Peak (closed loop, one message in flight per tchat)", "", *peak, ""]
    memory = ["| target | visitor sockets | consoles | KiB / visitor socket | KiB / console | KiB / socket (all) |",
              "|" + "---|" * 6]
    for result in results:
        m = result["memory"]
        memory.append(f"| {result['target']} | {m['visitor_sockets']} | {m['operator_sockets']} | "
                      f"{m['kib_per_visitor_socket']:.1f} | {m['kib_per_operator_socket']:.1f} | "
                      f"{m['kib_per_socket']:.1f} |")
    out += ["### Idle memory (server RSS delta)", "", *memory, ""]
    storm = ["| target | visitors | window s | all back after s | replayed | lost | failed | handshake p50 ms "
             "| handshake p99 ms |", "|" + "---|" * 9]
    for result in results:
        if "storm" not in result:
            continue
        s = result["storm"]
        storm.append(f"| {result['target']} | {s['visitors']} | {s['window_s']:.0f} | {s['span_s']:.1f} | "
                     f"{s['replayed']} | {s['lost']} | {s['failures']} | {_ms(s['handshake_ms']['p50'])} | "
                     f"{_ms(s['handshake_ms']['p99'])} |")
    out += ["### Reconnect storm", "", *storm, ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    for name in argv if argv is not None else sys.argv[1:]:
        report = json.loads(Path(name).read_text())
        print(f"## {Path(name).name} — {report['environment']['started']}, load average "
              f"{', '.join(f'{x:.1f}' for x in report['environment']['load_avg'])}\n")
        print(tables(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
