"""The audit log: every access to patient data, kept apart from the application log.

HSLF-FS 2016:40 4 kap. 9 § asks that each access to patient data is logged
with the action, the care unit, the time, the user and the patient, and
Patientdatalagen lets patients ask who has read their records (the "loggutdrag"
that ``direkt audit export`` produces). Records are kept at least five years.

Two stores, written in this order:

1. the Redis stream ``dk:audit`` (XADD without MAXLEN: append-only; only the
   retention job trims it, by time, once records pass the region's audit rule
   of at least five years); its id is the record's identity and orders the log;
2. a JSON-lines file, one record per line with its stream id, opened with
   O_APPEND and fsynced, mode 0o600: a copy outside Redis for archiving.

Personal identity numbers go to these stores only, never to structlog.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import orjson
import structlog

from direkt.queue.model import Staff
from direkt.queue.scripts import RedisClient, redis_errors
from direkt.server.care.casefile import CaseFile
from direkt.server.errors import DirektError
from direkt.server.redis.keys import AUDIT_STREAM

log = structlog.get_logger("direkt.audit")

OUTCOMES = ("ok", "denied")
# A personal identity number (or coordination number) in its 12-digit form.
_PNR = re.compile(r"[0-9]{12}")
# Actions, roles and details are short codes. A code has no spaces, so message
# text cannot be smuggled into the audit log (or out of it in an export).
_CODE = re.compile(r"[A-Za-z0-9_.:/@+-]{0,64}")
_CODES = ("role", "action", "case_id", "unit", "detail")
_REQUIRED_CODES = ("role", "action", "case_id")
# Actions that steer the service rather than read a patient's data: a
# supervisor closing a unit's intake, an administrator editing a unit, a
# statistics read, the retention job. They name no case and no patient.
OPERATION_PREFIXES = ("unit.", "staff.", "config.", "stats.", "retention.", "data.")
_FILE_MODE = 0o600
_DIR_MODE = 0o700


class AuditError(DirektError):
    """An audit record is malformed, or the audit file is corrupt (not at its end)."""

    code = "audit_invalid"


@dataclass(frozen=True)
class AuditRecord:
    """One access to patient data.

    Attributes:
        ts_ms: when, epoch milliseconds (a parameter, never read from a clock here).
        actor: staff id or citizen user id.
        role: "nurse", "doctor", "administrator", "citizen", "guardian", "system", …
        unit: the care unit the actor acted for, "" if none.
        action: e.g. "case.read", "case.claim", "transcript.read", "access.denied".
        case_id: the case accessed.
        patient: the patient's 12-digit personal identity number; may be "" only
            for a denied access to a case that does not exist.
        guardian: 12-digit number of a guardian acting for a child, else "".
        outcome: "ok" or "denied".
        detail: a short code (an outcome, a target unit), never message text.

    Raises:
        AuditError: on construction, naming the bad field (never its value).
    """

    ts_ms: int
    actor: str
    role: str
    unit: str
    action: str
    case_id: str
    patient: str
    guardian: str = ""
    outcome: str = "ok"
    detail: str = ""

    def __post_init__(self) -> None:
        problem = _problem(self)
        if problem:
            raise AuditError(f"invalid audit record: {problem}")

    def to_fields(self) -> dict[str, str]:
        """The record as stream fields (all strings)."""
        return {name: str(value) for name, value in asdict(self).items()}

    @classmethod
    def from_fields(cls, data: Mapping[Any, Any]) -> AuditRecord:
        """Rebuild a record from stream fields (bytes or str) or a parsed JSON line.

        Unknown fields (such as the file's ``id``) are ignored.

        Raises:
            AuditError: a field is missing or has the wrong type.
        """
        text = {_text(k): v for k, v in data.items()}
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in text:
                values[f.name] = _text(text[f.name]) if f.name != "ts_ms" else _int(text[f.name])
        try:
            return cls(**values)
        except TypeError:
            raise AuditError("invalid audit record: a required field is missing") from None

    def to_json(self, *, stream_id: str = "") -> bytes:
        """One JSON object (no newline); with ``"id"`` first when a stream id is given."""
        head = {"id": stream_id} if stream_id else {}
        return orjson.dumps({**head, **asdict(self)})


def operation(
    ts_ms: int, staff: Staff, action: str, *, unit: str = "", detail: str = "", ok: bool = True
) -> AuditRecord:
    """The record of a staff member steering the service (no case, no patient).

    ``action`` starts with one of ``OPERATION_PREFIXES``; ``detail`` is a short
    code (a field name, a date, a target), never free text.
    """
    role = (
        "admin" if "admin" in staff.roles else "supervisor" if "supervisor" in staff.roles else staff.profession.value
    )
    return AuditRecord(ts_ms, staff.id, role, unit, action, "", "", "", "ok" if ok else "denied", detail)


def is_operation(action: str) -> bool:
    """Whether ``action`` steers the service rather than touching a patient's data."""
    return action.startswith(OPERATION_PREFIXES)


def stale_token_refusal(ts_ms: int, staff: Staff, unit: str, file: CaseFile, action: str) -> AuditRecord:
    """The record of a staff write refused because its fencing token is stale (TARGETS 10).

    The waiting room's scripts only count such a refusal (``stale_refused``);
    whoever catches the ``StaleToken`` records this, once per refusal.

    Args:
        unit: the case's unit as the waiting room has it now.
        action: what was refused: "case.heartbeat", "transcript.write", ….
    """
    return AuditRecord(
        ts_ms, staff.id, staff.profession.value, unit, action, file.case_id, file.patient_pnr, file.guardian_pnr,
        "denied", "stale_token",
    )  # fmt: skip


def _problem(rec: AuditRecord) -> str:
    if isinstance(rec.ts_ms, bool) or not isinstance(rec.ts_ms, int) or rec.ts_ms < 0:
        return "ts_ms must be a non-negative integer"
    if rec.outcome not in OUTCOMES:
        return "outcome must be ok or denied"
    if not isinstance(rec.actor, str) or not rec.actor:
        return "actor is empty"
    operation = isinstance(rec.action, str) and is_operation(rec.action)
    required = ("role", "action") if operation else _REQUIRED_CODES
    bad_code = next((name for name in _CODES if not _is_code(getattr(rec, name), name in required)), "")
    if bad_code:
        return f"{bad_code} must be a short code without spaces"
    return _operation_problem(rec) if operation else _patient_problem(rec)


def _operation_problem(rec: AuditRecord) -> str:
    return "" if rec.patient == rec.guardian == "" else "an operation names no patient"


def _patient_problem(rec: AuditRecord) -> str:
    if not (_is_pnr(rec.patient) or (rec.patient == "" and rec.outcome == "denied")):
        return "patient is not a 12-digit personal identity number"
    return "" if rec.guardian == "" or _is_pnr(rec.guardian) else "guardian is not a 12-digit personal identity number"


def _is_code(value: object, required: bool) -> bool:
    return isinstance(value, str) and bool(_CODE.fullmatch(value)) and (bool(value) or not required)


def _is_pnr(value: object) -> bool:
    return isinstance(value, str) and bool(_PNR.fullmatch(value))


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, str):
        return value
    raise AuditError(f"invalid audit record: expected text, got {type(value).__name__}")


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise AuditError("invalid audit record: ts_ms is not an integer") from None


