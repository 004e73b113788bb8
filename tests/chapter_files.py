"""Where the chapters are, for the structure tests and the website test."""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "book"))

import sync_toc  # noqa: E402  (book/sync_toc.py: the one reader of book/chapters.yml)

CHAPTERS = sync_toc.chapters()
PRESENT = [chapter for chapter in CHAPTERS if sync_toc.existing(chapter)]


def notebook_path(chapter: dict) -> Path:
    return ROOT / "notebooks" / f"{chapter['slug']}.ipynb"


def load(chapter: dict) -> dict:
    return json.loads(notebook_path(chapter).read_text())


def sources(notebook: dict, cell_type: str) -> list[str]:
    return ["".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == cell_type]
