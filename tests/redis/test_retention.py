"""The retention job against real Redis (embedded and a 3-master cluster): it removes exactly
what has expired (issue 22, "Proof"), once, under one lock across processes.

Each kind of data is seeded at controlled ages around its rule's cutoff: one millisecond past it
(expired), exactly at it and after it (kept). Records are written with old timestamps the way
the server writes them (a case file's times, a stream id's milliseconds, the ULID in an id), and
the job takes ``now`` as a parameter.

Personal identity numbers: Skatteverket's published test numbers (server/data/test_personnummer.txt).
"""

from __future__ import annotations

import asyncio
import functools
import os
from typing import Any

import msgpack
import pytest
from support_hub import ELSA, ERIK, GUARDIAN

from direkt.queue.ids import new_case_id, ulid
from direkt.queue.keys import RegionKeys
from direkt.queue.lookup import wall_clock_ms
from direkt.queue.scripts import RedisClient
from direkt.server.booking.model import Booking
from direkt.server.booking.service import new_booking_id
from direkt.server.booking.store import BookingStore
from direkt.server.care.audit import AuditLog, AuditRecord
from direkt.server.care.casefile import CaseFile, CaseFiles
from direkt.server.care.photos import photo_key_id
from direkt.server.care.retention import RetentionBusy, RetentionJob
from direkt.server.identity.sessions import citizen_uid
from direkt.server.redis import keys
from direkt.server.redis.connect import connect
from direkt.server.redis.embedded import EmbeddedRedis
from direkt.server.retentionrules import DAY_MS, KINDS, RetentionRules

SECRET = b"retention-test-key"
PSEUDONYM = functools.partial(citizen_uid, SECRET)
REGIONS = ("a", "b")
RULES = RetentionRules()  # the defaults: 3653 days for the record, 1827 for the audit, …
NOW = wall_clock_ms()  # the audit stream's own ids are Redis's time: the job's now must be real


def cutoff(kind: str) -> int:
    return NOW - RULES.days(kind) * DAY_MS


def case_id(created_ms: int, region: str = "a") -> str:
    return new_case_id(region, created_ms, os.urandom(10))


async def all_keys(client: RedisClient) -> set[str]:
    return {k.decode() if isinstance(k, bytes) else k async for k in client.scan_iter(match="dk:*", count=1000)}


async def stream_ids(client: RedisClient, key: str) -> list[str]:
    return [i.decode() for i, _ in await client.xrange(key)]


class Seeded:
    """What was written, and what the job must remove."""

    def __init__(self) -> None:
        self.expired_keys: set[str] = set()
        self.kept_keys: set[str] = set()
        self.expired: dict[str, int] = dict.fromkeys(KINDS, 0)
        self.streams: dict[str, list[str]] = {}  # stream -> the entry ids that must remain
        self.gone_files: list[str] = []  # case files the job removes (and takes out of their indexes)
        self.gone_bookings: list[Booking] = []  # bookings the job removes, with their slots and entries
        self.kept_bookings: list[Booking] = []

    def item(self, kind: str, expired: bool, *item_keys: str) -> None:
        (self.expired_keys if expired else self.kept_keys).update(item_keys)
        self.expired[kind] += expired


async def seed_transcript(client: RedisClient, seeded: Seeded, times: list[int]) -> None:
    cid = case_id(times[0])
    key = keys.chat(cid)
    for t in times:
        await client.xadd(key, {"m": msgpack.packb({"kind": "msg", "text": "hej"})}, id=f"{t}-0")
    await client.hset(keys.chat_ids(cid), "u:1", f"{times[0]}-0")
    await client.set(keys.chat_epoch(cid), "e1")
    await client.hset(keys.chat_read(cid), "u", f"{times[0]}-0")
    side = (keys.chat_ids(cid), keys.chat_epoch(cid), keys.chat_read(cid))
    seeded.item("transcripts", times[-1] < cutoff("transcripts"), key, *side)


