"""`make book`: execute the chapters in parallel into the book's cache, then build the website.

Jupyter Book executes notebooks one after the other. This script first fills the execution
cache that `_config.yml` names (jupyter-cache, the store `jupyter-book` itself reads) with
jupyter-cache's `local-parallel` executor, one chapter per core, and then runs
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
import contextlib
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "book"))

import sync_toc  # noqa: E402  (book/sync_toc.py: the one reader of book/chapters.yml)


def chapter_paths() -> list[Path]:
    return [ROOT / "notebooks" / f"{chapter['slug']}.ipynb" for chapter in sync_toc.chapters() if sync_toc.existing(chapter)]


# ipykernel 7 logs this on every kernel start to the kernel's stderr, which is ours here.
KERNEL_NOTICE = "Kernel is running over TCP without encryption"


@contextlib.contextmanager
def without_kernel_notices():
    """Hold back what the kernels write to stderr while they run, then pass it on without
    ipykernel's start-up notice (a line per chapter that says nothing about the chapter)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            for line in held.read().decode(errors="replace").splitlines(keepends=True):
                if KERNEL_NOTICE not in line:
                    sys.stderr.write(line)


def is_cached(cache, path: str) -> bool:
    import nbformat

    try:
        cache.match_cache_notebook(nbformat.read(path, as_version=4))
    except KeyError:
        return False
    return True


def fill_cache() -> dict[str, list[str]]:
    """Execute, in parallel, every chapter the cache has no outputs for; return what happened."""
    from jupyter_cache import get_cache
    from jupyter_cache.executors import load_executor

    config = yaml.safe_load((ROOT / "_config.yml").read_text())["execute"]
    cache = get_cache(str(ROOT / config["cache"]))
    paths = [str(path) for path in chapter_paths()]
    missing = [path for path in paths if not is_cached(cache, path)]
    if not missing:  # `make test` after nbval, or a warm `make book`: nothing to execute
        return {"executed": [], "failed": [], "reused": paths}
    for path in paths:
        cache.add_nb_to_project(path)
    logger = logging.getLogger("book.build")
    logger.setLevel(logging.WARNING)
    executor = load_executor("local-parallel", cache=cache, logger=logger)
    with without_kernel_notices():
        result = executor.run_and_cache(filter_uris=missing, timeout=config["timeout"], allow_errors=False)
    executed = set(result.succeeded) | set(result.excepted) | set(result.errored)
    return {"executed": sorted(result.succeeded), "failed": sorted(set(result.excepted) | set(result.errored)),
            "reused": sorted(set(paths) - executed)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-build", action="store_true", help="only execute the chapters into the cache")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    outcome = fill_cache()
    seconds = time.perf_counter() - start
    print(f"book: executed {len(outcome['executed'])} chapters in parallel on {os.cpu_count()} cores "
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
