"""tests/nbval_book_cache.py: what nbval ran is stored so that the book renders it without executing it."""
from __future__ import annotations

import nbformat
import pytest
from jupyter_cache import get_cache

from nbval_book_cache import executed_notebook, store


def notebook_file(tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.cells = [nbformat.v4.new_markdown_cell("# A"), nbformat.v4.new_code_cell("print(1)"),
                      nbformat.v4.new_code_cell("2 + 2")]
    path = tmp_path / "01_a.ipynb"
    nbformat.write(notebook, str(path))
    return path


OUTPUTS = {0: [{"output_type": "stream", "name": "stdout", "text": "1\n"}],
           1: [{"output_type": "execute_result", "data": {"text/plain": "4"}, "metadata": {}, "execution_count": 2}]}


def test_outputs_go_into_their_cells(tmp_path):
    executed = executed_notebook(nbformat.read(str(notebook_file(tmp_path)), as_version=4), OUTPUTS, "01_a.ipynb")
    code = [cell for cell in executed.cells if cell.cell_type == "code"]
    assert [cell.outputs[0].output_type for cell in code] == ["stream", "execute_result"]
    assert [cell.execution_count for cell in code] == [1, 2]


def test_a_partial_run_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"expected outputs for the 2 code cells of 01_a.ipynb. Received: cells \[0\]"):
        executed_notebook(nbformat.read(str(notebook_file(tmp_path)), as_version=4), {0: OUTPUTS[0]}, "01_a.ipynb")


def test_the_book_finds_the_stored_run(tmp_path):
    path = notebook_file(tmp_path)
    store(path, executed_notebook(nbformat.read(str(path), as_version=4), OUTPUTS, path.name), 1.5,
          directory=tmp_path / "cache")
    cache = get_cache(str(tmp_path / "cache"))
    record = cache.match_cache_notebook(nbformat.read(str(path), as_version=4))  # as jupyter-book looks it up
    assert record.data["execution_seconds"] == 1.5
    cached = cache.get_cache_bundle(record.pk).nb
    assert [cell.outputs for cell in cached.cells if cell.cell_type == "code"][1][0]["data"]["text/plain"] == "4"
    edited = nbformat.read(str(path), as_version=4)
    edited.cells[2].source = "2 + 3"
    with pytest.raises(KeyError):
        cache.match_cache_notebook(edited)  # an edited chapter is never rendered from an old run
