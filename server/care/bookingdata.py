"""Bookings as patient data: when one expires, and removing it with every key that names it.

A booking (``dk:{bk:<unit>}:b:<id>``, server/booking/model.py) holds the patient's personnummer
and name, the visit booked and who booked it: a planned measure of care, patient-record material
(Patientdatalagen 3 kap. 6 §), so it is kept ``retention.bookings`` days (at least ten years) from
its time: the visit's end (``end_ms``), or a later creation or cancellation should a record carry
one. A booking without any time is dated 0 (never kept for ever).

One booking goes in one step, on its unit's hash tag (a Lua script over the unit's keys, so it is
atomic on a Cluster too): the script checks the time again against the cutoff (a booking moved to a
later time in the meantime stays), frees its slot field when the booking still holds it, takes it out
of the unit's calendar and the replay map, and deletes it. The owner's index ``dk:ubk:<uid>`` lives
in another slot: its entry is removed right after, and a sweep removes any entry older than the
cutoff whose booking is gone (a failed booking's dangling id, or a run that stopped in between).
A vaccination triage's link ``dk:vaccbooking:<tid>`` naming a removed booking goes in the same sweep.

This module reads the booking keys through ``server/redis/keys.py`` and never changes a live
booking: server/booking/* owns booking, cancelling and moving.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any

from direkt.queue.scripts import RedisClient, redis_errors
from direkt.server.redis import keys

TIME_FIELDS = ("end_ms", "created_ms", "cancelled_ms")
BATCH = 500

# KEYS[1] slots  [2] b:<id>  [3] cal  [4] dedupe (all on {bk:<unit>})   ARGV[1] id  [2] cutoff ms
# Returns the owner's uid when removed, nil when there is no such booking or it has not expired.
_REMOVE = """
local b = redis.call('HMGET', KEYS[2], 'profession', 'mode', 'start_ms', 'end_ms', 'created_ms',
  'cancelled_ms', 'owner_uid')
if redis.call('EXISTS', KEYS[2]) == 0 then return false end
local when = math.max(tonumber(b[4]) or 0, tonumber(b[5]) or 0, tonumber(b[6]) or 0)
if when >= tonumber(ARGV[2]) then return false end
local field = (b[1] or '') .. ':' .. (b[2] or '') .. ':' .. (b[3] or '')
if redis.call('HGET', KEYS[1], field) == ARGV[1] then redis.call('HDEL', KEYS[1], field) end
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('DEL', KEYS[2])
return b[7] or ''
"""


def booking_pattern() -> str:
    """Every booking's key: ``dk:{bk:*}:b:*``."""
    return f"{keys.booking_prefix('*')}b:*"


def split_key(key: str) -> tuple[str, str] | None:
    """(unit, booking id) of a booking's key, or None when ``key`` is not one."""
    head, sep, booking_id = key.partition("}:b:")
    unit = head.partition("{bk:")[2]
    if not (sep and unit and booking_id) or keys.booking(unit, booking_id) != key:
        return None
    return unit, booking_id


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def booking_time(values: Sequence[Any]) -> int:
    """A booking's time from its ``TIME_FIELDS`` (as read, in that order): the latest; 0 if none."""
    found = [0]
    for value in values:
        text = "" if value is None else _text(value)
        if text.isdigit():
            found.append(int(text))
    return max(found)


def booking_fields(raw: Mapping[Any, Any]) -> dict[str, str]:
    """A booking hash as read (bytes) as text."""
    return {_text(k): _text(v) for k, v in raw.items()}


def link_target(raw: Any) -> tuple[str, str, int] | None:
    """A vaccination link's value ``"<booking id> <unit> <start_ms>"``, or None when unreadable."""
    parts = _text(raw).split(" ") if raw is not None else []
    if len(parts) != 3 or not parts[2].isdigit():
        return None
    return parts[0], parts[1], int(parts[2])


