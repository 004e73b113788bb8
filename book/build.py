"""`make book`: execute the chapters in parallel into the book's cache, then build the website.

Jupyter Book executes notebooks one after the other. This script first fills the execution
cache that `_config.yml` names (jupyter-cache, the store `jupyter-book` itself reads), one
chapter per core, each chapter handed to whichever worker is free and executed by
jupyter-cache's own worker in a fresh kernel; then it runs
`jupyter-book build . -W -n --keep-going`, which takes every chapter's outputs from the cache.

Nothing is weakened by the first step: a chapter whose execution fails there is not cached,
so `jupyter-book` executes it again itself and the build fails on it as it always did (a
failing cell, stderr output and broken references are errors under `-W`). A chapter whose
code is unchanged is not executed at all, so a warm build only renders. In `make test` the
cache is already full when this runs: nbval's run of each chapter was stored in it
(tests/nbval_book_cache.py), so the website step executes nothing.

    python book/build.py            # what `make book` runs
    python book/build.py --no-build # only fill the cache
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "book"))
sys.path.insert(0, str(ROOT / "tests"))

import sync_toc  # noqa: E402  (book/sync_toc.py: the one reader of book/chapters.yml)
from kernels import kernel_config  # noqa: E402  (tests/kernels.py: how every tool starts a kernel)


def chapter_paths() -> list[Path]:
    return [ROOT / "notebooks" / f"{chapter['slug']}.ipynb" for chapter in sync_toc.chapters() if sync_toc.existing(chapter)]


def is_cached(cache, path: str) -> bool:
    import nbformat

    try:
        cache.match_cache_notebook(nbformat.read(path, as_version=4))
    except KeyError:
        return False
    return True


def share_cores(threads: int) -> None:
    """Give each worker's kernels `threads` BLAS and TensorFlow threads, so that the chapters
    executing side by side share the cores instead of each claiming all of them (measured on
    2 cores: 115-117 s instead of 124 s for 22 chapters). With one thread each this is the
    `threads-1` environment of `make robustness`, which every chapter passes."""
    os.environ["OPENBLAS_NUM_THREADS"] = os.environ["TF_NUM_INTRAOP_THREADS"] = str(threads)


def execute_one(task) -> tuple[int, str]:
    """Execute one chapter in a fresh kernel and store it in the cache (0), or say it failed."""
    from jupyter_cache.executors.basic import ExecutionWorkerLocalMProc
    from jupyter_cache.executors.utils import single_nb_execution

    class Worker(ExecutionWorkerLocalMProc):  # jupyter-cache's worker, with the course's kernels
        @staticmethod
        def execute(project_nb, data):
            return single_nb_execution(project_nb.nb, cwd=str(Path(project_nb.uri).parent), timeout=data.timeout,
                                       allow_errors=data.allow_errors, config=kernel_config())

    return Worker()(task)


def fill_cache(jobs: int | None = None) -> dict[str, list[str]]:
    """Execute, `jobs` at a time (default: one per core), every chapter the cache has no
    outputs for; return what happened."""
    from jupyter_cache import get_cache
    from jupyter_cache.executors.basic import ProcessData

    config = yaml.safe_load((ROOT / "_config.yml").read_text())["execute"]
    cache = get_cache(str(ROOT / config["cache"]))
    paths = [str(path) for path in chapter_paths()]
    missing = [path for path in paths if not is_cached(cache, path)]
    if not missing:  # `make test` after nbval, or a warm `make book`: nothing to execute
        return {"executed": [], "failed": [], "reused": paths}
    for path in paths:
        cache.add_nb_to_project(path)
    records = {record.uri: record for record in cache.list_project_records()}
    tasks = [ProcessData(records[path].pk, path, cache, config["timeout"], False) for path in missing]
    jobs = min(jobs or os.cpu_count() or 1, len(tasks))
    threads = max(1, (os.cpu_count() or 1) // jobs)
    with multiprocessing.Pool(jobs, share_cores, (threads,)) as pool:
        # One chapter per task (chunksize 1), handed to whichever worker is free.
        # jupyter-cache's own `local-parallel` executor uses `Pool.map`, which deals the
        # chapters out in fixed chunks of three, so one worker could sit idle while the
        # other still had two long chapters queued.
        results = list(pool.imap_unordered(execute_one, tasks, chunksize=1))
    succeeded = [uri for code, uri in results if code == 0]
    failed = [uri for code, uri in results if code != 0]
    return {"executed": sorted(succeeded), "failed": sorted(failed), "reused": sorted(set(paths) - set(missing))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-build", action="store_true", help="only execute the chapters into the cache")
    parser.add_argument("-j", "--jobs", type=int, default=None, help="chapters executed at once (default: one per core)")
    args = parser.parse_args(argv)
    if args.jobs is not None and args.jobs < 1:
        parser.error(f"-j expected a positive integer. Received: {args.jobs}")

    start = time.perf_counter()
    outcome = fill_cache(args.jobs)
    seconds = time.perf_counter() - start
    print(f"book: executed {len(outcome['executed'])} chapters, {args.jobs or os.cpu_count()} at a time, "
          f"in {seconds:.0f} s, {len(outcome['reused'])} unchanged and taken from the cache", flush=True)
    for path in outcome["failed"]:
        print(f"book: {Path(path).name} failed in the parallel run; jupyter-book executes it again and reports why",
              flush=True)
    if args.no_build:
        return 0
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    build = subprocess.run([str(jupyter_book), "build", ".", "-W", "-n", "--keep-going"], cwd=ROOT,
                           env={**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1"})
    print(f"book: whole build {time.perf_counter() - start:.0f} s", flush=True)
    return build.returncode


if __name__ == "__main__":
    sys.exit(main())
