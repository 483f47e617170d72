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
    ├── KnowledgeBaseError     the triage knowledge base failed validation
    └── RequestError           a client request was refused (HTTP status, frame code)
        ├── BadRequest         malformed body or frame, wrong types, unknown fields (400)
        ├── TooLarge           body, frame or attachment over its limit (413)
        ├── PhotoRejected      not a JPEG/PNG/WebP photo, or not decodable (415)
        ├── Unauthenticated    no valid session, ticket or credentials (401)
        ├── CsrfFailed         state-changing request without the session's CSRF token (403)
        ├── OriginRefused      Origin not in the allowed list (403)
        ├── Forbidden          authenticated, but this user may not do this (403)
        ├── NotFound           no such resource visible to this user (404)
        ├── Conflict           the resource is in a state that does not allow this (409)
            ├── NotAvailable   a staff member on a pause or away asked for the next case
            └── NotHolder      a staff write to a case she does not hold (now)
        ├── RateLimited        too many requests, frames, or connections (429)
        └── Unavailable        a dependency (e-ID broker, SMS gateway) failed (503)
"""

from __future__ import annotations

from collections.abc import Mapping


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
    """Triage refused an input; the session is unchanged.

    ``text`` is what the citizen reads, by language (``{"sv": ..., "en": ...}``);
    ``message`` is the same in English for logs and API clients.
    """

    code = "triage_error"

    def __init__(self, message: str, text: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.text = dict(text) if text else {"sv": message, "en": message}


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


class RequestError(DirektError):
    """A client request was refused; ``status`` is the HTTP status that carries it."""

    code = "bad_request"
    status = 400


class BadRequest(RequestError):
    code = "bad_request"


class TooLarge(RequestError):
    code = "too_large"
    status = 413


class PhotoRejected(RequestError):
    code = "photo_rejected"
    status = 415


class Unauthenticated(RequestError):
    code = "unauthenticated"
    status = 401


class CsrfFailed(RequestError):
    code = "csrf_failed"
    status = 403


class OriginRefused(RequestError):
    code = "origin_refused"
    status = 403


class Forbidden(RequestError):
    code = "forbidden"
    status = 403


class NotFound(RequestError):
    code = "not_found"
    status = 404


class Conflict(RequestError):
    code = "conflict"
    status = 409


class NotAvailable(Conflict):
    """A staff member on a pause or away asked for the next case."""

    code = "not_available"


class NotHolder(Conflict):
    """A staff member wrote to a case she does not hold (released, moved, taken over)."""


class RateLimited(RequestError):
    code = "rate_limited"
    status = 429


class Unavailable(RequestError):
    code = "unavailable"
    status = 503
