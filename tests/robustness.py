"""`make robustness`: execute chapters in floating-point environments that stand in for other machines.

A reader's laptop runs other BLAS kernels, another thread count, maybe another seed. This
script executes each chapter (from a fresh kernel, as nbval does) under a matrix of such
environments, two at a time so that both cores are busy, and prints a table chapter ×
environment: ``pass``, or what failed (the cell and its assertion, an error, or stderr output).

Environments (``--envs`` picks some; ``python tests/robustness.py --list`` prints them):

- ``default``, ``repeat``: the machine as it is, twice; the two executions must print the
  same outputs (text and figures), except in cells tagged ``timing``.
- ``prescott``, ``haswell``, ``skylakex``: NumPy's OpenBLAS forced to a generic SSE3, an AVX2
  and an AVX-512 kernel family with ``OPENBLAS_CORETYPE`` (x86-64 with OpenBLAS only; a
  family the CPU cannot run is reported ``n/a``, never executed).
- ``threads-1``, ``threads-4``: ``OPENBLAS_NUM_THREADS`` and ``TF_NUM_INTRAOP_THREADS`` at 1
  and at 4 (summation order changes with the thread count).
- ``seed-1``, ``seed-2``: ``NNLIB_SEED`` replaces the seed the chapter passes to
  ``nnlib.seed_everything``, so every random stream the chapter derives from it changes.

Executed copies are written to ``_build/robustness/<environment>/<chapter>.ipynb`` (read
them to see the spread of a printed number), the table also to
``_build/robustness/summary.md``. Exit status 1 if anything failed.

    make robustness                              # every chapter, every environment
    make robustness CHAPTERS="16 23"             # some chapters
    make robustness CHAPTERS=16 ENVS="seed-1 seed-2"
"""
from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
OUT = ROOT / "_build" / "robustness"
CELL_TIMEOUT = 600  # seconds; generous because other jobs share the cores
TIMING_TAG = "timing"

ENVIRONMENTS: dict[str, dict[str, str]] = {
    "default": {},
    "repeat": {},
    "prescott": {"OPENBLAS_CORETYPE": "Prescott"},
    "haswell": {"OPENBLAS_CORETYPE": "Haswell"},
    "skylakex": {"OPENBLAS_CORETYPE": "SkylakeX"},
    "threads-1": {"OPENBLAS_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1"},
    "threads-4": {"OPENBLAS_NUM_THREADS": "4", "TF_NUM_INTRAOP_THREADS": "4"},
    "seed-1": {"NNLIB_SEED": "1"},
    "seed-2": {"NNLIB_SEED": "2"},
}
# The CPU feature each OpenBLAS kernel family needs (its name in /proc/cpuinfo's flags).
CORETYPE_NEEDS = {"Prescott": "sse3", "Haswell": "avx2", "SkylakeX": "avx512f"}
# What OpenBLAS reports once it runs a family: builds without separate Prescott-class kernels
# run the generic x86-64 ones for Prescott and name them after the first alias, Katmai.
CORETYPE_REPORTS = {"Prescott": {"prescott", "katmai"}, "Haswell": {"haswell"}, "SkylakeX": {"skylakex"}}
ANSI = re.compile(r"\x1b\[[0-9;]*m")


