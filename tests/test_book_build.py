"""The website builds with warnings as errors, and every chapter page shows executed figures.

Marked `book`: `make test` runs it after the notebooks. It builds into `_build/`, so a later
`make book` reuses the execution cache.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from chapter_files import PRESENT, ROOT

pytestmark = pytest.mark.book
HTML = ROOT / "_build" / "html"


@pytest.fixture(scope="module")
def build():
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    result = subprocess.run(
        [str(jupyter_book), "build", ".", "-W", "-n", "--keep-going"],
        cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1"},
    )
    return result


def test_build_succeeds_without_warnings(build):
    assert build.returncode == 0, build.stdout[-4000:] + build.stderr[-4000:]


@pytest.mark.parametrize("chapter", PRESENT, ids=[chapter["slug"] for chapter in PRESENT])
def test_chapter_page_is_executed_with_figures_and_clean(build, chapter):
    page = HTML / "notebooks" / f"{chapter['slug']}.html"
    assert page.exists(), f"{page} was not built"
    html = page.read_text()
    assert re.search(r'<img[^>]+src="[^"]*_images/[^"]+\.png"', html), "the page shows at least one executed figure"
    for noise in ("Traceback", "cuda_", "absl::", "oneDNN", "UserWarning", "DeprecationWarning", "FutureWarning", "it/s]"):
        assert noise not in html, f"rendered page contains {noise!r}"
    assert 'class="output stderr"' not in html, "stderr output on the page"
    assert re.search(r'href="[^"]*_sources/notebooks/%s\.ipynb"' % chapter["slug"], html), "the page offers the .ipynb download"


def test_reference_pages_exist(build):
    for page in ("book/intro.html", "book/how-to-use.html", "book/glossary.html", "book/bibliography.html",
                 "book/execution-statistics.html"):
        assert (HTML / page).exists(), page
    statistics = (HTML / "book" / "execution-statistics.html").read_text()
    for chapter in PRESENT:
        assert chapter["slug"] in statistics, f"{chapter['slug']} missing from the execution statistics"
