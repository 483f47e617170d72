"""The retention job: removes each kind of data once its rule (``RetentionRules``) has passed.

Rules per kind (``direkt.server.retentionrules``): a transcript is dated by its
last message, a case file by its last change, a photo by its upload (the ULID
in its id; an older id without a time by its case's creation), a booking by
its visit's end (``bookingdata.py``: with its slot, calendar, owner-index and
vaccination-link entries), a finished
queue record by when it ended, a triage session by its start (the ULID id),
and the event log and the audit stream per entry (their stream ids are times).

- One run at a time across every server process: a Redis lock with an expiry
  (``SET NX PX``), renewed after each batch and given back by compare-and-delete,
  so a process that dies mid-run frees it within ``LOCK_MS``.
- Bounded work: keys are found with SCAN in batches of ``batch`` and each batch
  is read and removed in one pipeline; streams are trimmed with XTRIM MINID,
  which removes exactly the entries older than the cutoff.
- Exactly what has expired: an item is removed only when its own time is below
  its kind's cutoff; a live case's queue record is never removed.
- Audited: one record per run and kind, ``retention.remove`` with the detail
  ``<kind>:<count>`` (a dry run counts and removes nothing, and writes none).
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgpack
import structlog

from direkt.queue.ids import ulid_ms
from direkt.queue.keys import CASE_ID_PATTERN, RegionKeys
from direkt.queue.scripts import RedisClient, redis_errors
from direkt.server.care.audit import AuditLog, AuditRecord
from direkt.server.care.bookingdata import BookingData, booking_pattern
from direkt.server.care.photos import photo_time
from direkt.server.errors import DirektError
from direkt.server.identity.sessions import citizen_uid
from direkt.server.redis import keys
from direkt.server.retentionrules import KINDS, RetentionRules

log = structlog.get_logger("direkt.retention")

BATCH = 500
LOCK_MS = 10 * 60_000  # renewed after every batch: only a dead run holds it this long
# A queue record in any other state is live. A "moved" record is the only pointer from a case's
# home region to where it now waits (queue/lookup.py), so it is kept: removing it would lose a
# live case in the other region.
FINISHED = frozenset({"closed", "abandoned"})
SYSTEM = "system"

# KEYS[1] lock  ARGV[1] token  ARGV[2] ms: extend (ms > 0) or release (0) a lock we still hold.
_LOCK_SCRIPT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if tonumber(ARGV[2]) > 0 then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return redis.call('DEL', KEYS[1])
"""


class RetentionBusy(DirektError):
    """Another process holds the retention lock (or took it over mid-run)."""

    code = "retention_busy"


@dataclass(frozen=True)
class RetentionReport:
    """What one run removed (or, dry, would remove), per kind."""

    removed: Mapping[str, int]
    dry_run: bool = False

    @property
    def total(self) -> int:
        return sum(self.removed.values())


def case_of(key: str) -> str:
    """The case id in a case-tagged key (``dk:chat:{<case>}``, ``dk:photo:{<case>}:<id>``)."""
    return key.partition("{")[2].partition("}")[0]


def case_created_ms(case_id: str) -> int:
    """When a case was created, read from its id (``<region>.<ULID>``); 0 if it carries no time."""
    match = CASE_ID_PATTERN.fullmatch(case_id)
    try:
        return ulid_ms(match[2]) if match else 0
    except ValueError:
        return 0


def file_time(raw: bytes | None, case_id: str) -> int:
    """A case file's last change: created, chat opened or joined, closed."""
    try:
        data = msgpack.unpackb(raw) if raw is not None else {}
        return max(int(data.get(name) or 0) for name in ("created_ms", "ready_ms", "joined_ms", "closed_ms"))
    except (ValueError, TypeError, AttributeError, msgpack.UnpackException):
        return case_created_ms(case_id)  # unreadable: dated by its id, never kept for ever


def stream_time(entry_id: Any) -> int:
    """The millisecond part of a stream id."""
    text = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
    return int(text.partition("-")[0])