# ---------------------------------------------------------------- which environments apply here
def cpu_flags() -> set[str] | None:
    """The CPU's feature flags in lower case, or None where this script cannot read them."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
        return None
    if platform.system() == "Darwin":
        words = []
        for key in ("machdep.cpu.features", "machdep.cpu.leaf7_features"):
            result = subprocess.run(["sysctl", "-n", key], capture_output=True, text=True)
            words += result.stdout.lower().replace(".", "_").split()
        return {"sse3" if word == "sse3" else word for word in words} if words else None
    return None


def numpy_blas() -> str:
    """The BLAS NumPy uses here, as threadpoolctl reports it (e.g. 'openblas')."""
    probe = "import numpy, threadpoolctl; print(' '.join(i['internal_api'] for i in threadpoolctl.threadpool_info()))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    return result.stdout.strip()


def openblas_architecture(coretype: str) -> str:
    """The kernel family OpenBLAS reports when started with OPENBLAS_CORETYPE=coretype."""
    probe = ("import numpy, threadpoolctl; "
             "print(next(i.get('architecture', '') for i in threadpoolctl.threadpool_info() if i['internal_api'] == 'openblas'))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            env={**os.environ, "OPENBLAS_CORETYPE": coretype})
    return result.stdout.strip()


def unavailable_environments() -> dict[str, str]:
    """Environment name -> why it cannot run on this machine."""
    coretype_envs = {name: env["OPENBLAS_CORETYPE"] for name, env in ENVIRONMENTS.items() if "OPENBLAS_CORETYPE" in env}
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return {name: f"OpenBLAS x86 kernels need an x86-64 CPU (this is {platform.machine()})" for name in coretype_envs}
    if "openblas" not in numpy_blas().split():
        return {name: f"NumPy does not use OpenBLAS here ({numpy_blas() or 'unknown BLAS'})" for name in coretype_envs}
    flags = cpu_flags()
    missing = {}
    for name, coretype in coretype_envs.items():
        needed = CORETYPE_NEEDS[coretype]
        if flags is None and needed != "sse3":
            missing[name] = f"cannot read the CPU's flags to check for {needed}"
        elif flags is not None and needed not in flags and not (needed == "sse3" and "pni" in flags):
            missing[name] = f"the CPU lacks {needed}"
        elif openblas_architecture(coretype).lower() not in CORETYPE_REPORTS[coretype]:
            missing[name] = f"OpenBLAS did not switch to {coretype} (it reports {openblas_architecture(coretype)!r})"
    return missing


# ---------------------------------------------------------------- one execution (in a child process)
def execute(path: Path, output: Path) -> dict:
    """Execute one notebook in a fresh kernel; write the executed copy; return what happened."""
    import nbformat
    from nbclient.exceptions import CellExecutionError

    from kernels import notebook_client

    for attempt in (1, 2):  # a kernel that dies while starting (it happened with TCP ports) gets one retry
        notebook = nbformat.read(path, as_version=4)
        client = notebook_client(notebook, path, timeout=CELL_TIMEOUT)
        start = time.perf_counter()
        result = {"status": "pass", "detail": ""}
        try:
            client.execute()
        except CellExecutionError:
            result = {"status": "fail", "detail": describe_error(notebook)}
        except Exception as error:  # kernel died, timeout, ...
            started = any(cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")
            result = {"status": "fail", "detail": f"{type(error).__name__}: {str(error).strip().splitlines()[0][:160] if str(error).strip() else ''}"}
            if attempt == 1 and not started:
                continue
        result["seconds"] = time.perf_counter() - start
        break
    if result["status"] == "pass":
        stderr = first_stderr(notebook)
        if stderr:
            result = {**result, "status": "fail", "detail": stderr}
    output.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, output)
    return result


def code_cells(notebook) -> list[tuple[int, dict]]:
    """(number among code cells, counted from 1 as JupyterLab's In[] would, cell)."""
    return list(enumerate((cell for cell in notebook["cells"] if cell["cell_type"] == "code"), start=1))


def describe_error(notebook) -> str:
    for number, cell in code_cells(notebook):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                traceback = [ANSI.sub("", line) for line in output.get("traceback", [])]
                text = "\n".join(traceback)
                marked = [line.split("-->", 1)[1].strip() for line in text.splitlines() if re.match(r"^\s*-+>", line)]
                where = re.sub(r"^\d+\s+", "", marked[-1] if output["ename"] != "AssertionError" or not marked else marked[0])
                value = f": {output['evalue']}" if output.get("evalue") else ""
                return f"code cell {number}: {output['ename']}{value[:120]} at `{where[:160]}`" if marked else \
                    f"code cell {number}: {output['ename']}{value[:160]}"
    return "a cell failed (no error output found)"


def first_stderr(notebook) -> str:
    for number, cell in code_cells(notebook):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                line = next((text for text in output["text"].splitlines() if text.strip()), "")
                return f"code cell {number}: stderr: {line.strip()[:160]}"
    return ""


# ---------------------------------------------------------------- determinism
def fingerprint(cell) -> list[str]:
    """What a reader sees of one cell's outputs: text exactly, images by hash."""
    seen, streams = [], {"stdout": "", "stderr": ""}  # a stream arrives in chunks that differ run to run
    for output in cell.get("outputs", []):
        kind = output.get("output_type")
        if kind == "stream":
            streams[output["name"]] += output["text"]
        elif kind in ("execute_result", "display_data"):
            for mime, data in sorted(output.get("data", {}).items()):
                text = data if isinstance(data, str) else "".join(data) if isinstance(data, list) else json.dumps(data)
                seen.append(f"{mime}: {hashlib.sha256(text.encode()).hexdigest()[:16]}" if mime.startswith("image/") else f"{mime}: {text}")
        elif kind == "error":
            seen.append(f"error: {output.get('ename')}: {output.get('evalue')}")
    return [f"{name}: {line}" for name, text in streams.items() for line in text.splitlines()] + seen


def first_difference(first: Path, second: Path) -> str:
    """'' when the two executed copies show the same outputs outside `timing` cells."""
    import nbformat

    a, b = (nbformat.read(path, as_version=4) for path in (first, second))
    for (number, cell_a), (_, cell_b) in zip(code_cells(a), code_cells(b), strict=True):
        if TIMING_TAG in cell_a.get("metadata", {}).get("tags", []):
            continue
        seen_a, seen_b = fingerprint(cell_a), fingerprint(cell_b)
        if seen_a != seen_b:
            for line_a, line_b in zip("\n".join(seen_a).splitlines(), "\n".join(seen_b).splitlines()):
                if line_a != line_b:
                    return f"code cell {number} differs between two runs: {line_a[:70]!r} vs {line_b[:70]!r}"
            return f"code cell {number} differs between two runs (different number of output lines)"
    return ""


# ---------------------------------------------------------------- the sweep
def chapters(selection: list[str]) -> list[Path]:
    paths = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if not selection:
        return paths
    chosen = []
    for word in selection:
        matches = [path for path in paths if path.stem == word or path.stem.split("_")[0] == f"{word:0>2}"]
        if not matches:
            raise SystemExit(f"CHAPTERS expected chapter numbers or notebook names in notebooks/. Received: {word!r}")
        chosen += [path for path in matches if path not in chosen]
    return chosen


def run_one(path: Path, env_name: str) -> dict:
    output = OUT / env_name / path.name
    result_file = OUT / env_name / f"{path.stem}.json"
    result_file.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **ENVIRONMENTS[env_name]}
    child = subprocess.run([sys.executable, __file__, "--execute", str(path), str(output), str(result_file)],
                           env=env, capture_output=True, text=True)
    if child.returncode != 0 or not result_file.exists():
        last = (child.stderr.strip().splitlines() or ["no output"])[-1]
        return {"status": "fail", "detail": f"the runner crashed: {last[:160]}", "seconds": 0.0}
    return json.loads(result_file.read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chapters", nargs="*", default=[], help="chapter numbers or notebook names (default: all)")
    parser.add_argument("--envs", nargs="*", default=[], help=f"environments (default: all of {', '.join(ENVIRONMENTS)})")
    parser.add_argument("--workers", type=int, default=2, help="executions at once (default 2: both cores busy)")
    parser.add_argument("--list", action="store_true", help="print the environments and exit")
    parser.add_argument("--execute", nargs=3, metavar=("NOTEBOOK", "OUTPUT", "RESULT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.execute:
        notebook, output, result_file = map(Path, args.execute)
        Path(result_file).write_text(json.dumps(execute(notebook, output)))
        return 0
    selection = [word for value in args.chapters for word in value.split()]
    env_names = [word for value in args.envs for word in value.split()] or list(ENVIRONMENTS)
    unknown = [name for name in env_names if name not in ENVIRONMENTS]
    if unknown:
        raise SystemExit(f"ENVS expected names from {list(ENVIRONMENTS)}. Received: {unknown}")
    if args.list:
        for name, env in ENVIRONMENTS.items():
            print(f"{name:<11} {' '.join(f'{k}={v}' for k, v in env.items()) or '(the machine as it is)'}")
        return 0
    if args.workers < 1:
        raise SystemExit(f"--workers expected a positive integer. Received: {args.workers}")

    start = time.perf_counter()
    paths = chapters(selection)
    skipped = {name: why for name, why in unavailable_environments().items() if name in env_names}
    runnable = [name for name in env_names if name not in skipped]
    jobs = [(path, name) for path in paths for name in runnable]
    print(f"robustness: {len(paths)} chapters x {len(runnable)} environments = {len(jobs)} executions, "
          f"{args.workers} at a time", file=sys.stderr, flush=True)
    results: dict[tuple[str, str], dict] = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.workers) as pool:
        futures = {pool.submit(run_one, path, name): (path, name) for path, name in jobs}
        for done, future in enumerate(concurrent.futures.as_completed(futures), start=1):
            path, name = futures[future]
            results[path.stem, name] = result = future.result()
            print(f"  [{done}/{len(jobs)}] {path.stem} {name}: {result['status']} ({result['seconds']:.0f} s)"
                  + (f" {result['detail']}" if result["detail"] else ""), file=sys.stderr, flush=True)
    if "default" in runnable and "repeat" in runnable:
        for path in paths:
            first, again = results[path.stem, "default"], results[path.stem, "repeat"]
            if first["status"] == again["status"] == "pass":
                difference = first_difference(OUT / "default" / path.name, OUT / "repeat" / path.name)
                if difference:
                    results[path.stem, "repeat"] = {**again, "status": "fail", "detail": difference}

    table = summary(paths, env_names, results, skipped, time.perf_counter() - start)
    print(table)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "summary.md").write_text(table + "\n")
    return 1 if any(result["status"] != "pass" for result in results.values()) else 0


def summary(paths, env_names, results, skipped, seconds) -> str:
    width = max(len(path.stem) for path in paths)
    header = f"| {'chapter':<{width}} | " + " | ".join(env_names) + " | mean s |"
    lines = [header, "|" + "|".join("---" for _ in range(len(env_names) + 2)) + "|"]
    failures = []
    for path in paths:
        cells, times = [], []
        for name in env_names:
            if name in skipped:
                cells.append("n/a")
                continue
            result = results[path.stem, name]
            times.append(result["seconds"])
            if result["status"] == "pass":
                cells.append("pass")
            else:
                failures.append(f"- {path.stem}, {name}: {result['detail']}")
                cells.append(f"FAIL {len(failures)}")
        mean = sum(times) / len(times) if times else 0.0
        lines.append(f"| {path.stem:<{width}} | " + " | ".join(f"{cell:<{len(name)}}" for cell, name in zip(cells, env_names)) + f" | {mean:6.1f} |")
    lines.append("")
    lines += [f"n/a {name}: {why}" for name, why in skipped.items()]
    if failures:
        lines += ["Failures:"] + [f"{i}. {line[2:]}" for i, line in enumerate(failures, start=1)]
    passed = sum(result["status"] == "pass" for result in results.values())
    lines.append(f"{passed} passed, {len(results) - passed} failed, in {seconds / 60:.1f} min wall time "
                 f"({len(paths)} chapters, {len(env_names) - len(skipped)} environments)")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