async def seed_file(client: RedisClient, seeded: Seeded, created: int, closed: int, pnr: str) -> str:
    cid = case_id(created)
    files = CaseFiles(client, PSEUDONYM)
    file = CaseFile(cid, PSEUDONYM(GUARDIAN), pnr, "Test", GUARDIAN if pnr == ELSA else "", "T", "", "sv",
                    "seek_care", "vc-a1", created)  # fmt: skip
    await files.create(file)
    if closed:
        await files.update(cid, closed_ms=closed, outcome="advice")
    seeded.item("case_files", max(created, closed) < cutoff("case_files"), keys.case_file(cid))
    return cid


async def seed_queue_record(client: RedisClient, seeded: Seeded, region: str, state: str, ended: int) -> None:
    cid = case_id(ended - DAY_MS, region)
    key = RegionKeys(region).case(cid)
    fields = {"id": cid, "state": state, "submitted": ended - DAY_MS, "queued_at": ended - DAY_MS}
    if state in ("closed", "abandoned"):
        fields["closed_at"] = ended
    await client.hset(key, mapping=fields)  # type: ignore[arg-type]
    finished = state in ("closed", "abandoned")  # "moved" points to where the case now waits: kept
    seeded.item("queue_records", finished and ended < cutoff("queue_records"), key)


async def seed_booking(
    client: RedisClient,
    seeded: Seeded,
    unit: str,
    end: int,
    *,
    created: int = 0,
    cancelled: int = 0,
    link: bool = False,
    dedupe: str = "",
) -> Booking:
    """A booking as the booking store writes it (its Lua script), at a time long past; cancelled
    as the store cancels; with a vaccination triage's link to it as server/http/vaccination.py keeps it."""
    start = end - 15 * 60_000
    booking = Booking(new_booking_id(unit), unit, "nurse", "physical", start, end, "booked", ERIK, "Test Person",
                      PSEUDONYM(ERIK), booked_by="self", created_ms=created or start - DAY_MS,
                      dedupe=dedupe)  # fmt: skip
    store = BookingStore(client)
    await store.book(booking, f"nurse:physical:{start}")
    if cancelled:
        await store.cancel(booking.id, cancelled, "self")
    expired = max(end, cancelled, booking.created_ms) < cutoff("bookings")
    seeded.item("bookings", expired, keys.booking(unit, booking.id))
    (seeded.gone_bookings if expired else seeded.kept_bookings).append(booking)
    if link:
        tid = ulid(start - DAY_MS, os.urandom(10))
        await client.set(keys.vaccination_booking(tid), f"{booking.id} {unit} {start}")
        (seeded.expired_keys if expired else seeded.kept_keys).add(keys.vaccination_booking(tid))
    return booking


async def seed_bookings(client: RedisClient, s: Seeded) -> None:
    """Unit vc-old holds only expired bookings (its slot map and calendar go with them); vc-a1 keeps some."""
    c = cutoff("bookings")
    await seed_booking(client, s, "vc-old", c - 1, link=True, dedupe="req-1")  # ended 1 ms past the rule
    await seed_booking(client, s, "vc-old", c - 3 * DAY_MS, cancelled=c - 5 * DAY_MS)
    await seed_booking(client, s, "vc-a1", c - 2, link=True, dedupe="req-2")
    await seed_booking(client, s, "vc-a1", c)  # ended exactly at the cutoff: kept
    await seed_booking(client, s, "vc-a1", c - 9 * DAY_MS, cancelled=c + 1)  # cancelled after the cutoff: kept
    await seed_booking(client, s, "vc-a1", NOW + 30 * DAY_MS, created=c - 900 * DAY_MS, link=True)  # ahead
    s.expired_keys |= {keys.booking_slots("vc-old"), keys.booking_calendar("vc-old")}
    for unit in ("vc-old", "vc-a1"):  # a replay map, where the store keeps one, held only expired bookings
        if await client.exists(keys.booking_dedupe(unit)):
            s.expired_keys.add(keys.booking_dedupe(unit))
    s.kept_keys |= {keys.booking_slots("vc-a1"), keys.booking_calendar("vc-a1"), keys.user_bookings(PSEUDONYM(ERIK))}
    dangling = keys.user_bookings(PSEUDONYM(GUARDIAN))  # a failed booking's id: the index's only other writer
    await client.zadd(dangling, {new_booking_id("vc-a1"): c - DAY_MS})
    s.expired_keys.add(dangling)
    await client.zadd(keys.user_bookings(PSEUDONYM(ELSA)), {new_booking_id("vc-a1"): NOW})  # being booked now
    s.kept_keys.add(keys.user_bookings(PSEUDONYM(ELSA)))


