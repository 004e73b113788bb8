"""The shape of every chapter notebook (../shared/chapter-template.md), checked without running it."""
from __future__ import annotations

import re

import pytest

from chapter_files import CHAPTERS, PRESENT, ROOT, load, sources

ids = [chapter["slug"] for chapter in PRESENT]

# The template's sections, in order, as they appear in headings (or in the short-answer box).
SECTIONS = [
    ("short answer", r"\{admonition\}\s*The short answer"),
    ("idea", r"^##+ .*\bidea\b"),
    ("NumPy", r"^##+ .*(NumPy|from scratch)"),
    ("Keras", r"^##+ .*Keras"),
    ("cross-check", r"^##+ .*Cross-check"),
    ("experiment", r"^##+ .*Experiment"),
    ("misconception", r"[Mm]isconception"),
    ("follow-ups", r"^##+ .*[Ff]ollow-ups?"),
    ("exercises", r"^##+ .*Exercises"),
    ("takeaways", r"^##+ .*[Tt]akeaways"),
    ("references", r"^##+ .*References"),
]
DOWNLOADS = [r"keras\.datasets", r"get_file\(", r"https?://", r"urlopen", r"requests\.", r"weights=['\"]imagenet"]


def test_at_least_one_chapter():
    assert PRESENT, "no chapter notebooks found in notebooks/"


def test_notebooks_on_disk_are_the_chapters_in_the_toc():
    on_disk = {path.stem for path in (ROOT / "notebooks").glob("*.ipynb")}
    in_toc = set(re.findall(r"file: notebooks/(\S+)", (ROOT / "_toc.yml").read_text()))
    known = {chapter["slug"] for chapter in CHAPTERS}
    assert on_disk <= known, f"notebooks not in book/chapters.yml: {sorted(on_disk - known)}"
    assert on_disk == in_toc, f"on disk only: {sorted(on_disk - in_toc)}; in _toc.yml only: {sorted(in_toc - on_disk)}"


@pytest.mark.parametrize("chapter", PRESENT, ids=ids)
def test_title_is_the_question_word_for_word(chapter):
    first = load(chapter)["cells"][0]
    assert first["cell_type"] == "markdown"
    text = "".join(first["source"])
    number = f"{chapter['number']:02d}"
    assert text.lstrip().startswith(f"(ch{number})="), "the first cell starts with the chapter label (chNN)="
    title = next(line for line in text.splitlines() if line.startswith("# "))
    assert title == f"# {number}. {chapter['question']}"


@pytest.mark.parametrize("chapter", PRESENT, ids=ids)
def test_template_sections_in_order(chapter):
    markdown = "\n".join(sources(load(chapter), "markdown"))
    positions = []
    for name, pattern in SECTIONS:
        match = re.search(pattern, markdown, re.M)
        assert match, f"section missing: {name}"
        positions.append((match.start(), name))
    assert [name for _, name in sorted(positions)] == [name for name, _ in SECTIONS], "sections out of template order"


@pytest.mark.parametrize("chapter", PRESENT, ids=ids)
def test_committed_without_outputs(chapter):
    for index, cell in enumerate(load(chapter)["cells"]):
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"cell {index} has committed outputs (run `make strip`)"
            assert cell.get("execution_count") is None, f"cell {index} has an execution count (run `make strip`)"


@pytest.mark.parametrize("chapter", PRESENT, ids=ids)
def test_kernelspec_is_python3(chapter):
    assert load(chapter)["metadata"]["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("chapter", PRESENT, ids=ids)
def test_imports_nnlib_first_and_seeds(chapter):
    code = "\n".join(sources(load(chapter), "code"))
    nnlib_import = re.search(r"^\s*(import nnlib|from nnlib)", code, re.M)
    assert nnlib_import, "the chapter imports nnlib"
    backend_import = re.search(r"^\s*(import (keras|tensorflow)|from (keras|tensorflow))", code, re.M)
    assert backend_import is None or nnlib_import.start() < backend_import.start(), \
        "nnlib is imported before keras/tensorflow (it silences TensorFlow's start-up log)"
    assert len(re.findall(r"seed_everything\(", code)) == 1, \
        "the set-up cell seeds through nnlib.seed_everything, once (NNLIB_SEED replaces that one seed)"


# Random streams seeded from a literal (or not at all) do not follow NNLIB_SEED: a chapter derives
# them from the generator seed_everything returns (CONTRIBUTING.md, "Claims that hold on every machine").
LITERAL_SEEDS = [
    (r"default_rng\(\s*(\d|\))", "np.random.default_rng with a literal seed or none"),
    (r"\b\w*(seed|random_state)\w*\s*=\s*\(?\s*\d", "a seed or random_state set to a literal"),
    (r"for\s+\w*seed\w*\s+in\s+range\(", "seeds taken from range()"),
    (r"(np\.random\.seed|RandomState|set_random_seed)\(", "a global or legacy seed besides seed_everything"),
]


@pytest.mark.parametrize("chapter", PRESENT, ids=ids)
def test_random_streams_derive_from_the_seeded_generator(chapter):
    for index, cell in enumerate(load(chapter)["cells"]):
        if cell["cell_type"] != "code":
            continue
        for line in "".join(cell["source"]).splitlines():
            if "seed_everything(" in line:
                continue
            for pattern, what in LITERAL_SEEDS:
                assert not re.search(pattern, line), f"cell {index}: {what}: {line.strip()!r} (derive it from rng)"


@pytest.mark.parametrize("chapter", PRESENT, ids=ids)
def test_uses_keras_and_asserts(chapter):
    code = "\n".join(sources(load(chapter), "code"))
    assert re.search(r"\bkeras\.", code), "the chapter has a Keras side"
    asserts = len(re.findall(r"^\s*assert\b", code, re.M)) + len(re.findall(r"np\.testing\.assert_\w+", code))
    assert asserts >= 3, f"claims are asserted (found {asserts} assertions)"
    assert re.search(r"np\.testing\.assert_allclose", code), "at least one NumPy-versus-Keras assert_allclose"


@pytest.mark.parametrize("chapter", PRESENT, ids=ids)
def test_no_downloads_and_no_skipped_cells(chapter):
    notebook = load(chapter)
    code = "\n".join(sources(notebook, "code"))
    for pattern in DOWNLOADS:
        assert not re.search(pattern, code), f"run-time download or URL in code: {pattern}"
    for index, cell in enumerate(notebook["cells"]):
        tags = set(cell.get("metadata", {}).get("tags", []))
        assert not tags & {"skip-execution", "raises-exception", "remove-cell", "nbval-skip", "nbval-ignore-output"}, \
            f"cell {index} is skipped, hidden or allowed to fail: {sorted(tags)}"
        assert "verbose=1" not in "".join(cell["source"]), f"cell {index} turns on a progress bar"


@pytest.mark.parametrize("chapter", PRESENT, ids=ids)
def test_exercise_labels_are_prefixed_with_the_chapter(chapter):
    markdown = "\n".join(sources(load(chapter), "markdown"))
    number = f"{chapter['number']:02d}"
    for label in re.findall(r":label:\s*(\S+)", markdown):
        assert label.startswith(f"ch{number}-"), f"label {label!r} is not prefixed ch{number}- (labels are global)"
