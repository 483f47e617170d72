"""Who has a console open, across server processes, on a real Redis and a real Cluster
(server/care/presence.py): what the waiting room's "no one is there to answer" rests on."""

from __future__ import annotations

import pytest

from direkt.queue.scripts import RedisClient
from direkt.server.care.availability import Availability, set_availability
from direkt.server.care.presence import MIN_TTL_S, StaffPresence, online_ttl_ms
from direkt.server.redis import keys

NOW = 1_700_000_000_000
TTL = 10_000


@pytest.fixture
async def presence(redis_client: RedisClient) -> StaffPresence:
    await redis_client.delete(keys.STAFF_ONLINE, keys.AVAILABILITY)
    return StaffPresence(redis_client, TTL)


async def test_staff_seen_by_any_process_are_online_until_no_pass_has_seen_them(presence: StaffPresence) -> None:
    assert await presence.online(NOW) == frozenset()
    await presence.seen(["nurse-1"], NOW)  # one process
    await presence.seen(["doctor-1", "nurse-1"], NOW + 4_000)  # another, a little later
    assert await presence.online(NOW + 5_000) == {"nurse-1", "doctor-1"}
    assert await presence.online(NOW + TTL + 1_000) == {"nurse-1", "doctor-1"}  # the later mark holds
    assert await presence.online(NOW + 4_000 + TTL + 1) == frozenset()  # both processes stopped seeing them


async def test_a_pass_with_no_staff_forgets_the_long_gone(presence: StaffPresence, redis_client: RedisClient) -> None:
    await presence.seen(["nurse-1"], NOW)
    await presence.seen([], NOW + TTL + 1)
    assert await redis_client.zcard(keys.STAFF_ONLINE) == 0


def test_a_mark_outlives_a_few_passes_and_a_late_one() -> None:
    assert online_ttl_ms(5.0) == 20_000
    assert online_ttl_ms(0.5) == MIN_TTL_S * 1000


async def test_those_away_do_not_attend_and_those_on_a_pause_do(
    presence: StaffPresence, redis_client: RedisClient
) -> None:
    await presence.seen(["nurse-1", "nurse-2", "doctor-1"], NOW)
    await set_availability(redis_client, "nurse-1", Availability.AWAY, NOW)
    await set_availability(redis_client, "nurse-2", Availability.PAUSED, NOW)
    await set_availability(redis_client, "nurse-3", Availability.AVAILABLE, NOW)  # not online: not there either
    assert await presence.attending(NOW + 1_000) == {"nurse-2", "doctor-1"}
    await set_availability(redis_client, "nurse-1", Availability.AVAILABLE, NOW)
    assert await presence.attending(NOW + 1_000) == {"nurse-1", "nurse-2", "doctor-1"}
