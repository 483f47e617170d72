"""Loading the knowledge base in a server process.

Full validation walks every path (about 10 s for the shipped knowledge base),
so a server validates a given version once and remembers it in its data
directory; a changed knowledge base has a new version and is walked again.
"""

from __future__ import annotations

from pathlib import Path

from direkt.server.errors import KnowledgeBaseError
from direkt.triage.loader import KB_DIR, read
from direkt.triage.model import KnowledgeBase


def load_for_server(data_dir: Path, *, validate: bool = True, kb_dir: Path = KB_DIR) -> KnowledgeBase:
    """Read the knowledge base; walk it unless this version was walked before.

    Raises:
        KnowledgeBaseError: listing every problem found.
    """
    kb, problems = read(kb_dir)
    if problems or kb is None:
        raise KnowledgeBaseError(problems or ["the knowledge base could not be read"])
    marker = data_dir / f"triage-kb-{kb.version}.valid"
    if validate and not marker.exists():
        from direkt.triage.validate import validate as walk

        found = walk(kb)
        if found:
            raise KnowledgeBaseError(found)
        data_dir.mkdir(parents=True, exist_ok=True)
        marker.touch()
    return kb
