"""What every benchmark script shares: ``--quick``, quiet crash logs, and the report lines."""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Awaitable, Callable

import trio

Rows = list[tuple[str, bool]]


def run_bench(name: str, description: str, bench: Callable[[bool], Awaitable[Rows]]) -> None:
    """Run ``bench(quick)`` under trio and print one PASS/MISS line per figure, then a summary line."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="a reduced run (< 45 s) printing the same ratios")
    args = parser.parse_args()
    logging.getLogger("scope_ext").setLevel(logging.CRITICAL)  # deliberate crashes are part of the runs
    started = time.perf_counter()
    rows = trio.run(bench, args.quick)
    for text, ok in rows:
        print(f"{'PASS' if ok else 'MISS'}  {text}")
    passed = sum(ok for _, ok in rows)
    print(
        f"{name} bench{' (quick)' if args.quick else ''}: {passed}/{len(rows)} targets met "
        f"in {time.perf_counter() - started:.1f} s"
    )