async def booking_traces(client: RedisClient, booking: Booking) -> list[str]:
    """Where a booking is still named: its hash, slot field, calendar entry, owner-index entry."""
    found = []
    if await client.exists(keys.booking(booking.unit, booking.id)):
        found.append("booking")
    if await client.hget(keys.booking_slots(booking.unit), f"nurse:physical:{booking.start_ms}") == booking.id.encode():
        found.append("slot")
    if await client.zscore(keys.booking_calendar(booking.unit), booking.id) is not None:
        found.append("calendar")
    if await client.zscore(keys.user_bookings(booking.owner_uid), booking.id) is not None:
        found.append("index")
    if await client.hexists(keys.booking_dedupe(booking.unit), booking.id):
        found.append("replay")
    return found


async def seed(client: RedisClient) -> Seeded:
    s = Seeded()
    c = cutoff("transcripts")
    await seed_transcript(client, s, [c - 5 * DAY_MS, c - 1])  # last message 1 ms past the rule
    await seed_transcript(client, s, [c - 9 * DAY_MS, c])  # last message exactly at the cutoff: kept
    await seed_transcript(client, s, [c - 900 * DAY_MS, NOW - DAY_MS])  # old chat, recent last message
    c = cutoff("case_files")
    gone = [await seed_file(client, s, c - 3 * DAY_MS, c - 1, ERIK), await seed_file(client, s, c - 1, 0, ELSA)]
    await seed_file(client, s, c - 3 * DAY_MS, c, ERIK)  # closed exactly at the cutoff
    await seed_file(client, s, c - 30 * DAY_MS, NOW - DAY_MS, ELSA)  # created long ago, closed yesterday
    await seed_file(client, s, NOW - DAY_MS, 0, ERIK)
    s.gone_files = gone
    c = cutoff("photos")
    case = case_id(c - DAY_MS)
    for t, expired in ((c - 1, True), (c, False), (NOW, False)):
        key = keys.photo(case, photo_key_id(t, os.urandom(10)))
        await client.set(key, b"image/png\nPNG")
        s.item("photos", expired, key)
    legacy = keys.photo(case, "p" + "0" * 16)  # an id without a time: dated by its case (created before the cutoff)
    await client.set(legacy, b"image/png\nPNG")
    s.item("photos", True, legacy)
    await seed_bookings(client, s)
    c = cutoff("queue_records")
    for region in REGIONS:
        await seed_queue_record(client, s, region, "closed", c - 1)
        await seed_queue_record(client, s, region, "abandoned", c - 1)
        await seed_queue_record(client, s, region, "closed", c)
        await seed_queue_record(client, s, region, "waiting", c - 400 * DAY_MS)  # live: never removed
        await seed_queue_record(client, s, region, "claimed", c - 400 * DAY_MS)
        await seed_queue_record(client, s, region, "moved", c - 400 * DAY_MS)  # the pointer to another region
    c = cutoff("triage_sessions")
    for t in (c - 1, c, NOW - 60_000):
        key = keys.triage(ulid(t, os.urandom(10)))
        await client.set(key, msgpack.packb({"patient": ERIK}))  # no TTL: only the rule removes it
        s.item("triage_sessions", t < c, key)
    c = cutoff("event_log")
    for region in REGIONS:
        log = RegionKeys(region).log
        for t in (c - DAY_MS, c - 1, c, NOW - 1000):
            await client.xadd(log, {"t": "enqueued"}, id=f"{t}-0")
        s.expired["event_log"] += 2
        s.streams[log] = [f"{c}-0", f"{NOW - 1000}-0"]
    c = cutoff("audit")
    for t in (c - 2, c - 1, c, c + 1):
        rec = AuditRecord(t, "nurse-a1", "nurse", "vc-a1", "case.read", "a.C1", ERIK).to_fields()
        await client.xadd(keys.AUDIT_STREAM, rec, id=f"{t}-0")  # type: ignore[arg-type]
    s.expired["audit"] = 2
    s.streams[keys.AUDIT_STREAM] = [f"{c}-0", f"{c + 1}-0"]
    return s


