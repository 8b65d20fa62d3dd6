"""Micro-benchmark of routing: load time and postal-code lookups per second (median of several runs).

Run: python loadtests/routing_bench.py [--runs 7] [--lookups 200000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import routing
from routing.data import load_tables, tables


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--lookups", type=int, default=200_000)
    args = parser.parse_args()
    loads = []
    for _ in range(3):
        started = time.perf_counter()
        load_tables()
        loads.append(time.perf_counter() - started)
    print(f"load all data: median {statistics.median(loads) * 1000:.0f} ms over {len(loads)} loads")
    codes = sorted(tables().postal_codes)
    sample = [random.Random(seed).choice(codes) for seed in range(args.lookups)]
    rates, resolves = [], []
    for _ in range(args.runs):
        started = time.perf_counter()
        for code in sample:
            routing.lookup(code)
        rates.append(args.lookups / (time.perf_counter() - started))
        started = time.perf_counter()
        for code in sample[: args.lookups // 10]:
            routing.resolve(code, tables().postal_codes[code].communes[0].insee)
        resolves.append(args.lookups // 10 / (time.perf_counter() - started))
    print(f"lookup(): median {statistics.median(rates):,.0f} lookups/s over {args.runs} runs of {args.lookups:,}")
    print(f"resolve() with commune: median {statistics.median(resolves):,.0f} resolutions/s")


if __name__ == "__main__":
    main()