class BookingData:
    """Find, and remove once expired, bookings and what points at them.

    Args:
        client: a Redis or Redis Cluster client.
        batch: keys per SCAN batch and pipeline.
        after_batch: called after each full batch (the retention job renews its lock there).
    """

    def __init__(
        self, client: RedisClient, batch: int = BATCH, after_batch: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        self.client, self.batch, self.after_batch = client, batch, after_batch
        self._remove = client.register_script(_REMOVE)

    async def batches(self, match: str, kind: str) -> AsyncIterator[list[str]]:
        found: list[str] = []
        with redis_errors():
            async for key in self.client.scan_iter(match=match, count=self.batch, _type=kind):
                found.append(_text(key))
                if len(found) >= self.batch:
                    yield found
                    found = []
                    if self.after_batch is not None:
                        await self.after_batch()
        if found:
            yield found

    async def read(self, calls: Sequence[tuple[str, tuple[Any, ...]]]) -> list[Any]:
        if not calls:
            return []
        pipe = self.client.pipeline(transaction=False)
        for name, args in calls:
            getattr(pipe, name)(*args)
        with redis_errors():
            return list(await pipe.execute())

    async def expired_in(self, batch: Sequence[str], cutoff: int) -> list[str]:
        """The booking keys of ``batch`` whose time is below ``cutoff``."""
        times = await self.read([("hmget", (key, *TIME_FIELDS)) for key in batch])
        return [key for key, row in zip(batch, times, strict=True) if booking_time(row) < cutoff]

    async def of_patient(self, pnr: str) -> list[dict[str, str]]:
        """Every booking whose patient (or the guardian who booked for a child) is ``pnr``, by start."""
        found: list[dict[str, str]] = []
        async for batch in self.batches(booking_pattern(), "hash"):
            rows = await self.read([("hgetall", (key,)) for key in batch])
            for raw in rows:
                booking = booking_fields(raw)
                if raw and pnr in (booking.get("patient_pnr"), booking.get("guardian_pnr")):
                    found.append(booking)
        return sorted(found, key=lambda b: (booking_time([b.get("start_ms")]), b.get("id", "")))

    async def remove(self, key: str, cutoff: int) -> bool:
        """Remove the booking at ``key`` if its time is still below ``cutoff``, with its slot,
        calendar and replay entries, then its owner's index entry. Whether it went."""
        split = split_key(key)
        if split is None:
            return False
        unit, booking_id = split
        route = [keys.booking_slots(unit), key, keys.booking_calendar(unit), keys.booking_dedupe(unit)]
        with redis_errors():
            owner = await self._remove(keys=route, args=[booking_id, cutoff])
            if owner is None:
                return False
            if _text(owner):
                await self.client.zrem(keys.user_bookings(_text(owner)), booking_id)
        return True

    async def sweep(self, cutoff: int, dry_run: bool) -> None:
        """Owner-index entries and vaccination links older than ``cutoff`` whose booking is gone."""
        async for batch in self.batches(keys.user_bookings("*"), "zset"):
            olds = await self.read([("zrangebyscore", (key, "-inf", f"({cutoff}")) for key in batch])
            pairs = [(key, _text(i)) for key, ids in zip(batch, olds, strict=True) for i in ids]
            gone = await self._gone([booking_id for _, booking_id in pairs])
            if not dry_run:
                await self.read([("zrem", (key, i)) for key, i in pairs if i in gone])
        async for batch in self.batches(keys.vaccination_booking("*"), "string"):
            values = await self.read([("get", (key,)) for key in batch])
            targets = {key: link_target(raw) for key, raw in zip(batch, values, strict=True)}
            old = {key: t for key, t in targets.items() if t is not None and t[2] < cutoff}
            gone = await self._gone([t[0] for t in old.values()], {t[0]: t[1] for t in old.values()})
            if not dry_run:
                await self.read([("delete", (key,)) for key, t in old.items() if t[0] in gone])

    async def _gone(self, ids: Sequence[str], units: Mapping[str, str] | None = None) -> set[str]:
        """Which booking ids have no booking (the unit is the id's ``<unit>.`` part unless given)."""
        named = {i: (units or {}).get(i) or i.rpartition(".")[0] for i in ids}
        exists = await self.read([("exists", (keys.booking(unit, i),)) for i, unit in named.items()])
        return {i for i, there in zip(named, exists, strict=True) if not there}
