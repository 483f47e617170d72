"""Small knowledge bases for tests: the shared files and a few reasons, or a copy to break."""

from __future__ import annotations

import shutil
from pathlib import Path

from direkt.triage import loader
from direkt.triage.model import KnowledgeBase

KB_DIR = loader.KB_DIR
SHARED = ["screen.toml", "phrases.toml", *sorted(f"findings/{p.name}" for p in (KB_DIR / "findings").glob("*.toml"))]


def small_kb_dir(target: Path, reasons: tuple[str, ...] = ("sore_throat", "child_fever")) -> Path:
    """A knowledge-base folder with the shared files and ``reasons`` only."""
    for name in [*SHARED, *(f"reasons/{r}.toml" for r in reasons)]:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(KB_DIR / name, target / name)
    return target


def small_kb(target: Path, reasons: tuple[str, ...] = ("sore_throat", "child_fever")) -> KnowledgeBase:
    return loader.load(small_kb_dir(target, reasons))


def edit(path: Path, old: str, new: str) -> None:
    """Replace one exact piece of a file (the test fails if it is not there)."""
    text = path.read_text()
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))
