"""Generate `_toc.yml` and the question table in `book/intro.md` from `book/chapters.yml`.

Run `make toc` (or `python book/sync_toc.py`) after adding a chapter notebook. The tests
call `expected_toc()` and `expected_intro_table()` and fail when the files are out of date.
Only chapters whose notebook exists are put in the toc; the intro lists all fifty and links
the ones that exist.
"""
from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- chapters:start -->", "<!-- chapters:end -->"


def load_parts() -> list[dict]:
    return yaml.safe_load((ROOT / "book" / "chapters.yml").read_text())["parts"]


def chapters() -> list[dict]:
    return [chapter for part in load_parts() for chapter in part["chapters"]]


def existing(chapter: dict) -> bool:
    return (ROOT / "notebooks" / f"{chapter['slug']}.ipynb").exists()


def expected_toc() -> str:
    lines = [
        "# Generated from book/chapters.yml by book/sync_toc.py (`make toc`); do not edit by hand.",
        "format: jb-book",
        "root: book/intro",
        "parts:",
        "  - caption: Start here",
        "    chapters:",
        "      - file: book/how-to-use",
    ]
    for part in load_parts():
        present = [chapter for chapter in part["chapters"] if existing(chapter)]
        if not present:
            continue
        lines.append(f"  - caption: Part {part['numeral']} · {part['title']}")
        lines.append("    chapters:")
        lines.extend(f"      - file: notebooks/{chapter['slug']}" for chapter in present)
    lines += [
        "  - caption: Reference",
        "    chapters:",
        "      - file: book/glossary",
        "      - file: book/bibliography",
        "      - file: book/execution-statistics",
    ]
    return "\n".join(lines) + "\n"


def expected_intro_table() -> str:
    rows = []
    for part in load_parts():
        rows.append(f"\n**Part {part['numeral']} · {part['title']}**\n")
        rows.append("| # | Question |")
        rows.append("|---|----------|")
        for chapter in part["chapters"]:
            number, question = chapter["number"], chapter["question"]
            if existing(chapter):
                cell = f"[{question}](../notebooks/{chapter['slug']}.ipynb)"
            else:
                cell = f"{question} *(in preparation)*"
            rows.append(f"| {number:02d} | {cell} |")
    return START + "\n" + "\n".join(rows).strip("\n") + "\n" + END


def current_intro_table() -> str:
    text = (ROOT / "book" / "intro.md").read_text()
    match = re.search(re.escape(START) + ".*?" + re.escape(END), text, re.S)
    return match.group(0) if match else ""


def main() -> None:
    (ROOT / "_toc.yml").write_text(expected_toc())
    intro = ROOT / "book" / "intro.md"
    text = intro.read_text()
    if START not in text:
        raise SystemExit(f"{intro} has no {START} ... {END} block")
    intro.write_text(re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: expected_intro_table(), text, flags=re.S))
    print("wrote _toc.yml and the table in book/intro.md")


if __name__ == "__main__":
    main()
