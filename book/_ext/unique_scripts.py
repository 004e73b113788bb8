"""A Sphinx extension: each page includes a script once.

sphinx-thebe (which Jupyter Book always loads) adds its inline configuration script,
``const THEBE_JS_URL = ...``, after the HTML builder has started, so Sphinx 7 lists it twice
and every page logs "Identifier 'THEBE_JS_URL' has already been declared" in the browser
console (`make test-browser` found it). This drops repeated scripts from each page.
"""
from __future__ import annotations


def _key(script) -> tuple:
    attributes = getattr(script, "attributes", {}) or {}
    return (str(getattr(script, "filename", script) or ""), tuple(sorted((k, str(v)) for k, v in attributes.items())))


def drop_repeated_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts, seen = [], set()
    for script in context.get("script_files", []):
        if _key(script) not in seen:
            seen.add(_key(script))
            scripts.append(script)
    context["script_files"] = scripts


def setup(app):
    app.connect("html-page-context", drop_repeated_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
