"""Whether a staff member takes cases now: available, on a pause, or away.

Set by the staff member in the console and kept in Redis (``keys.AVAILABILITY``),
so that it survives a reload and holds for every console they have open.
"Take next" is refused unless available (``Workflow.claim_next``); the console
also quiets its alerts (a pause: only the most urgent cases; away: none).
Picking a named case from the list is a deliberate act and stays allowed, as
in Rocket.Chat's "take it" while not available.

A setting lasts one shift (``SHIFT_MS``): "away" set at the end of a day does
not greet the nurse the next morning. A staff member never set, whose setting
ran out, or whose setting Redis lost, is available: they logged in to work.
The waiting room counts only staff who are not away as there to answer a
queue (``attending``).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping

import msgpack

from direkt.queue.scripts import RedisClient, redis_errors
from direkt.server.errors import BadRequest
from direkt.server.redis import keys


class Availability(enum.StrEnum):
    AVAILABLE = "available"
    PAUSED = "paused"
    AWAY = "away"


def parse_availability(value: str) -> Availability:
    """Raises BadRequest naming the accepted values."""
    try:
        return Availability(value)
    except ValueError:
        raise BadRequest(f"availability must be one of {', '.join(a.value for a in Availability)}") from None


SHIFT_MS = 12 * 3_600_000


def stored(value: Availability, now_ms: int) -> str:
    """The stored form: the setting and when it was made."""
    return f"{value.value}:{now_ms}"


def read_stored(raw: bytes | str | None, now_ms: int) -> Availability:
    """A stored setting as it holds at ``now_ms``: available if unset, unreadable or older than a shift."""
    text = raw.decode() if isinstance(raw, bytes) else (raw or "")
    value, _, since = text.partition(":")
    if not since.isdigit() or now_ms - int(since) > SHIFT_MS:
        return Availability.AVAILABLE
    try:
        return Availability(value)
    except ValueError:
        return Availability.AVAILABLE  # a value from a later version: treat as at work


async def availability_of(client: RedisClient, staff_id: str, now_ms: int) -> Availability:
    with redis_errors():
        raw: bytes | str | None = await client.hget(keys.AVAILABILITY, staff_id)
    return read_stored(raw, now_ms)


async def set_availability(client: RedisClient, staff_id: str, value: Availability, now_ms: int) -> None:
    with redis_errors():
        await client.hset(keys.AVAILABILITY, staff_id, stored(value, now_ms))


async def tell_consoles(client: RedisClient, uid: str, value: Availability) -> None:
    """Every open console of this staff member follows the new setting (their user channel)."""
    with redis_errors():
        await client.publish(keys.user_channel(uid), msgpack.packb({"t": "availability", "availability": value.value}))


def attending(online: Iterable[str], availability: Mapping[str, Availability]) -> frozenset[str]:
    """Who of the staff with a console open answers their queues now: all but those away.

    A pause counts as there, busy: it is short (a phone call, a coffee) and the
    staff member comes back to the same queue, so telling waiting citizens that
    no one is there would make them leave a queue that is attended; the
    estimate already follows how fast cases are taken. Away (a meeting, a shift
    ended with the console still open) is not there.

    Args:
        online: staff ids with a console open (``presence.StaffPresence.online``).
        availability: staff id -> their setting as it holds now (``read_stored``); unset is available.
    """
    return frozenset(staff_id for staff_id in online if availability.get(staff_id) != Availability.AWAY)
