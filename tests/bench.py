"""`make bench`: execute each chapter once from a fresh kernel and print wall times.

Prints one row per chapter, slowest first, and the total; exits 1 if a chapter fails or
exceeds the hard ceiling (60 s). The budget is 30 s per chapter on a 2-core CPU.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
BUDGET, CEILING = 30.0, 60.0


def run(path: Path) -> tuple[float, str]:
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=int(CEILING * 3), kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    try:
        client.execute()
        status = "ok"
    except Exception as error:  # report every failure, keep timing the others
        status = f"FAILED: {type(error).__name__}"
    return time.perf_counter() - start, status


def main() -> int:
    paths = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if not paths:
        print("no chapters found in notebooks/")
        return 1
    rows = []
    for path in paths:
        seconds, status = run(path)
        rows.append((seconds, path.stem, status))
        print(f"  ran {path.stem}: {seconds:.1f} s {status}", file=sys.stderr, flush=True)
    rows.sort(reverse=True)
    print(f"{'chapter':<36}{'seconds':>9}  status")
    for seconds, name, status in rows:
        flag = "" if seconds <= BUDGET else ("  over budget" if seconds <= CEILING else "  OVER CEILING")
        print(f"{name:<36}{seconds:>9.1f}  {status}{flag}")
    total = sum(row[0] for row in rows)
    print(f"{'total':<36}{total:>9.1f}  ({len(rows)} chapters, mean {total / len(rows):.1f} s)")
    bad = [row for row in rows if row[2] != "ok" or row[0] > CEILING]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
