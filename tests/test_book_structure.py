"""The book's skeleton agrees with book/chapters.yml; the pins agree across files."""
from __future__ import annotations

import re

import yaml

from chapter_files import CHAPTERS, ROOT, sync_toc


def test_fifty_questions_numbered_in_order():
    assert [chapter["number"] for chapter in CHAPTERS] == list(range(1, 51))
    for chapter in CHAPTERS:
        assert re.fullmatch(rf"{chapter['number']:02d}_[a-z0-9_]+", chapter["slug"])
        assert chapter["question"].endswith(("?", "."))


def test_toc_is_generated_from_the_chapter_list():
    assert (ROOT / "_toc.yml").read_text() == sync_toc.expected_toc(), "run `make toc`"


def test_intro_table_lists_every_question_and_links_existing_chapters():
    assert sync_toc.current_intro_table() == sync_toc.expected_intro_table(), "run `make toc`"


def test_config_keeps_the_safety_settings():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["only_build_toc_files"] is True
    assert config["execute"]["execute_notebooks"] == "cache"
    assert config["execute"]["stderr_output"] == "warn"
    assert config["execute"]["allow_errors"] is False
    assert "sphinx_exercise" in config["sphinx"]["extra_extensions"]
    makefile = (ROOT / "Makefile").read_text()
    assert "jupyter-book build . -W -n --keep-going" in makefile


def _pins(lines):
    pins = {}
    for line in lines:
        match = re.match(r"^\s*-?\s*([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
        if match:
            pins[match.group(1).lower().replace("_", "-")] = match.group(2)
    return pins


def test_environment_yml_pins_match_constraints():
    constraints = _pins((ROOT / "constraints.txt").read_text().splitlines())
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(item["pip"] for item in environment["dependencies"] if isinstance(item, dict))
    conda_pins = _pins(pip_section)
    assert {"keras", "tensorflow-cpu", "numpy", "jupyter-book", "nbval"} <= set(conda_pins)
    for name, version in conda_pins.items():
        assert constraints.get(name) == version, f"{name}: environment.yml has {version}, constraints.txt {constraints.get(name)}"
    python = next(item for item in environment["dependencies"] if isinstance(item, str) and item.startswith("python"))
    assert python == "python=3.11"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make book" in readme
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith(("#", "set ", "cd "))]
    assert ci == ["make test"]
