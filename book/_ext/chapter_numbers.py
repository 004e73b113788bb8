"""A Sphinx extension: figures and exercises are numbered within their chapter.

Sphinx numbers figures (and sphinx-exercise numbers exercises) through the whole book when
the table of contents is not numbered, so chapter 15's third exercise became "Exercise 46"
while its prose said "exercise 3". This renumbers every enumerable item on a chapter page
``notebooks/NN_slug`` as ``(NN, k)``, k counting from 1 in page order, so ``{numref}``
renders "Figure 4.2" and "Exercise 15.3". Other pages keep Sphinx's numbers.
"""
from __future__ import annotations

import re

from sphinx.environment.collectors.toctree import TocTreeCollector

CHAPTER_PAGE = re.compile(r"^notebooks/(\d+)_")
_sphinx_assign = TocTreeCollector.assign_figure_numbers


def chapter_of(docname: str) -> int | None:
    """The chapter number of a chapter page (``notebooks/04_x`` -> 4), else None."""
    match = CHAPTER_PAGE.match(docname)
    return int(match.group(1)) if match else None


def renumber(fignumbers: dict) -> dict:
    """``{docname: {figtype: {id: number}}}`` with chapter pages numbered ``(NN, k)``."""
    result = {}
    for docname, by_type in fignumbers.items():
        chapter = chapter_of(docname)
        if chapter is None:
            result[docname] = by_type
            continue
        result[docname] = {
            figtype: {
                ident: (chapter, k)
                for k, (ident, _) in enumerate(sorted(numbers.items(), key=lambda item: item[1]), start=1)
            }
            for figtype, numbers in by_type.items()
        }
    return result


def assign_figure_numbers(self, env) -> list[str]:
    old = env.toc_fignumbers
    _sphinx_assign(self, env)
    env.toc_fignumbers = renumber(env.toc_fignumbers)
    # Rewrite only the pages whose numbers changed against the previous build.
    return [doc for doc, numbers in env.toc_fignumbers.items() if numbers != old.get(doc)]


def setup(app):
    TocTreeCollector.assign_figure_numbers = assign_figure_numbers
    return {"parallel_read_safe": True, "parallel_write_safe": True}
