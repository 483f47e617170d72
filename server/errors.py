"""The one exception tree of direkt.

Every error a user, an operator or a client can cause is a ``DirektError`` with
a stable ``code``; the hub and the CLI map codes to frames, HTTP statuses and
exit statuses in one place each. Messages name the problem in plain words and
never carry personal data or internals.

    DirektError
    ├── ConfigError            a region configuration file is invalid
    ├── RedisUnavailable       Redis cannot be reached or timed out
    └── QueueError             waiting-room operation refused
        ├── UnknownQueue       no such unit, skill or (unit, skill) pair
        ├── UnknownCase        no such case
        ├── CaseConflict       the case is not in a state that allows this
        ├── StaleToken         fencing token or holder does not match
        ├── NotAllowed         the staff member does not serve that queue
        └── AtCapacity         the staff member already holds max_chats cases
    ├── TriageError            a triage input was refused; the session is unchanged
        ├── NotEligible        age or proxy rules exclude this entry (says what to do)
        ├── NotAsked           an answer to a question that is not the current one
        ├── InvalidAnswer      unknown option, out-of-range number, wrong type
        └── StaleSession       the session was made by another knowledge-base version
    └── KnowledgeBaseError     the triage knowledge base failed validation
"""

from __future__ import annotations


class DirektError(Exception):
    """Root of every error direkt raises on purpose."""

    code = "internal"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(DirektError):
    """A configuration file is invalid; the message names file, key and problem."""

    code = "config_invalid"

    def __init__(self, path: str, key: str, problem: str) -> None:
        super().__init__(f"{path}: {key}: {problem}" if key else f"{path}: {problem}")
        self.path = path
        self.key = key
        self.problem = problem


class RedisUnavailable(DirektError):
    code = "redis_unavailable"


class QueueError(DirektError):
    code = "queue_error"


class UnknownQueue(QueueError):
    code = "unknown_queue"


class UnknownCase(QueueError):
    code = "unknown_case"


class CaseConflict(QueueError):
    code = "case_conflict"


class StaleToken(QueueError):
    code = "stale_token"


class NotAllowed(QueueError):
    code = "not_allowed"


class AtCapacity(QueueError):
    code = "at_capacity"


class TriageError(DirektError):
    """Triage refused an input; the session is unchanged."""

    code = "triage_error"


class NotEligible(TriageError):
    """Age or proxy rules do not allow this entry; the message says what to do instead."""

    code = "not_eligible"


class NotAsked(TriageError):
    code = "question_not_asked"


class InvalidAnswer(TriageError):
    code = "invalid_answer"


class StaleSession(TriageError):
    code = "stale_session"


class KnowledgeBaseError(DirektError):
    """The triage knowledge base is invalid; ``problems`` lists every finding."""

    code = "knowledge_base_invalid"

    def __init__(self, problems: list[str]) -> None:
        super().__init__("the triage knowledge base is invalid:\n" + "\n".join(f"- {p}" for p in problems))
        self.problems = problems
