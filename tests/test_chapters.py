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


CODE_DIRECTIVES = ("{code-block}", "{code}", "{code-cell}", "{literalinclude}", "{math}")


def without_code(markdown: str) -> str:
    """A markdown cell without its code blocks (fenced code, and code/math directives), keeping
    the text inside other directives (admonitions, dropdowns, exercises)."""
    kept, open_fences = [], []   # (fence, is_code) for every fence still open
    for line in markdown.splitlines():
        fence = re.match(r"^\s*(`{3,}|:{3,})(.*)$", line)
        if fence:
            marks, info = fence.group(1), fence.group(2).strip()
            if open_fences and marks == open_fences[-1][0] and not info:
                open_fences.pop()
            else:
                is_code = not info.startswith("{") or info.startswith(CODE_DIRECTIVES)
                open_fences.append((marks, is_code))
            continue
        if not any(is_code for _, is_code in open_fences):
            kept.append(line)
    return "\n".join(kept)


def prose(notebook: dict) -> str:
    """The chapter's markdown without code blocks and label lines, cell by cell."""
    text = "\n".join(without_code(cell) for cell in sources(notebook, "markdown"))
    return re.sub(r"^\([\w-]+\)=$|^:label:.*$", "", text, flags=re.M)


def test_prose_keeps_directive_text_and_drops_code():
    cell = ("```{admonition} Box\nsee chapter 4\n```\n\nafter the box, chapter 5\n\n```python\nchapter = 6\n```\n"
            "````{dropdown} Q\n```{code-block} python\nchapter 7\n```\nchapter 8 inside\n````\nend")
    text = without_code(cell)
    assert all(f"chapter {n}" in text for n in (4, 5, 8)) and "chapter 7" not in text and "chapter = 6" not in text


ROLE = re.compile(r"\{([\w:-]+)\}`([^`]*)`")
PRESENT_NUMBERS = {chapter["number"] for chapter in PRESENT}


def chapter_link_problems(text: str) -> list[str]:
    """Bare `{ref}`chNN`` links (they render the whole question) and unlinked mentions of a chapter
    that exists ("chapter 15" in plain text); later chapters may be named in plain text until they land."""
    problems = []
    for role, target in ROLE.findall(text):
        label = re.fullmatch(r"(?:(.*?)\s*<)?(ch\d\d)>?", target.strip())
        if role == "ref" and label:
            title, name = label.groups()
            if title not in (f"Chapter {int(name[2:])}", f"chapter {int(name[2:])}"):
                problems.append(f"{{ref}}`{target}` (write {{ref}}`Chapter {int(name[2:])} <{name}>`)")
    # A chapter of a cited book is not one of ours: "Chapter 6 of Goodfellow", "{cite}`x` (chapter 7)".
    text = re.sub(r"\{cite[^}]*\}`[^`]*`\s*\([Cc]hapters? \d+|\b[Cc]hapters? \d+(?= of\b)", " ", text)
    plain = ROLE.sub(" ", text)
    plain = re.sub(r"`[^`]*`", " ", plain)
    for match in re.finditer(r"\b[Cc]hapters?\s+(\d+(?:(?:\s*,\s*|\s+and\s+|\s+or\s+|\s*[–-]\s*)\d+)*)", plain):
        for number in re.findall(r"\d+", match.group(1)):
            if int(number) in PRESENT_NUMBERS:
                problems.append(f"unlinked {match.group(0)!r}")
                break
    return problems


def test_chapter_link_check_catches_bare_and_unlinked_mentions():
    assert chapter_link_problems("as {ref}`ch04` showed") and chapter_link_problems("see chapter 4.")
    assert chapter_link_problems("chapters 30 and 4 show") and chapter_link_problems("{ref}`the perceptron <ch04>`")
    assert chapter_link_problems("{ref}`Chapter 5 <ch04>`")
    assert not chapter_link_problems("as {ref}`Chapter 4 <ch04>` showed; {ref}`chapter 4 <ch04>`; chapter 49 will")
    assert not chapter_link_problems("{ref}`the proof <ch04-proof>` and `chapter 4` in code")
    assert not chapter_link_problems("Chapter 6 of Goodfellow et al. and {cite}`goodfellow2016` (chapter 7)")


@pytest.mark.parametrize("chapter", PRESENT, ids=ids)
def test_chapters_are_linked_as_chapter_n(chapter):
    assert chapter_link_problems(prose(load(chapter))) == []