class AuditLog:
    """Appends audit records to Redis and a JSON-lines file; reads one patient's records.

    Args:
        client: a Redis or Redis Cluster client (the stream is one key, one slot).
        path: the JSON-lines file, or None for Redis only.
    """

    def __init__(self, client: RedisClient, path: Path | None) -> None:
        self._client = client
        self._path = path

    async def record(self, rec: AuditRecord) -> str:
        """Store one record; call it before the access is granted.

        Fails closed on Redis: if the record cannot be stored there, the caller
        must refuse the access. The file is a second copy: if writing it fails
        the record is already durable in Redis, so a warning is logged (without
        personal data) and the access goes on rather than taking care down
        because of a full disk. The file is written after Redis, so it never
        holds a record that the log of record (the stream) lacks.

        Returns:
            The record's stream id ("<ms>-<seq>"), increasing with each record.

        Raises:
            RedisUnavailable: Redis did not store the record.
        """
        entry: dict[Any, Any] = rec.to_fields()  # redis-py wants its own (invariant) dict type
        with redis_errors():
            raw: Any = await self._client.xadd(AUDIT_STREAM, entry)
        stream_id = raw.decode() if isinstance(raw, bytes) else str(raw)
        if self._path is not None:
            await self._write_file(self._path, rec.to_json(stream_id=stream_id) + b"\n", stream_id)
        return stream_id

    async def record_all(self, recs: Sequence[AuditRecord]) -> list[str]:
        """Store several records, in order, as ``record`` does one: one round trip to Redis, one
        write (and fsync) to the file. For one read that shows several cases (earlier contacts).

        Returns:
            The records' stream ids, in order.

        Raises:
            RedisUnavailable: Redis did not store them (some may have been stored: each is a
                true record of an access that the caller must now refuse).
        """
        if not recs:
            return []
        pipe = self._client.pipeline(transaction=False)
        for rec in recs:
            entry: dict[Any, Any] = rec.to_fields()
            pipe.xadd(AUDIT_STREAM, entry)
        with redis_errors():
            raws: list[Any] = await pipe.execute()
        ids = [raw.decode() if isinstance(raw, bytes) else str(raw) for raw in raws]
        if self._path is not None:
            lines = b"".join(rec.to_json(stream_id=i) + b"\n" for rec, i in zip(recs, ids, strict=True))
            await self._write_file(self._path, lines, ids[0])
        return ids

    async def _write_file(self, path: Path, line: bytes, stream_id: str) -> None:
        try:
            await asyncio.to_thread(append_line, path, line)
        except OSError as exc:
            # Only the stream id and the error class: the path and the record stay out of the log.
            log.warning("audit.file_write_failed", stream_id=stream_id, error=type(exc).__name__, errno=exc.errno)

    async def for_patient(self, pnr: str, *, page: int = 1000) -> list[AuditRecord]:
        """Every record about ``pnr`` as patient or as guardian, oldest first.

        Reads the whole stream in pages of ``page`` entries (an export is rare,
        so no index is kept beside the stream).

        Raises:
            AuditError: ``pnr`` is not 12 digits, or a stored record is malformed.
            RedisUnavailable: Redis could not be read.
            ValueError: ``page`` is below 1.
        """
        if not _is_pnr(pnr):
            raise AuditError("not a 12-digit personal identity number")
        if page < 1:
            raise ValueError("page must be at least 1")
        found: list[AuditRecord] = []
        start = "-"
        while True:
            with redis_errors():
                entries: Any = await self._client.xrange(AUDIT_STREAM, min=start, max="+", count=page)
            found += [r for r in (AuditRecord.from_fields(data) for _, data in entries) if _about(r, pnr)]
            if len(entries) < page:
                return found
            start = "(" + _text(entries[-1][0])  # exclusive: continue after the last id read


