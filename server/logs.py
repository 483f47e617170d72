"""Logging: structlog JSON lines rendered by orjson, with personal data dropped.

Follows structlog's production recipe (``docs/performance.md``): orjson
renderer, ``BytesLoggerFactory``, ``make_filtering_bound_logger``,
``merge_contextvars`` first, UTC ISO timestamps. Third-party stdlib loggers
(uvicorn, websockets, redis, aiortc) go through ``ProcessorFormatter`` so that
every line is JSON and passes the same filter; their debug traces of what
goes over the wire (WebSocket frames and headers, SDP) are dropped
(``WireTrace``).

Privacy rule (DESIGN, Patientdatalagen): logs never hold personal identity
numbers, message text, triage answers, secrets or SDP. ``drop_personal_data``
removes fields with such names and masks anything shaped like a personnummer
in every remaining string.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import sys
from collections.abc import MutableMapping
from typing import Any, BinaryIO

import orjson
import structlog

# YYYYMMDD-NNNN, YYMMDD-NNNN, YYMMDD+NNNN (over 100), and the same without a
# separator; not part of a longer run of digits (timestamps, ids).
PERSONNUMMER = re.compile(r"(?<![0-9])(?:19|20)?[0-9]{2}[01][0-9][0-9]{2}[-+]?[0-9]{4}(?![0-9])")
MASK = "[personnummer]"
# Secrets in URLs (uvicorn logs the WebSocket request line with its query).
URL_SECRET = re.compile(r"(?i)\b(ticket|code|state|token|session)=[^\s&\"']+")
DROPPED_KEYS = frozenset(
    {
        "text", "message_text", "body", "message", "note", "journal_note", "answers", "answer",
        "free_text", "personnummer", "pnr", "personal_identity_number", "ssn", "password",
        "ticket", "session", "cookie", "authorization", "secret", "sdp", "candidate",
    }
)  # fmt: skip
_MAX_DEPTH = 6


def drop_personal_data(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: remove sensitive fields, mask personnummer in values."""
    for key in [k for k in event if isinstance(k, str) and k.lower() in DROPPED_KEYS]:
        del event[key]
    for key, value in event.items():
        event[key] = _scrub(value, 0)
    return event


def _scrub(value: Any, depth: int) -> Any:
    if isinstance(value, str):
        value = PERSONNUMMER.sub(MASK, value)
        # A secret in a URL has an "="; the substitution with a group reference runs through
        # re's Python-level template code (about 4.5 µs a string), so only where one may be.
        return URL_SECRET.sub(r"\1=[secret]", value) if "=" in value else value
    if depth >= _MAX_DEPTH:
        return value if isinstance(value, int | float | bool) or value is None else "[nested]"
    if isinstance(value, dict):
        return {
            k: _scrub(v, depth + 1) for k, v in value.items() if not (isinstance(k, str) and k.lower() in DROPPED_KEYS)
        }
    if isinstance(value, list | tuple):
        return [_scrub(v, depth + 1) for v in value]
    return value


def _drop_noise(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    event.pop("color_message", None)  # uvicorn's ANSI-coloured copy of the message
    return event


def _dumps_str(obj: Any, **kwargs: Any) -> str:
    return orjson.dumps(obj, **kwargs).decode()


_render_bytes = structlog.processors.JSONRenderer(serializer=orjson.dumps)
_render_str = structlog.processors.JSONRenderer(serializer=_dumps_str)


class _BytesHandler(logging.Handler):
    """Writes formatted stdlib records to the same binary stream as structlog."""

    def __init__(self, stream: BinaryIO) -> None:
        super().__init__()
        self.stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.stream.write(self.format(record).encode() + b"\n")
            self.stream.flush()
        except Exception:  # noqa: BLE001 - logging must never take the server down
            self.handleError(record)


class PerSocketNoise(logging.Filter):
    """Drops the INFO lines uvicorn and websockets write for every socket.

    ("connection open", "connection closed", the accepted request line.) The
    hub writes one canonical line per socket (``ws_open``, ``ws_closed``, with
    its id and role); the others made four lines of five in a reconnect storm,
    each about 80 µs of the hub's CPU. Warnings and errors, and uvicorn's own
    start and stop lines, are kept.
    """

    MESSAGES = frozenset({"connection open", "connection closed"})

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO:
            return True
        msg = record.msg
        return not (msg in self.MESSAGES or (isinstance(msg, str) and msg.startswith('%s - "WebSocket %s"')))


class WireTrace(logging.Filter):
    """Drops the debug records of libraries that trace what goes over the wire.

    At debug level websockets writes the start and end of every frame
    (``< TEXT '{"t":"send",…ut i armen"}' [151 bytes]``, hex for binary
    frames) and every handshake header, a browser's session cookie among them;
    aiortc writes whole SDP, aioice STUN messages with ICE credentials,
    httpcore response headers. None of that may be logged at any level
    (DESIGN: no message text, tokens or SDP in logs), and no field name tells
    ``drop_personal_data`` what it is. Their INFO and above are kept. Matched
    by the file that logs, not the logger's name: uvicorn hands websockets its
    own ``uvicorn.error`` logger.
    """

    PACKAGES = ("websockets", "aiortc", "aioice", "httpcore", "hpack", "h11")

    def __init__(self) -> None:
        super().__init__()
        self.dirs = tuple(found for found in map(_package_dir, self.PACKAGES) if found)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.INFO:
            return True
        return record.name.split(".", 1)[0] not in self.PACKAGES and not record.pathname.startswith(self.dirs)


def _package_dir(name: str) -> str:
    """The directory of an installed package (found without importing it), or ""."""
    spec = importlib.util.find_spec(name)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    return os.path.join(locations[0], "") if locations else ""


def configure_logging(level: str = "info", stream: BinaryIO | None = None) -> None:
    """Set up structlog and the standard library's root logger; idempotent."""
    stream = stream or sys.stdout.buffer
    numeric = logging.getLevelName(level.upper())
    # The level and the timestamp are added after the filter: they are ours, and the
    # personnummer pattern took 3 µs on a digit-rich timestamp in every line.
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.format_exc_info,
        drop_personal_data,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, _render_bytes],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.BytesLoggerFactory(stream),
        cache_logger_on_first_use=True,
    )
    handler = _BytesHandler(stream)
    handler.addFilter(WireTrace())  # on the handler: it sees every logger's records
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.ExtraAdder(), _drop_noise, *shared],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, _render_str],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(numeric)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    uvicorn_error = logging.getLogger("uvicorn.error")
    uvicorn_error.filters = [f for f in uvicorn_error.filters if not isinstance(f, PerSocketNoise)]
    if numeric > logging.DEBUG:  # at debug level every line stays
        uvicorn_error.addFilter(PerSocketNoise())
