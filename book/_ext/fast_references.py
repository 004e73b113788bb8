"""A Sphinx extension: resolve citations and figure numbers without repeating work.

Profiling a cold build of 30 chapters (cProfile, then each piece timed alone) found two
places where the write phase repeated the same work for every reference:

- sphinxcontrib-bibtex resolves each ``{cite}`` by asking pybtex for its "plaintext" backend,
  and pybtex looks the plugin up through ``importlib.metadata.entry_points``, which reads
  the metadata of every installed distribution: about 6 ms a call, 619 calls.
- Sphinx resolves each ``{numref}`` by unpickling the whole doctree of the page that holds
  the figure (``env.get_doctree``) to read one node: 154 unpickles of 35 pages.

This extension remembers the plugin lookup for the build, and lets ``{numref}`` read each
page's doctree once. Neither changes what is built: the plugin registry does not change
during a build, and the doctree the number is read from is the same pickled bytes, read
only (the builder still gets a fresh copy of each page to write). tests/test_book_build.py
checks the figure numbers and citations on the built pages.
"""
from __future__ import annotations

import functools

import pybtex.plugin
from sphinx.domains.std import StandardDomain

_find_plugin = pybtex.plugin.find_plugin


@functools.wraps(_find_plugin)
def find_plugin(plugin_group, name=None, filename=None):
    try:
        return _cached_find_plugin(plugin_group, name, filename)
    except TypeError:  # an unhashable argument: look it up as pybtex does
        return _find_plugin(plugin_group, name, filename)


@functools.lru_cache(maxsize=None)
def _cached_find_plugin(plugin_group, name, filename):
    return _find_plugin(plugin_group, name, filename)


_resolve_numref_xref = StandardDomain._resolve_numref_xref
_doctrees: dict = {}  # docname -> (the pickled bytes, the doctree unpickled from them), for one build


def resolve_numref_xref(self, env, *args, **kwargs):
    """StandardDomain._resolve_numref_xref, reading each target page's doctree once.

    The doctree is keyed by the pickled bytes it came from, so a page read again (a changed
    source in an incremental build) is unpickled again."""
    def read_only_doctree(docname):
        serialised = env._pickled_doctree_cache.get(docname)
        cached = _doctrees.get(docname)
        if serialised is None or cached is None or cached[0] is not serialised:
            doctree = type(env).get_doctree(env, docname)
            _doctrees[docname] = (env._pickled_doctree_cache[docname], doctree)
        return _doctrees[docname][1]

    env.get_doctree = read_only_doctree  # seen only by this call: removed below
    try:
        return _resolve_numref_xref(self, env, *args, **kwargs)
    finally:
        del env.get_doctree


def forget_doctrees(app, *args) -> None:
    _doctrees.clear()


def setup(app):
    pybtex.plugin.find_plugin = find_plugin
    StandardDomain._resolve_numref_xref = resolve_numref_xref
    app.connect("env-updated", forget_doctrees)
    app.connect("build-finished", forget_doctrees)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
