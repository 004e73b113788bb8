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
    # As `make book`: the chapters execute in parallel into the cache, then jupyter-book renders them.
    result = subprocess.run(
        [sys.executable, str(ROOT / "book" / "build.py")],
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


# Anything a page loads by itself (scripts, styles, fonts, images, frames); hyperlinks (<a href>) may
# point anywhere, such as the papers in the bibliography.
LOADED = re.compile(r"<(?:script|img|iframe|source|video|audio|embed)\b[^>]*?\ssrc=[\"']([^\"']+)"
                    r"|<link\b[^>]*?\shref=[\"']([^\"']+)|\burl\(\s*[\"']?([^\"')]+)", re.I)


def external_loads(text: str) -> list[str]:
    """The addresses in an HTML page or style sheet that would be fetched from outside the build."""
    found = [next(group for group in match.groups() if group) for match in LOADED.finditer(text)]
    return [address for address in found if re.match(r"^([a-z][a-z0-9+.-]*:)?//", address.strip(), re.I)]


def test_external_loads_are_found():
    page = ('<script src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"></script>'
            '<link rel="stylesheet" href="//fonts.example.org/a.css"><img alt="x" src="../_images/a.png">'
            '<a href="https://doi.org/10.1000/1">paper</a><style>@font-face {src: url("https://x.org/f.woff2")}</style>')
    assert external_loads(page) == ["https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js",
                                    "//fonts.example.org/a.css", "https://x.org/f.woff2"]


def test_every_page_loads_only_what_the_build_contains(build):
    pages = sorted(HTML.rglob("*.html")) + sorted((HTML / "_static").rglob("*.css"))
    assert len(pages) > len(PRESENT), "the build has its pages"
    outside = {str(path.relative_to(HTML)): external_loads(path.read_text(errors="replace")) for path in pages}
    outside = {path: addresses for path, addresses in outside.items() if addresses}
    assert outside == {}, f"pages that load from outside _build/html: {outside}"
    mathjax = re.findall(r'<script[^>]+src="([^"]*mathjax[^"]*)"', (HTML / "notebooks" / f"{PRESENT[0]['slug']}.html").read_text())
    assert mathjax and (HTML / "notebooks" / mathjax[0]).resolve().is_file(), f"MathJax is served from the build: {mathjax}"


def test_reference_pages_exist(build):
    for page in ("book/intro.html", "book/how-to-use.html", "book/glossary.html", "book/bibliography.html",
                 "book/execution-statistics.html"):
        assert (HTML / page).exists(), page
    statistics = (HTML / "book" / "execution-statistics.html").read_text()
    for chapter in PRESENT:
        assert chapter["slug"] in statistics, f"{chapter['slug']} missing from the execution statistics"


IMG = re.compile(r"<img\b[^>]*>", re.I)
# An alt text that is a file name or path, as myst-nb writes when a cell gives none.
PATH_LIKE = re.compile(r"[/\\]|\.(png|jpe?g|svg|gif|webp)\b|^[0-9a-f]{16,}$", re.I)


def bad_alt_texts(page_html: str) -> list[str]:
    """The <img> tags on a page whose alt text is missing, empty or a path."""
    bad = []
    for tag in IMG.findall(page_html):
        alt = re.search(r'\balt=(["\'])(.*?)\1', tag, re.S)
        text = html_lib.unescape(alt.group(2)).strip() if alt else ""
        if not text or PATH_LIKE.search(text):
            bad.append(tag)
    return bad


def test_alt_text_checks_catch_paths_and_pass_sentences():
    assert bad_alt_texts('<img alt="../_images/c6abdc57.png" src="../_images/c6abdc57.png">')
    assert bad_alt_texts('<img alt="" src="a.png">') and bad_alt_texts('<img src="a.png">')
    assert not bad_alt_texts('<img alt="Training loss falls from 0.7 to 0.1 over 50 epochs." src="../_images/a.png">')


def test_every_image_has_alt_text_and_chapter_figures_are_numbered_by_chapter(build):
    pages = sorted(HTML.rglob("*.html"))
    bad = {str(page.relative_to(HTML)): bad_alt_texts(page.read_text()) for page in pages}
    assert {page: tags for page, tags in bad.items() if tags} == {}, "images without a real alt text"
    for chapter in PRESENT:
        html = (HTML / "notebooks" / f"{chapter['slug']}.html").read_text()
        images = len(re.findall(r'<img[^>]+src="[^"]*_images/', html))
        figures = re.findall(r'<span class="caption-number">Figure ([\d.]+) </span>', html)
        number = chapter["number"]
        assert figures == [f"{number}.{k}" for k in range(1, images + 1)], \
            f"{chapter['slug']}: {images} images, figures numbered {figures} (expected {number}.1 ... {number}.{images})"
        boxes = re.findall(r'<div class="exercise admonition" id="[^"]+">', html)
        exercises = re.findall(r'<div class="exercise admonition" id="[^"]+">\s*<p class="admonition-title">'
                               r'<span class="caption-number">Exercise ([\d.]+) </span>', html)
        assert len(exercises) == len(boxes) and exercises == [f"{number}.{k}" for k in range(1, len(boxes) + 1)], \
            f"{chapter['slug']}: {len(boxes)} exercises, numbered {exercises}"


NUMREF = re.compile(r'<a class="reference internal" href="([^"#]*)#([^"]+)"><span class="std std-numref">([^<]*)</span></a>')
CAPTIONED = re.compile(r'<figure[^>]*\bid="([^"]+)"[^>]*>(?:(?!</figure>).)*?<span class="caption-number">(Figure [\d.]+) </span>'
                       r'|<div class="exercise admonition" id="([^"]+)">\s*<p class="admonition-title">'
                       r'<span class="caption-number">(Exercise [\d.]+) </span>', re.S)
CITATION = re.compile(r'<a class="reference internal" href="[^"]*bibliography\.html#[^"]+" title="([^"]*)">([^<]*)</a>')


def test_numbered_references_and_citations_resolve(build):
    """Every {numref} link reads the number its target is captioned with (on its own page or
    another), and every {cite} link shows author and year with the entry's text as its title
    (book/_ext/fast_references.py resolves both with remembered lookups)."""
    pages = {path.relative_to(HTML / "notebooks").as_posix(): path.read_text()
             for path in sorted((HTML / "notebooks").glob("*.html"))}
    numbers = {(page, figure or exercise): figure_number or exercise_number for page, text in pages.items()
               for figure, figure_number, exercise, exercise_number in CAPTIONED.findall(text)}
    links = citations = 0
    for page, text in pages.items():
        for target_page, anchor, shown in NUMREF.findall(text):
            key = (target_page or page, anchor)
            if key in numbers:
                links += 1
                assert shown == numbers[key], f"{page}: {{numref}} to {anchor} reads {shown!r}, its caption {numbers[key]!r}"
        for title, shown in CITATION.findall(text):
            citations += 1
            assert re.search(r"\b(1[89]|20)\d\d[a-z]?$", shown) and len(title) > 20, f"{page}: citation {shown!r} ({title!r})"
    assert links >= len(pages) and citations >= len(pages), (links, citations)