@pytest.mark.parametrize("chapter", PRESENT, ids=ids)
def test_exercises_are_referenced_by_number_role(chapter):
    # sphinx-exercise numbers exercises per chapter (book/_ext/chapter_numbers.py): {numref}`ch15-ex3`
    # renders "Exercise 15.3"; a hand-written "exercise 3" or a {ref} to an exercise does not say that.
    text = prose(load(chapter))
    assert not re.findall(r"\{ref\}`[^`]*ch\d\d-ex\d+>?`", text), "refer to an exercise with {numref}`chNN-exK`"
    plain = re.sub(r"`[^`]*`", " ", ROLE.sub(" ", text))
    mentions = re.findall(r"\b[Ee]xercises?\s+\d+", plain)
    assert mentions == [], f"write {{numref}}`chNN-exK` instead of {mentions}"


def words_in(markdown: str) -> int:
    text = ROLE.sub(lambda match: re.sub(r"\s*<[^>]*>$", "", match.group(2)), markdown)
    text = re.sub(r"^:\w+:.*$", "", text, flags=re.M)
    return len(re.findall(r"[\w$\\][^\s]*", text))


@pytest.mark.parametrize("chapter", PRESENT, ids=ids)
def test_short_answer_is_a_minute_long(chapter):
    markdown = "\n".join(sources(load(chapter), "markdown"))
    box = re.search(r"^(`{3,}|:{3,})\{admonition\}\s*The short answer\s*\n(.*?)^\1\s*$", markdown, re.S | re.M)
    assert box, "the short-answer box"
    assert words_in(box.group(2)) <= 120, f"the short answer has {words_in(box.group(2))} words (at most 120)"


FIGURE_NAME = re.compile(r"fig-ch(\d\d)-[a-z0-9]+(-[a-z0-9]+)*")


def figure_problems(cell: dict, number: int) -> list[str]:
    """What a figure cell's myst-nb metadata lacks: a caption, a name fig-chNN-..., and an alt text
    that says in a sentence what the figure shows (not a path, not the caption again)."""
    meta = cell.get("metadata", {}).get("mystnb", {})
    caption = str(meta.get("figure", {}).get("caption", "")).strip()
    name = str(meta.get("figure", {}).get("name", ""))
    alt = str(meta.get("image", {}).get("alt", "")).strip()
    problems = []
    if not caption:
        problems.append("mystnb.figure.caption is missing")
    if not FIGURE_NAME.fullmatch(name) or int(FIGURE_NAME.fullmatch(name).group(1)) != number:
        problems.append(f"mystnb.figure.name {name!r} is not fig-ch{number:02d}-<words>")
    if len(alt.split()) < 6 or not alt.endswith(".") or re.search(r"[/\\]|\.png\b", alt) or alt == caption:
        problems.append(f"mystnb.image.alt {alt!r} is not a sentence saying what the figure shows")
    return problems


@pytest.mark.parametrize("chapter", PRESENT, ids=ids)
def test_every_figure_has_alt_text_and_a_numbered_caption(chapter):
    names = []
    for index, cell in enumerate(load(chapter)["cells"]):
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        shows = len(re.findall(r"^\s*plt\.show\(\)", source, re.M))
        has_meta = "figure" in cell.get("metadata", {}).get("mystnb", {})
        if not shows:
            assert not has_meta, f"cell {index} has figure metadata but shows no figure"
            continue
        assert shows == 1, f"cell {index} shows {shows} figures: one figure per cell (each gets its own caption)"
        assert figure_problems(cell, chapter["number"]) == [], f"cell {index}: {figure_problems(cell, chapter['number'])}"
        names.append(cell["metadata"]["mystnb"]["figure"]["name"])
    assert len(names) == len(set(names)), f"figure names repeat: {names}"


def _python_objects(path) -> set[str]:
    """The dotted names of a module's top-level classes and functions and of their methods."""
    import ast

    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            names.add(node.name)
        if isinstance(node, ast.ClassDef):
            names |= {f"{node.name}.{item.name}" for item in node.body if isinstance(item, (ast.FunctionDef, ast.ClassDef))}
    return names


@pytest.mark.parametrize("chapter", PRESENT, ids=ids)
def test_included_source_exists(chapter):
    """Every ```{literalinclude} file``` with ``:pyobject: Name`` names a file and an object
    defined in it (a method moved to a base class would otherwise break only the book build)."""
    missing = []
    for text in sources(load(chapter), "markdown"):
        for path, name in re.findall(r"\{literalinclude\}\s+(\S+)\s*\n(?::[^\n]*\n)*?:pyobject:\s*(\S+)", text):
            file = (ROOT / "notebooks" / path).resolve()
            if not file.is_file() or name not in _python_objects(file):
                missing.append(f"{path} :pyobject: {name}")
    assert missing == [], f"{chapter['slug']} includes source that does not exist: {missing}"
