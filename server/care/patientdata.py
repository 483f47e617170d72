"""Everything held about one patient: an export (GDPR art. 15, with the log extract the
patient data law gives them) and an erasure that respects the retention rules (art. 17.3 b:
the record and the audit log are kept as the law requires).

A patient's data is found by what it says, not through an index keyed by a secret: every
case file whose patient (or guardian) is the personnummer (SCAN in batches), with its
transcript, photos and queue record; every booking and every triage session naming them; every
audit record about them. An export or erasure is rare; reading every case file is its price.

Both are audited before the data leaves or goes: one ``data.export`` / ``data.erase`` record
for the operation (detail: counts), and one ``case.export`` / ``case.erase`` record per case,
which names the patient, so the patient's own log extract shows it, and one ``booking.export`` /
``booking.erase`` record per booking. Personal identity numbers
go to the audit and to the export the operator asked for, never to the application log.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import msgpack
import structlog

from direkt.queue.keys import RegionKeys, case_region
from direkt.queue.scripts import RedisClient, redis_errors
from direkt.server.care.audit import AuditLog, AuditRecord
from direkt.server.care.bookingdata import TIME_FIELDS, BookingData, booking_time
from direkt.server.care.casefile import PHONE_FIELD, CaseFile
from direkt.server.care.retention import file_time, photo_key_time, queue_record_time, stream_time
from direkt.server.care.transcript import REPLAY_PAGE
from direkt.server.errors import NotFound
from direkt.server.redis import keys
from direkt.server.retentionrules import SOURCES, RetentionRules

log = structlog.get_logger("direkt.patientdata")
BATCH = 500
ROLE = "operator"  # who runs `direkt data …`: an operator of the region, named by their login


@dataclass
class Held:
    """What is held about one patient, as read."""

    files: list[CaseFile] = field(default_factory=list)
    raw_files: dict[str, bytes] = field(default_factory=dict)
    triage: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> the stored session
    audit: list[AuditRecord] = field(default_factory=list)
    bookings: list[dict[str, str]] = field(default_factory=list)  # each booking's stored fields

    @property
    def empty(self) -> bool:
        return not (self.files or self.triage or self.audit or self.bookings)


def json_ready(value: Any) -> Any:
    """Stored msgpack values made JSON-ready: bytes as base64 text, keys as text."""
    if isinstance(value, bytes):
        try:
            return value.decode()
        except UnicodeDecodeError:
            return {"base64": base64.b64encode(value).decode()}
    if isinstance(value, Mapping):
        return {str(json_ready(k)): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    return value


class PatientData:
    """Args:
    client: a Redis or Redis Cluster client.
    rules: the retention rules, which decide what an erasure may remove.
    audit: where exports and erasures are recorded.
    """

    def __init__(self, client: RedisClient, rules: RetentionRules, audit: AuditLog, batch: int = BATCH) -> None:
        self.client, self.rules, self.audit, self.batch = client, rules, audit, batch
        self.bookings = BookingData(client, batch)

    async def held(self, pnr: str) -> Held:
        """Every case file, booking, triage session and audit record about ``pnr`` (as patient or guardian)."""
        found = Held(audit=await self.audit.for_patient(pnr), bookings=await self.bookings.of_patient(pnr))
        async for _, raw in self._scan_values(keys.case_file_pattern(), "hget", "f"):
            file = CaseFile(**msgpack.unpackb(raw)) if raw is not None else None
            if file is not None and pnr in (file.patient_pnr, file.guardian_pnr):
                found.files.append(file)
                found.raw_files[file.case_id] = raw
        async for key, raw in self._scan_values(keys.triage_pattern(), "get"):
            session = msgpack.unpackb(raw) if raw is not None else {}
            if pnr in (session.get("patient"), session.get("guardian")):
                found.triage[key] = session
        found.files.sort(key=lambda f: f.created_ms)
        found.files = [await self._with_phone(f) for f in found.files]
        return found

    async def _with_phone(self, file: CaseFile) -> CaseFile:
        """The number for notices as changed while waiting (``CaseFiles.set_phone``'s own field)."""
        with redis_errors():
            phone: Any = await self.client.hget(keys.case_file(file.case_id), PHONE_FIELD)
        return file if phone is None else replace(file, phone=phone.decode())

    async def _scan_values(self, match: str, command: str, *args: str) -> Any:
        batch: list[str] = []
        with redis_errors():
            async for key in self.client.scan_iter(match=match, count=self.batch):
                batch.append(key.decode() if isinstance(key, bytes) else key)
                if len(batch) >= self.batch:
                    for pair in await self._values(batch, command, args):
                        yield pair
                    batch = []
        for pair in await self._values(batch, command, args):
            yield pair

    async def _values(self, batch: Sequence[str], command: str, args: Sequence[str]) -> list[tuple[str, Any]]:
        if not batch:
            return []
        pipe = self.client.pipeline(transaction=False)
        for key in batch:
            getattr(pipe, command)(key, *args)
        with redis_errors():
            return list(zip(batch, await pipe.execute(), strict=True))

    async def export(self, pnr: str, now_ms: int, actor: str) -> dict[str, Any]:
        """Everything held about ``pnr``, JSON-ready; audited before it is returned.

        Raises:
            NotFound: nothing at all is held about ``pnr`` (the attempt is audited).
            RedisUnavailable: Redis failed.
        """
        held = await self.held(pnr)
        cases = [await self._case_export(file, pnr) for file in held.files]
        await self._record(now_ms, actor, "export", held, f"cases:{len(cases)}/bookings:{len(held.bookings)}")
        if held.empty:
            raise NotFound("nothing is held about this patient")
        log.info("patient_export", cases=len(cases), triage_sessions=len(held.triage), audit=len(held.audit))
        return {
            "patient": pnr,
            "exported_ms": now_ms,
            "cases": cases,
            "bookings": [{"as": _role(b.get("patient_pnr"), pnr)} | b for b in held.bookings],
            "triage_sessions": [{"id": k.rpartition(":")[2], **json_ready(v)} for k, v in held.triage.items()],
            "audit": [json_ready(rec.to_fields()) | {"ts_ms": rec.ts_ms} for rec in held.audit],
            "retention_days": {kind: self.rules.days(kind) for kind in SOURCES},
        }

    async def _case_export(self, file: CaseFile, pnr: str) -> dict[str, Any]:
        case_id = file.case_id
        return {
            "case": case_id,
            "as": "patient" if file.patient_pnr == pnr else "guardian",
            "file": json_ready(asdict(file)),
            "transcript": await self._transcript(case_id),
            "photos": [
                {"id": key.rpartition(":")[2], "content_type": ctype, "base64": base64.b64encode(data).decode()}
                for key, (ctype, data) in (await self._photos(case_id)).items()
            ],
            "queue_record": json_ready(await self._queue_record(case_id)),
        }

    async def _transcript(self, case_id: str) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = []
        start = "-"
        while True:
            with redis_errors():
                page: Any = await self.client.xrange(keys.chat(case_id), min=start, max="+", count=REPLAY_PAGE)
            for entry_id, data in page:
                body = data.get(b"m")
                entries.append({"id": entry_id.decode(), **json_ready(msgpack.unpackb(body) if body else {})})
            if len(page) < REPLAY_PAGE:
                return entries
            start = "(" + page[-1][0].decode()

    async def _photos(self, case_id: str) -> dict[str, tuple[str, bytes]]:
        found: dict[str, tuple[str, bytes]] = {}
        async for key, raw in self._scan_values(keys.photo_pattern(case_id), "get"):
            if raw is not None:
                ctype, _, data = raw.partition(b"\n")
                found[key] = (ctype.decode(), data)
        return found

    async def _queue_record(self, case_id: str) -> dict[str, Any] | None:
        with redis_errors():
            raw: Any = await self.client.hgetall(RegionKeys(case_region(case_id)).case(case_id))
        if not raw:
            return None
        record = {k.decode(): v for k, v in raw.items()}
        if record.get("meta"):
            record["meta"] = msgpack.unpackb(record["meta"])
        return record

    async def erase(self, pnr: str, now_ms: int, actor: str) -> dict[str, Any]:
        """Erase what the retention rules let go now; keep, and say why, what they keep.

        Erased: triage sessions naming ``pnr``; finished cases' queue records; record material
        (case file, transcript, photos, bookings) already past its rule. Kept: the rest of the
        record (Patientdatalagen), a live case's queue record, and the audit log (HSLF-FS 2016:40).

        Raises:
            NotFound: nothing at all is held about ``pnr`` (the attempt is audited).
            RedisUnavailable: Redis failed.
        """
        held = await self.held(pnr)
        erased = dict.fromkeys(
            ("triage_sessions", "queue_records", "case_files", "transcripts", "photos", "bookings"), 0
        )
        kept = dict.fromkeys(("case_files", "transcripts", "photos", "bookings", "queue_records", "audit"), 0)
        kept["audit"] = len(held.audit)
        plan: list[str] = list(held.triage)
        erased["triage_sessions"] = len(plan)
        per_case: dict[str, list[str]] = {}
        for file in held.files:
            doomed = await self._case_erasure(file, held.raw_files[file.case_id], now_ms, erased, kept)
            per_case[file.case_id] = doomed
            plan += doomed
        cutoff = self.rules.cutoff_ms("bookings", now_ms)
        doomed_bookings = [b for b in held.bookings if booking_time([b.get(f) for f in TIME_FIELDS]) < cutoff]
        erased["bookings"], kept["bookings"] = len(doomed_bookings), len(held.bookings) - len(doomed_bookings)
        total = sum(erased.values())
        await self._record(now_ms, actor, "erase", held, f"erased:{total}/kept:{sum(kept.values())}", per_case)
        if held.empty:
            raise NotFound("nothing is held about this patient")
        await self._delete(plan)
        for booking in doomed_bookings:  # each in one step with its slot, calendar and index entries
            await self.bookings.remove(keys.booking(booking["unit"], booking["id"]), cutoff)
        log.info("patient_erase", **{f"erased_{k}": v for k, v in erased.items()})
        return {"erased": erased, "kept": kept, "why_kept": {k: SOURCES[k] for k in kept if kept[k]}}

    async def _case_erasure(
        self, file: CaseFile, raw: bytes, now_ms: int, erased: dict[str, int], kept: dict[str, int]
    ) -> list[str]:
        """The keys of one case that may go now; counts what goes and what stays."""
        case_id, doomed = file.case_id, list[str]()
        record_key = RegionKeys(case_region(case_id)).case(case_id)
        with redis_errors():
            row: Any = await self.client.hmget(record_key, "state", "closed_at", "queued_at", "submitted")
            last: Any = await self.client.xrevrange(keys.chat(case_id), "+", "-", 1)
        ended = queue_record_time(*row) if row[0] is not None else None
        if row[0] is not None:
            _count(ended is not None, "queue_records", erased, kept, doomed, record_key)
        if last:
            expired = self.rules.expired("transcripts", stream_time(last[0][0]), now_ms)
            chat = [keys.chat(case_id), keys.chat_ids(case_id), keys.chat_epoch(case_id), keys.chat_read(case_id)]
            _count(expired, "transcripts", erased, kept, doomed, *chat)
        for key in await self._photos(case_id):
            _count(self.rules.expired("photos", photo_key_time(key), now_ms), "photos", erased, kept, doomed, key)
        expired = self.rules.expired("case_files", file_time(raw, case_id), now_ms)
        _count(expired, "case_files", erased, kept, doomed, keys.case_file(case_id))
        return doomed

    async def _delete(self, doomed: Sequence[str]) -> None:
        for start in range(0, len(doomed), self.batch):
            pipe = self.client.pipeline(transaction=False)
            for key in doomed[start : start + self.batch]:
                pipe.delete(key)
            with redis_errors():
                await pipe.execute()

    async def _record(
        self,
        now_ms: int,
        actor: str,
        verb: str,
        held: Held,
        detail: str,
        per_case: Mapping[str, list[str]] | None = None,
    ) -> None:
        """One operation record, then one record per case naming its patient (the log extract shows it)."""
        recs = [AuditRecord(now_ms, actor, ROLE, "", f"data.{verb}", "", "", "", "ok", detail)]
        for file in held.files:
            gone = None if per_case is None else per_case.get(file.case_id)
            detail = "" if gone is None else f"keys:{len(gone)}"
            recs.append(
                AuditRecord(now_ms, actor, ROLE, file.home_unit, f"case.{verb}", file.case_id, file.patient_pnr,
                            file.guardian_pnr, "ok", detail)
            )  # fmt: skip
        for booking in held.bookings:  # as the booking service audits a booking: its case, else itself
            booking_id = booking.get("id", "")
            recs.append(
                AuditRecord(now_ms, actor, ROLE, booking.get("unit", ""), f"booking.{verb}",
                            booking.get("case") or booking_id, booking.get("patient_pnr", ""),
                            booking.get("guardian_pnr", ""), "ok", booking_id)
            )  # fmt: skip
        await self.audit.record_all(recs)


def _count(expired: bool, kind: str, erased: dict[str, int], kept: dict[str, int], doomed: list[str], *k: str) -> None:
    (erased if expired else kept)[kind] += 1
    if expired:
        doomed.extend(k)


def _role(patient_pnr: str | None, pnr: str) -> str:
    return "patient" if patient_pnr == pnr else "guardian"
