"""`make bench`: execute each chapter once from a fresh kernel and print wall times.

Prints one row per chapter, slowest first, and the total; exits 1 if a chapter fails or
exceeds the hard ceiling (60 s). The budget is 30 s per chapter on a 2-core CPU.

Serial by default, because chapters executed side by side slow each other down and the
budget is for a chapter alone; `-j N` (`make bench JOBS=2`) runs N at once, to measure how
long executing everything takes on N cores (the total is then the wall time, not the sum).
"""
from __future__ import annotations

import argparse
import concurrent.futures
import sys
import time
from pathlib import Path

import nbformat

from kernels import notebook_client

ROOT = Path(__file__).resolve().parent.parent
BUDGET, CEILING = 30.0, 60.0


def run(path: Path) -> tuple[float, str]:
    notebook = nbformat.read(path, as_version=4)
    client = notebook_client(notebook, path, timeout=int(CEILING * 3))
    start = time.perf_counter()
    try:
        client.execute()
        status = "ok"
    except Exception as error:  # report every failure, keep timing the others
        status = f"FAILED: {type(error).__name__}"
    return time.perf_counter() - start, status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Execute each chapter once and print wall times.")
    parser.add_argument("-j", "--jobs", type=int, default=1, help="chapters executed at once (default 1)")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"-j expected a positive integer. Received: {args.jobs}")
    paths = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if not paths:
        print("no chapters found in notebooks/")
        return 1
    rows = []
    start = time.perf_counter()
    with concurrent.futures.ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(run, path): path for path in paths}
        for future in concurrent.futures.as_completed(futures):
            path = futures[future]
            seconds, status = future.result()
            rows.append((seconds, path.stem, status))
            print(f"  ran {path.stem}: {seconds:.1f} s {status}", file=sys.stderr, flush=True)
    wall = time.perf_counter() - start
    rows.sort(reverse=True)
    print(f"{'chapter':<36}{'seconds':>9}  status")
    for seconds, name, status in rows:
        flag = "" if seconds <= BUDGET else ("  over budget" if seconds <= CEILING else "  OVER CEILING")
        print(f"{name:<36}{seconds:>9.1f}  {status}{flag}")
    total = sum(row[0] for row in rows)
    print(f"{'total':<36}{total:>9.1f}  ({len(rows)} chapters, mean {total / len(rows):.1f} s)")
    if args.jobs > 1:
        print(f"{'wall time':<36}{wall:>9.1f}  ({args.jobs} at a time; each chapter's time includes the others' load)")
    bad = [row for row in rows if row[2] != "ok" or row[0] > CEILING]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