def _about(rec: AuditRecord, pnr: str) -> bool:
    return pnr in (rec.patient, rec.guardian)


def append_line(path: Path, line: bytes) -> None:
    """Append ``line`` to ``path`` and fsync it (blocking; run it in a thread).

    One write() on an O_APPEND descriptor: lines from several server processes
    do not interleave on a local file system.

    Raises:
        OSError: the directory or the file cannot be created or written.
    """
    try:
        fd = _open_for_append(path)
    except FileNotFoundError:  # the first line: the folder is made then, not checked at every line
        path.parent.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
        fd = _open_for_append(path)
    try:
        written = os.write(fd, line)
        if written != len(line):
            raise OSError(f"short write to the audit file ({written} of {len(line)} bytes)")
        os.fsync(fd)
    finally:
        os.close(fd)


def _open_for_append(path: Path) -> int:
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, _FILE_MODE)


def read_file(path: Path, pnr: str) -> list[AuditRecord]:
    """The records about ``pnr`` (as patient or guardian) in a JSON-lines audit file.

    Returns them in stream-id order (concurrent writers may append slightly out
    of order). A last line without its newline is a write cut short by a crash:
    it is kept if it parses and skipped otherwise.

    Raises:
        OSError: the file cannot be read.
        AuditError: ``pnr`` is not 12 digits, or a complete line is not a record
            (the message gives the line number, never the content).
    """
    if not _is_pnr(pnr):
        raise AuditError("not a 12-digit personal identity number")
    lines = path.read_bytes().split(b"\n")
    last = lines.pop()  # "" when the file ends with a newline
    found = [_parse_line(line, number) for number, line in enumerate(lines, 1) if line.strip()]
    if last.strip():
        with contextlib.suppress(AuditError):  # a crash cut the write short; Redis holds the record
            found.append(_parse_line(last, len(lines) + 1))
    found.sort(key=lambda item: item[0])
    return [rec for _, rec in found if _about(rec, pnr)]


def _parse_line(line: bytes, number: int) -> tuple[tuple[int, int], AuditRecord]:
    try:
        data = orjson.loads(line)
        if not isinstance(data, dict):
            raise AuditError("not an object")
        return _id_key(data.get("id", "")), AuditRecord.from_fields(data)
    except (orjson.JSONDecodeError, AuditError):
        raise AuditError(f"audit file line {number} is not a valid record") from None


def _id_key(stream_id: Any) -> tuple[int, int]:
    ms, _, seq = _text(stream_id).partition("-")
    try:
        return int(ms), int(seq or 0)
    except ValueError:
        raise AuditError("bad stream id") from None
