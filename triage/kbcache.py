"""Loading the knowledge base in a server process.

The static checks run at every start. The walk of every path and rule takes
longer, so a server walks a given version once and remembers it in its data
directory; a changed knowledge base has a new version and is walked again.
"""

from __future__ import annotations

from pathlib import Path

from direkt.triage.errors import KnowledgeBaseError
from direkt.triage.loader import KB_DIR, read
from direkt.triage.model import KnowledgeBase
from direkt.triage.validate import validate


def load_for_server(data_dir: Path, *, validate_paths: bool = True, kb_dir: Path = KB_DIR) -> KnowledgeBase:
    """Read and check the knowledge base; walk it unless this version was walked before.

    Raises:
        KnowledgeBaseError: listing every problem found.
    """
    kb, problems = read(kb_dir)
    if kb is not None and not problems:
        problems = validate(kb, walk_paths=False)
    if problems or kb is None:
        raise KnowledgeBaseError(problems or ["the knowledge base could not be read"])
    marker = data_dir / f"triage-kb-{kb.version}.valid"
    if validate_paths and not marker.exists():
        found = validate(kb)
        if found:
            raise KnowledgeBaseError(found)
        data_dir.mkdir(parents=True, exist_ok=True)
        marker.touch()
    return kb