def job(client: RedisClient, batch: int = 3) -> RetentionJob:
    """A small batch, so that every kind takes several SCAN batches and lock renewals."""
    return RetentionJob(client, RULES, REGIONS, AuditLog(client, None), PSEUDONYM, batch=batch)


async def test_retention_removes_exactly_what_has_expired_and_a_second_run_nothing(
    redis_client: RedisClient,
) -> None:
    seeded = await seed(redis_client)
    before = await all_keys(redis_client)
    assert seeded.expired_keys | seeded.kept_keys <= before

    dry = await job(redis_client).run(NOW, dry_run=True)
    assert dry is not None and dict(dry.removed) == seeded.expired
    assert await all_keys(redis_client) == before  # a dry run counts and removes nothing

    report = await job(redis_client).run(NOW)
    assert report is not None and dict(report.removed) == seeded.expired
    after = await all_keys(redis_client)
    assert after == before - seeded.expired_keys  # exactly the expired keys, by name
    assert seeded.kept_keys <= after
    for stream, remaining in seeded.streams.items():
        ids = await stream_ids(redis_client, stream)
        assert ids[: len(remaining)] == remaining  # the audit stream also holds this run's records
    for cid in seeded.gone_files:
        for index in (keys.user_cases(PSEUDONYM(GUARDIAN)), keys.patient_cases(PSEUDONYM(ERIK))):
            assert await redis_client.zscore(index, cid) is None
    assert await redis_client.zcard(keys.patient_cases(PSEUDONYM(ERIK))) == 2
    assert await redis_client.zcard(keys.patient_cases(PSEUDONYM(ELSA))) == 1
    assert seeded.expired["bookings"] == 3
    for booking in seeded.gone_bookings:
        assert await booking_traces(redis_client, booking) == [], booking
    assert [await booking_traces(redis_client, b) for b in seeded.kept_bookings] == [
        ["booking", "slot", "calendar", "index"],
        ["booking", "index"],  # cancelled: the store freed its slot and calendar entry
        ["booking", "slot", "calendar", "index"],
    ]

    audit = await runs_audited(redis_client)
    assert audit == [f"{kind}:{seeded.expired[kind]}" for kind in KINDS]

    again = await job(redis_client).run(NOW)  # the same moment: the items at the cutoff stay
    assert again is not None and set(again.removed.values()) == {0}
    assert await all_keys(redis_client) == after
    assert (await runs_audited(redis_client))[len(KINDS) :] == [f"{kind}:0" for kind in KINDS]


async def runs_audited(client: RedisClient) -> list[str]:
    """The details of the retention runs' audit records, oldest first (one per run and kind)."""
    entries: Any = await client.xrange(keys.AUDIT_STREAM)
    recs = [AuditRecord.from_fields(data) for _, data in entries]
    found = [r for r in recs if r.action == "retention.remove"]
    assert all(r.actor == r.role == "system" and r.patient == "" and r.case_id == "" for r in found)
    return [r.detail for r in found]


