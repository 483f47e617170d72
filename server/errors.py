"""The one exception tree of direkt, and the one mapping into it from the pure cores.

Every error a user, an operator or a client can cause is a ``DirektError`` with
a stable ``code``; the hub and the CLI map codes to frames, HTTP statuses and
exit statuses in one place each. Messages name the problem in plain words and
never carry personal data or internals.

The pure cores (``triage/``, ``signaling/call.py`` and ``signaling/sdp.py``)
import nothing from the server: they raise their own errors, and the shell
turns them into these where it calls a core, with ``as_direkt_errors()``
(``to_direkt_error`` below holds the table). Python's ``except`` follows only real
subclasses, so a core error must be converted before any ``except DirektError``
can see it.

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
    ├── TriageError            a triage input was refused; the session is unchanged (direkt.triage.errors)
        ├── NotEligible        age or proxy rules exclude this entry (says what to do)
        ├── NotAsked           an answer to a question that is not the current one
        ├── InvalidAnswer      unknown option, out-of-range number, wrong type
        └── StaleSession       the session was made by another knowledge-base version
    ├── KnowledgeBaseError     the triage knowledge base failed validation (direkt.triage.errors)
    └── RequestError           a client request was refused (HTTP status, frame code)
        ├── BadRequest         malformed body or frame, wrong types, unknown fields (400)
            ├── BadSdp         a session description unfit for the call (signaling.sdp)
            └── BadCandidate   not an RFC 8839 ICE candidate (signaling.sdp)
        ├── TooLarge           body, frame or attachment over its limit (413)
        ├── PhotoRejected      not a JPEG/PNG/WebP photo, or not decodable (415)
        ├── Unauthenticated    no valid session, ticket or credentials (401)
        │   └── AssuranceTooLow  the e-ID login's assurance level (acr) is below the required one (401)
        ├── CsrfFailed         state-changing request without the session's CSRF token (403)
        ├── OriginRefused      Origin not in the allowed list (403)
        ├── ConfigRejected     an edit of the live configuration fails its validation (422, names the field)
        ├── VersionRequired    an edit of the live configuration without If-Match (428)
        ├── Forbidden          authenticated, but this user may not do this (403)
            └── NotCallParty   not one of the call's two parties (signaling.call)
        ├── NotFound           no such resource visible to this user (404)
            └── NoCall         no call on the case, or not the one named (signaling.call)
        ├── Conflict           the resource is in a state that does not allow this (409)
            ├── NotAvailable   a staff member on a pause or away asked for the next case
            ├── NotHolder      a staff write to a case she does not hold (now)
            ├── ConfigConflict an edit of the live configuration made against a version no longer current
            ├── NoConsent      media before the citizen accepted the call (signaling.call)
            └── CallStateError the call's state does not allow this event (signaling.call)
        ├── RateLimited        too many requests, frames, or connections (429)
        └── Unavailable        a dependency (e-ID broker, SMS gateway) failed (503)
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TypeVar

from direkt.signaling import call, sdp
from direkt.triage import errors as triage


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


def read_config_file(path: str | os.PathLike[str]) -> bytes:
    """A configuration file's bytes (the region file, the catalogue).

    Raises:
        ConfigError: the file cannot be read, with the reason.
    """
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot read the file ({exc.strerror})") from None


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


class BadSdp(BadRequest):
    code = "bad_sdp"


class BadCandidate(BadRequest):
    code = "bad_candidate"


class TooLarge(RequestError):
    code = "too_large"
    status = 413


class PhotoRejected(RequestError):
    code = "photo_rejected"
    status = 415


class Unauthenticated(RequestError):
    code = "unauthenticated"
    status = 401


class AssuranceTooLow(Unauthenticated):
    """The login's assurance level (``acr``) is below the one the region requires."""

    code = "assurance_too_low"


class CsrfFailed(RequestError):
    code = "csrf_failed"
    status = 403


class OriginRefused(RequestError):
    code = "origin_refused"
    status = 403


class Forbidden(RequestError):
    code = "forbidden"
    status = 403


class NotCallParty(Forbidden):
    code = "not_call_party"


class NotFound(RequestError):
    code = "not_found"
    status = 404


class NoCall(NotFound):
    code = "no_call"


class Conflict(RequestError):
    code = "conflict"
    status = 409


class NoConsent(Conflict):
    code = "no_consent"


class CallStateError(Conflict):
    code = "call_state"


class NotAvailable(Conflict):
    """A staff member on a pause or away asked for the next case."""

    code = "not_available"


class ConfigRejected(RequestError):
    """An edit of the live configuration that fails its validation; ``field`` names what to fix."""

    code = "config_invalid"
    status = 422

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}" if field else problem)
        self.field = field


class VersionRequired(RequestError):
    """An edit of the live configuration without the version it was made against (``If-Match``)."""

    code = "version_required"
    status = 428


class ConfigConflict(Conflict):
    """An administrator's edit named a configuration version that is no longer the current one."""

    code = "config_conflict"


class NotHolder(Conflict):
    """A staff member wrote to a case she does not hold (released, moved, taken over)."""


class RateLimited(RequestError):
    code = "rate_limited"
    status = 429


class Unavailable(RequestError):
    code = "unavailable"
    status = 503


# -- the cores' own errors, as the shell sees them -----------------------------------------------

CORE_ERRORS = (triage.TriageFailure, call.CallError, sdp.SignalRefused)
"""The roots of the pure cores' error trees: what ``as_direkt_errors`` converts."""

CoreError = triage.TriageFailure | call.CallError | sdp.SignalRefused

_REFUSALS: dict[type[triage.Refused], type[TriageError]] = {
    triage.Refused: TriageError,
    triage.NotEligible: NotEligible,
    triage.NotAsked: NotAsked,
    triage.InvalidAnswer: InvalidAnswer,
    triage.StaleSession: StaleSession,
}
_SIGNALING: dict[type[call.CallError | sdp.SignalRefused], type[RequestError]] = {
    call.CallError: Conflict,
    call.NoCall: NoCall,
    call.NotParty: NotCallParty,
    call.NoConsent: NoConsent,
    call.CallStateError: CallStateError,
    sdp.SignalRefused: BadRequest,
    sdp.BadSdp: BadSdp,
    sdp.BadCandidate: BadCandidate,
}
E = TypeVar("E", bound=Exception)
D = TypeVar("D", bound=DirektError)


def _nearest(table: Mapping[type[E], type[D]], exc: E) -> type[D]:
    """The server class of ``exc``'s own class, or of its nearest mapped base."""
    return next(table[kind] for kind in type(exc).__mro__ if kind in table)


def to_direkt_error(exc: CoreError) -> DirektError:
    """The server's error for an error a pure core raised: same message (and the citizen's text), a wire code."""
    if isinstance(exc, triage.KnowledgeBaseError):
        return KnowledgeBaseError(exc.problems)
    if isinstance(exc, triage.Refused):
        return _nearest(_REFUSALS, exc)(exc.message, exc.text)
    if isinstance(exc, triage.TriageFailure):
        return DirektError(exc.message)  # unreadable input of the triage tools
    return _nearest(_SIGNALING, exc)(exc.message)


@contextmanager
def as_direkt_errors() -> Iterator[None]:
    """Where the shell calls a pure core: an error the core raises leaves the block as a ``DirektError``.

    Raises:
        DirektError: ``to_direkt_error`` of the core's error, chained to it.
    """
    try:
        yield
    except CORE_ERRORS as exc:
        raise to_direkt_error(exc) from exc
