"""Tests for tests/robustness.py (`make robustness`): chapter selection, error reports, the
determinism comparison, and the environments it skips. One test starts a real kernel."""
from __future__ import annotations

import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

import robustness


def notebook_with(*cells):
    notebook = new_notebook(cells=list(cells))
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return notebook


def write(tmp_path, name, notebook):
    path = tmp_path / name
    nbformat.write(notebook, path)
    return path


def test_chapters_are_chosen_by_number_or_name():
    everything = robustness.chapters([])
    assert everything and all(path.suffix == ".ipynb" for path in everything)
    first = everything[0]
    number = first.stem.split("_")[0]
    assert robustness.chapters([number.lstrip("0")]) == [first]
    assert robustness.chapters([first.stem, number]) == [first]
    with pytest.raises(SystemExit, match="CHAPTERS expected chapter numbers or notebook names"):
        robustness.chapters(["99"])


def test_unknown_environment_is_refused():
    with pytest.raises(SystemExit, match=r"ENVS expected names from \['default'"):
        robustness.main(["--envs", "seed-9"])


def test_environments_cover_kernels_threads_and_seeds():
    values = {key: {env.get(key) for env in robustness.ENVIRONMENTS.values()} for key in
              ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "NNLIB_SEED")}
    assert {"Prescott", "Haswell", "SkylakeX"} <= values["OPENBLAS_CORETYPE"]
    assert {"1", "4"} <= values["OPENBLAS_NUM_THREADS"] & values["TF_NUM_INTRAOP_THREADS"]
    assert len(values["NNLIB_SEED"] - {None}) >= 2
    assert {"default", "repeat"} <= set(robustness.ENVIRONMENTS)


def test_skipped_environments_are_coretypes_with_a_reason():
    skipped = robustness.unavailable_environments()  # never raises, whatever the machine
    assert all("OPENBLAS_CORETYPE" in robustness.ENVIRONMENTS[name] and why for name, why in skipped.items())


def test_stream_chunks_do_not_count_as_differences_but_numbers_do(tmp_path):
    def printed(*chunks, tags=()):
        cell = new_code_cell("print(...)", metadata={"tags": list(tags)})
        cell.outputs = [new_output("stream", name="stdout", text=chunk) for chunk in chunks]
        return cell

    first = write(tmp_path, "a.ipynb", notebook_with(printed("loss 0.25\n", "acc 0.9\n"), printed("0.11 s", tags=["timing"])))
    same = write(tmp_path, "b.ipynb", notebook_with(printed("loss 0.25\nacc 0.9\n"), printed("0.13 s", tags=["timing"])))
    other = write(tmp_path, "c.ipynb", notebook_with(printed("loss 0.26\nacc 0.9\n"), printed("0.11 s", tags=["timing"])))
    assert robustness.first_difference(first, same) == ""
    assert robustness.first_difference(first, other) == \
        "code cell 1 differs between two runs: 'stdout: loss 0.25' vs 'stdout: loss 0.26'"


def test_figures_are_compared_by_content(tmp_path):
    def figure(data):
        cell = new_code_cell("plt.show()")
        cell.outputs = [new_output("display_data", data={"image/png": data, "text/plain": "<Figure>"})]
        return cell

    first = write(tmp_path, "a.ipynb", notebook_with(figure("iVBORw0KGgoAAAA")))
    second = write(tmp_path, "b.ipynb", notebook_with(figure("iVBORw0KGgoAAAB")))
    assert "code cell 1 differs" in robustness.first_difference(first, second)


def test_execute_reports_the_failing_assertion_and_stderr(tmp_path):
    failing = write(tmp_path, "fail.ipynb", notebook_with(new_code_cell("x = 1"), new_code_cell("value = 0.45\nassert value < 0.3, value")))
    noisy = write(tmp_path, "noisy.ipynb", notebook_with(new_code_cell("import sys\nprint('careful', file=sys.stderr)")))
    result = robustness.execute(failing, tmp_path / "out" / "fail.ipynb")
    assert result["status"] == "fail"
    assert result["detail"] == "code cell 2: AssertionError: 0.45 at `assert value < 0.3, value`"
    executed = nbformat.read(tmp_path / "out" / "fail.ipynb", as_version=4)
    assert executed.cells[1].outputs[0]["output_type"] == "error"  # the executed copy is kept
    assert robustness.execute(noisy, tmp_path / "out" / "noisy.ipynb")["detail"] == "code cell 1: stderr: careful"
    json.dumps(result)  # what the child process hands back
