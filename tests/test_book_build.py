"""The website builds with warnings as errors, and every chapter page shows executed figures.

Marked `book`: `make test` runs it after the notebooks. It builds into `_build/`, so a later
`make book` reuses the execution cache.
"""
from __future__ import annotations

import html as html_lib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from chapter_files import PRESENT, ROOT

pytestmark = pytest.mark.book
HTML = ROOT / "_build" / "html"
# An object's default repr, e.g. `<threadpoolctl.threadpool_limits at 0x7f...>` (escaped in HTML).
ADDRESS_REPR = re.compile(r"\bat 0x[0-9a-fA-F]{6,}")
# A cell result that is only the repr of a non-data object: `<Figure size 640x480 with 1 Axes>`,
# `[<matplotlib.lines.Line2D ...>]`, `Text(0.5, 1.0, 'title')`, `<Sequential name=...>`.
OBJECT_REPR = re.compile(r"^\[?<[^<>]+>(,\s*<[^<>]+>)*\]?$|^(Text|Annotation|Legend)\(", re.S)
TEXT_RESULT = re.compile(r'<div class="output text_plain[^"]*">\s*<div class="highlight"><pre>(.*?)</pre>', re.S)


def bare_object_reprs(page_html: str) -> list[str]:
    """The cell results on a page that show nothing but the repr of a non-data object."""
    results = [html_lib.unescape(re.sub(r"<[^>]+>", "", block)).strip() for block in TEXT_RESULT.findall(page_html)]
    return [text for text in results if OBJECT_REPR.search(text)]


def test_repr_checks_catch_object_reprs_and_pass_data():
    def page(text):
        return ('<div class="output text_plain highlight-myst-ansi notranslate"><div class="highlight"><pre>'
                f'<span></span>{html_lib.escape(text)}</pre></div></div>')
    for text in ("<threadpoolctl.threadpool_limits at 0x7f3a2c1b9e50>", "<Figure size 640x480 with 1 Axes>",
                 "[<matplotlib.lines.Line2D at 0x7f00aa>, <matplotlib.lines.Line2D at 0x7f00bb>]",
                 "Text(0.5, 1.0, 'Loss')", "<Sequential name=sequential, built=True>"):
        assert bare_object_reprs(page(text)) == [text]
    for text in ("array([1., 2.])", "0.25", "{'loss': 0.1}", "(3, 4)", "'x < 1 and y > 2'"):
        assert bare_object_reprs(page(text)) == []
    assert ADDRESS_REPR.search(html_lib.escape("<keras.src.callbacks.history.History at 0x7f3a2c1b9e50>"))


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
    address = ADDRESS_REPR.search(html)
    assert address is None, f"an object's repr on the page: ...{html[max(0, address.start() - 80):address.end()]}"
    assert bare_object_reprs(html) == [], f"a cell shows only the repr of an object: {bare_object_reprs(html)}"
    assert re.search(r'href="[^"]*_sources/notebooks/%s\.ipynb"' % chapter["slug"], html), "the page offers the .ipynb download"


def test_reference_pages_exist(build):
    for page in ("book/intro.html", "book/how-to-use.html", "book/glossary.html", "book/bibliography.html",
                 "book/execution-statistics.html"):
        assert (HTML / page).exists(), page
    statistics = (HTML / "book" / "execution-statistics.html").read_text()
    for chapter in PRESENT:
        assert chapter["slug"] in statistics, f"{chapter['slug']} missing from the execution statistics"
