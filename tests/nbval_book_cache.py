"""A pytest plugin: each chapter that nbval runs without an error goes into the book's cache.

`make test` loads it (`pytest -p nbval_book_cache ...`). nbval executes every chapter in the
course's environment to prove that it runs; this plugin keeps the outputs of that run and
stores the executed notebook in the execution cache that `_config.yml` names (jupyter-cache,
the store `jupyter-book` reads), exactly as jupyter-cache's own executor would. The website
step that follows then renders every chapter from the cache instead of executing it again,
so `make test` executes each chapter once.

Nothing is weakened: a chapter with a failing cell is not stored, so the website step
executes it itself and fails on it; stderr output in a stored chapter still fails the
`-W` build, and the cache key is jupyter-cache's hash of the code cells, so an edited
chapter is never rendered from an old run.
"""
from __future__ import annotations

import copy
import time
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"


def cache_directory() -> Path:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())["execute"]
    return ROOT / config["cache"]


def executed_notebook(notebook: nbformat.NotebookNode, outputs: dict[int, list], name: str) -> nbformat.NotebookNode:
    """A copy of the notebook nbval ran (as it read it, even if the file has changed since) with
    the outputs nbval recorded, cell by cell (code cells in order)."""
    notebook = copy.deepcopy(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    if sorted(outputs) != list(range(len(code))):
        raise ValueError(f"expected outputs for the {len(code)} code cells of {name}. Received: cells {sorted(outputs)}")
    for number, cell in enumerate(code):
        cell.outputs = [nbformat.from_dict(dict(output)) for output in outputs[number]]
        cell.execution_count = number + 1
        for output in cell.outputs:
            if output.output_type == "execute_result":
                output.execution_count = number + 1
    nbformat.validate(notebook)
    return notebook


def store(path: Path, notebook: nbformat.NotebookNode, seconds: float, directory: Path | None = None,
          attempts: int = 5) -> None:
    """Put an executed notebook into the book's cache (two test workers may write at once)."""
    from jupyter_cache import get_cache
    from jupyter_cache.cache.main import CacheBundleIn

    for attempt in range(attempts):
        try:
            cache = get_cache(str(directory or cache_directory()))
            cache.cache_notebook_bundle(CacheBundleIn(notebook, str(path), data={"execution_seconds": seconds}),
                                        check_validity=False, overwrite=True)
            return
        except Exception:  # SQLite "database is locked" while the other worker writes
            if attempt == attempts - 1:
                raise
            time.sleep(0.5 * (attempt + 1))


class _Run:
    def __init__(self, code_cells: int):
        self.code_cells = code_cells
        self.outputs: dict[int, list] = {}
        self.failed = False
        self.start: float | None = None


_runs: dict[str, _Run] = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    parent = getattr(item, "parent", None)
    if not (hasattr(item, "cell_num") and hasattr(parent, "nb")):
        return  # not an nbval cell
    path = Path(str(parent.fspath)).resolve()
    if path.parent != NOTEBOOKS:
        return
    run = _runs.setdefault(str(path), _Run(sum(cell.cell_type == "code" for cell in parent.nb.cells)))
    if call.when == "setup" and item.cell_num == 0:
        run.start = call.start  # includes starting the kernel, as jupyter-cache's timing does
    if report.failed or report.skipped:
        run.failed = True
    if call.when != "call" or run.failed:
        return
    run.outputs[item.cell_num] = list(getattr(item, "test_outputs", []))
    if item.cell_num == run.code_cells - 1 and len(run.outputs) == run.code_cells:
        seconds = call.stop - (run.start if run.start is not None else call.start)
        store(path, executed_notebook(parent.nb, run.outputs, path.name), seconds)
        del _runs[str(path)]