def queue_record_time(state: Any, *times: Any) -> int | None:
    """When a queue record ended; None while its case is live (never removed)."""
    text = state.decode() if isinstance(state, bytes) else state
    if text not in FINISHED:
        return None
    return max((int(t) for t in times if t not in (None, b"", "")), default=0)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RetentionJob:
    """Args:
    client: a Redis or Redis Cluster client.
    rules: the region file's retention rules.
    regions: the region ids whose queue records and event logs are kept here.
    audit: where each run's records go.
    pseudonym: personnummer -> the patient index's key (``sessions.citizen_uid``), to take
        a removed file out of its patient's index; None: no patient index is kept.
    batch: keys per SCAN batch and pipeline.
    """

    def __init__(
        self,
        client: RedisClient,
        rules: RetentionRules,
        regions: Sequence[str],
        audit: AuditLog,
        pseudonym: Callable[[str], str] | None = None,
        batch: int = BATCH,
    ) -> None:
        self.client, self.rules, self.regions, self.audit = client, rules, tuple(regions), audit
        self.pseudonym, self.batch = pseudonym, batch
        self._lock = client.register_script(_LOCK_SCRIPT)
        self._booking_data = BookingData(client, batch, self._renew)
        self._token = ""
        self._tally = 0  # items of the current kind removed so far (audited even if the run stops)

    async def run(self, now_ms: int, *, dry_run: bool = False) -> RetentionReport | None:
        """One run at ``now_ms``: every kind in turn, under the lock.

        Returns:
            What was removed (or would be, dry), or None when another run holds the lock.

        Raises:
            RedisUnavailable: Redis failed; what was removed so far is audited.
            RetentionBusy: the lock was lost mid-run (this run stopped between batches).
        """
        token = secrets.token_hex(16)
        with redis_errors():
            if not await self.client.set(keys.RETENTION_LOCK, token, nx=True, px=LOCK_MS):
                return None
        self._token = token
        try:
            removed = {kind: await self._kind(kind, now_ms, dry_run) for kind in KINDS}
        finally:
            with redis_errors():
                await self._lock(keys=[keys.RETENTION_LOCK], args=[token, 0])
        log.info("retention_run", dry_run=dry_run, **removed)
        return RetentionReport(removed, dry_run)

    async def _kind(self, kind: str, now_ms: int, dry_run: bool) -> int:
        """Remove one kind; its audit record is written even when the run stops midway (what went, went)."""
        remover: Callable[[int, bool], Awaitable[None]] = getattr(self, f"_{kind}")
        self._tally = 0
        try:
            await remover(self.rules.cutoff_ms(kind, now_ms), dry_run)
        except BaseException:
            if self._tally and not dry_run:
                await self._audited(now_ms, kind)
            raise
        if not dry_run:
            await self._audited(now_ms, kind)
        return self._tally

    async def _audited(self, now_ms: int, kind: str) -> None:
        detail = f"{kind}:{self._tally}"
        await self.audit.record(AuditRecord(now_ms, SYSTEM, SYSTEM, "", "retention.remove", "", "", "", "ok", detail))

    async def _renew(self) -> None:
        with redis_errors():
            held = await self._lock(keys=[keys.RETENTION_LOCK], args=[self._token, LOCK_MS])
        if not held:
            raise RetentionBusy("the retention lock was lost; this run stopped")

    async def _batches(self, match: str, kind: str | None = None) -> AsyncIterator[list[str]]:
        """Keys matching ``match`` (of Redis type ``kind``), a batch at a time; the lock renewed after each."""
        found: list[str] = []
        with redis_errors():
            async for key in self.client.scan_iter(match=match, count=self.batch, _type=kind):
                found.append(_text(key))
                if len(found) >= self.batch:
                    yield found
                    found = []
                    await self._renew()
        if found:
            yield found

    async def _read(self, calls: Sequence[tuple[str, tuple[Any, ...]]]) -> list[Any]:
        pipe = self.client.pipeline(transaction=False)
        for name, args in calls:
            getattr(pipe, name)(*args)
        with redis_errors():
            return list(await pipe.execute())

    async def _delete(self, groups: Sequence[Sequence[str]], dry_run: bool) -> None:
        """Remove each group of keys (one item: a key and its side keys) and count the groups."""
        if groups and not dry_run:
            await self._read([("delete", (key,)) for group in groups for key in group])
        self._tally += len(groups)

    async def _transcripts(self, cutoff: int, dry_run: bool) -> None:
        async for batch in self._batches(keys.chat_pattern(), "stream"):
            lasts = await self._read([("xrevrange", (key, "+", "-", 1)) for key in batch])
            expired = []
            for key, last in zip(batch, lasts, strict=True):
                case_id = case_of(key)
                when = stream_time(last[0][0]) if last else case_created_ms(case_id)
                if when < cutoff:
                    expired.append([key, keys.chat_ids(case_id), keys.chat_epoch(case_id), keys.chat_read(case_id)])
            await self._delete(expired, dry_run)

    async def _case_files(self, cutoff: int, dry_run: bool) -> None:
        async for batch in self._batches(keys.case_file_pattern(), "hash"):
            raws = await self._read([("hget", (key, "f")) for key in batch])
            expired = [
                (key, raw) for key, raw in zip(batch, raws, strict=True) if file_time(raw, case_of(key)) < cutoff
            ]
            if expired and not dry_run:
                await self._read([call for key, raw in expired for call in self._file_removal(key, raw)])
            self._tally += len(expired)

    def _file_removal(self, key: str, raw: bytes | None) -> list[tuple[str, tuple[Any, ...]]]:
        """The file and its entries in the owner's and the patient's case lists."""
        case_id = case_of(key)
        calls: list[tuple[str, tuple[Any, ...]]] = [("delete", (key,))]
        try:
            data = msgpack.unpackb(raw) if raw is not None else {}
            calls.append(("zrem", (keys.user_cases(str(data["owner_uid"])), case_id)))
            if self.pseudonym is not None:
                calls.append(("zrem", (keys.patient_cases(self.pseudonym(str(data["patient_pnr"]))), case_id)))
        except (KeyError, TypeError, ValueError, msgpack.UnpackException):
            pass  # an unreadable file names no list to clean
        return calls

    async def _photos(self, cutoff: int, dry_run: bool) -> None:
        async for batch in self._batches(keys.photo_pattern(), "string"):
            await self._delete([[key] for key in batch if photo_key_time(key) < cutoff], dry_run)

    async def _bookings(self, cutoff: int, dry_run: bool) -> None:
        """Expired bookings, each removed in one step with its slot and calendar entries; then the
        owner-index entries and vaccination links left pointing at no booking."""
        data = self._booking_data
        async for batch in self._batches(booking_pattern(), "hash"):
            expired = await data.expired_in(batch, cutoff)
            if dry_run:
                self._tally += len(expired)
                continue
            for key in expired:
                self._tally += await data.remove(key, cutoff)
        await data.sweep(cutoff, dry_run)

    async def _queue_records(self, cutoff: int, dry_run: bool) -> None:
        for region in self.regions:
            async for batch in self._batches(RegionKeys(region).case("*"), "hash"):
                fields = ("state", "closed_at", "queued_at", "submitted")
                rows = await self._read([("hmget", (key, *fields)) for key in batch])
                ended = [(key, queue_record_time(*row)) for key, row in zip(batch, rows, strict=True)]
                await self._delete([[key] for key, when in ended if when is not None and when < cutoff], dry_run)

    async def _triage_sessions(self, cutoff: int, dry_run: bool) -> None:
        async for batch in self._batches(keys.triage_pattern(), "string"):
            await self._delete([[key] for key in batch if _triage_time(key) < cutoff], dry_run)

    async def _event_log(self, cutoff: int, dry_run: bool) -> None:
        for region in self.regions:
            await self._trim(RegionKeys(region).log, cutoff, dry_run)

    async def _audit(self, cutoff: int, dry_run: bool) -> None:
        await self._trim(keys.AUDIT_STREAM, cutoff, dry_run)

    async def _trim(self, stream: str, cutoff: int, dry_run: bool) -> None:
        """Entries of ``stream`` older than ``cutoff`` ms: removed (XTRIM MINID, exact) or counted."""
        if not dry_run:
            with redis_errors():
                self._tally += int(await self.client.xtrim(stream, minid=f"{cutoff}-0", approximate=False))
            return
        start = "-"
        while True:
            with redis_errors():
                page: Any = await self.client.xrange(stream, min=start, max=f"({cutoff}-0", count=self.batch)
            self._tally += len(page)
            if len(page) < self.batch:
                return
            start = "(" + _text(page[-1][0])


def photo_key_time(key: str) -> int:
    """A photo's upload time from its key; an older id without a time: its case's creation."""
    dated = photo_time(key.rpartition(":")[2])
    return dated if dated is not None else case_created_ms(case_of(key))


def _triage_time(key: str) -> int:
    """A triage session's start (its id is a ULID); an id without a time counts as expired."""
    try:
        return ulid_ms(key.rpartition(":")[2])
    except ValueError:
        return 0


def job_for(
    client: RedisClient, rules: RetentionRules, regions: Sequence[str], audit: AuditLog, secret: bytes
) -> RetentionJob:
    """The job as the server and the CLI run it: the patient index keyed as ``CaseFiles`` keys it."""
    return RetentionJob(client, rules, regions, audit, lambda pnr: citizen_uid(secret, pnr))
