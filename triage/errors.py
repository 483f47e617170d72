"""The errors triage raises: its own, so that the pure engine needs nothing from the server.

The server turns each into its ``DirektError`` (wire code, HTTP status) in one
place, ``direkt.server.errors.as_direkt_errors``, where it calls triage.
Messages name the problem in plain words and never carry personal data.

    TriageFailure              root of every error triage raises on purpose
    ├── Refused                an input was refused; the session is unchanged (``text`` by language)
    │   ├── NotEligible        age or proxy rules exclude this entry (says what to do)
    │   ├── NotAsked           an answer to a question that is not the current one
    │   ├── InvalidAnswer      unknown option, out-of-range number, wrong type
    │   └── StaleSession       the session was made by another knowledge-base version
    └── KnowledgeBaseError     the knowledge base failed validation (``problems`` lists every finding)
"""

from __future__ import annotations

from collections.abc import Mapping


class TriageFailure(Exception):
    """Root of every error triage raises on purpose; also raised as is for unreadable tool input."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Refused(TriageFailure):
    """Triage refused an input; the session is unchanged.

    ``text`` is what the citizen reads, by language (``{"sv": ..., "en": ...}``);
    ``message`` is the same in English for logs and API clients.
    """

    def __init__(self, message: str, text: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.text = dict(text) if text else {"sv": message, "en": message}


class NotEligible(Refused):
    """Age or proxy rules do not allow this entry; the message says what to do instead."""


class NotAsked(Refused):
    """An answer or a change to a question that is not the one being asked (or not yet answered)."""


class InvalidAnswer(Refused):
    """An answer that does not fit its question, or a stored session that cannot be read."""


class StaleSession(Refused):
    """A stored session made with another knowledge-base version."""


class KnowledgeBaseError(TriageFailure):
    """The triage knowledge base is invalid; ``problems`` lists every finding."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("the triage knowledge base is invalid:\n" + "\n".join(f"- {p}" for p in problems))
        self.problems = problems