async def test_two_concurrent_runs_one_does_the_work(redis_url: str, redis_client: RedisClient) -> None:
    seeded = await seed(redis_client)
    other = await connect(redis_url)
    try:
        reports = await asyncio.gather(job(redis_client).run(NOW), job(other).run(NOW))
    finally:
        await other.aclose()
    done = [r for r in reports if r is not None]
    assert len(done) == 1 and dict(done[0].removed) == seeded.expired
    assert await runs_audited(redis_client) == [f"{kind}:{seeded.expired[kind]}" for kind in KINDS]
    assert await redis_client.get(keys.RETENTION_LOCK) is None  # given back


async def test_a_run_waits_out_a_dead_runs_lock(redis_client: RedisClient) -> None:
    await redis_client.set(keys.RETENTION_LOCK, "a-process-that-died", px=60_000)
    assert await job(redis_client).run(NOW) is None
    assert await runs_audited(redis_client) == []
    assert await redis_client.get(keys.RETENTION_LOCK) == b"a-process-that-died"  # not ours to release
    await redis_client.pexpire(keys.RETENTION_LOCK, 1)  # the dead run's lock lapses
    for _ in range(200):
        if await redis_client.get(keys.RETENTION_LOCK) is None:
            break
        await asyncio.sleep(0.005)
    assert await job(redis_client).run(NOW) is not None


async def test_a_new_case_file_carries_no_ttl(redis_client: RedisClient) -> None:
    """Record material is kept by the rules (ten years), not by an expiry shorter than the law asks."""
    s = Seeded()
    cid = await seed_file(redis_client, s, NOW, 0, ERIK)
    assert await redis_client.ttl(keys.case_file(cid)) == -1
    assert await redis_client.ttl(keys.patient_cases(PSEUDONYM(ERIK))) == -1


@pytest.mark.parametrize("kind", KINDS)
def test_an_item_exactly_at_the_cutoff_is_kept(kind: str) -> None:
    assert not RULES.expired(kind, cutoff(kind), NOW)
    assert RULES.expired(kind, cutoff(kind) - 1, NOW)


async def still_there(client: RedisClient, names: list[str]) -> int:
    pipe = client.pipeline(transaction=False)
    for key in names:
        pipe.exists(key)
    return sum(await pipe.execute())


async def test_a_run_that_loses_its_lock_stops_and_audits_what_it_removed(standalone_redis: EmbeddedRedis) -> None:
    """On the embedded Redis only: the lock is one key, the same on a Cluster (tested above)."""
    redis_client = await connect(standalone_redis.url)
    try:
        await redis_client.flushall()
        await _lose_the_lock_midway(redis_client)
    finally:
        await redis_client.aclose()


async def _lose_the_lock_midway(redis_client: RedisClient) -> None:
    stale = [keys.triage(ulid(cutoff("triage_sessions") - 1 - i, os.urandom(10))) for i in range(500)]
    pipe = redis_client.pipeline(transaction=False)
    for key in stale:
        pipe.set(key, b"x")
    await pipe.execute()
    running = asyncio.create_task(job(redis_client, batch=1).run(NOW))
    while not running.done():  # until the run is midway through the triage sessions (it renews after each batch)
        if await redis_client.get(keys.RETENTION_LOCK) and await still_there(redis_client, stale) < len(stale):
            break
    await redis_client.set(keys.RETENTION_LOCK, "another-process")  # e.g. this run stalled past its lock
    with pytest.raises(RetentionBusy):
        await running
    left = await still_there(redis_client, stale)
    assert 0 < left < len(stale)  # stopped midway
    details = await runs_audited(redis_client)
    assert details[-1] == f"triage_sessions:{len(stale) - left}"  # what went is audited
    assert await redis_client.get(keys.RETENTION_LOCK) == b"another-process"  # not released: not ours
