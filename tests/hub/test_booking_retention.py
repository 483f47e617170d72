"""A booking's data goes when its rule has passed (issue 24, review item 5), against a real
``direkt serve``: a nurse books Erik a visit from her chat, Erik sees it in My bookings; the
retention job as the server runs it, eleven years on (past the record's ten-year floor), removes
the booking with its slot, calendar and owner-index entries; Erik's list is empty and the booking
is gone (404), and the unit's calendar no longer names it. A booking still within its rule stays.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from support import ServerProcess, short_tmpdir
from support_hub import SORE_THROAT, refused

from direkt.loadtests.client import Client
from direkt.queue.lookup import wall_clock_ms
from direkt.queue.scripts import RedisClient
from direkt.server.care.audit import AuditLog
from direkt.server.care.retention import RetentionJob
from direkt.server.redis import keys
from direkt.server.retentionrules import DAY_MS, RetentionRules

pytestmark = pytest.mark.slow

ELEVEN_YEARS_MS = 11 * 365 * DAY_MS
SCHEDULES = """
[[schedule]]
unit = "vc-t"
profession = "nurse"
mode = "video"
hours = { daily = "00:00-24:00", holidays = "00:00-24:00" }
slot_minutes = 5
staff = "nurse-1"
"""


@pytest.fixture(scope="module")
def server(standalone_redis: Any) -> Iterator[ServerProcess]:
    path = short_tmpdir("dk-bkret-") / "schedules.toml"
    path.write_text(SCHEDULES)
    process = ServerProcess(standalone_redis.url, DIREKT_SCHEDULES=str(path))
    yield process
    process.stop()


async def booked(erik: Client, nurse: Client) -> dict[str, Any]:
    """Erik's chat, claimed by the nurse, who books him a video visit from it."""
    view = await erik.triage("seek_care", [tuple(a) for a in SORE_THROAT])  # type: ignore[misc]
    case = (await erik.call("POST", "/api/cases", {"triage": view["id"]}))["case"]
    sock = await nurse.socket()
    try:
        claimed = await sock.request({"t": "claim_next", "rid": f"claim-{case}"}, "claimed")
        assert claimed["case"] == case, claimed
    finally:
        await sock.close()
    found = await nurse.call("GET", "/api/slots?unit=vc-t&profession=nurse&mode=video&days=1")
    start = found["slots"][3]["start_ms"]
    body = {"unit": "vc-t", "profession": "nurse", "mode": "video", "start_ms": start}
    booking: dict[str, Any] = (await nurse.call("POST", f"/api/staff/cases/{case}/bookings", body))["booking"]
    return booking


async def expire(redis: RedisClient, now_ms: int) -> dict[str, int]:
    """The retention job as the server runs it, at ``now_ms``."""
    report = await RetentionJob(redis, RetentionRules(), ("a", "b"), AuditLog(redis, None)).run(now_ms)
    assert report is not None
    return dict(report.removed)


async def test_a_booking_past_its_rule_is_removed_with_its_slot_calendar_and_index(
    server: ServerProcess, redis: RedisClient, erik: Client, nurse: Client
) -> None:
    booking = await booked(erik, nurse)
    assert [b["id"] for b in (await erik.call("GET", "/api/bookings"))["bookings"]] == [booking["id"]]
    unit, slot = booking["unit"], f"nurse:video:{booking['start_ms']}"

    nine_years = await expire(redis, wall_clock_ms() + 9 * 365 * DAY_MS)  # within the ten-year floor: kept
    assert nine_years["bookings"] == 0
    assert [b["id"] for b in (await erik.call("GET", "/api/bookings"))["bookings"]] == [booking["id"]]

    removed = await expire(redis, wall_clock_ms() + ELEVEN_YEARS_MS)
    assert removed["bookings"] == 1
    assert (await erik.call("GET", "/api/bookings"))["bookings"] == []
    await refused(erik.call("GET", f"/api/bookings/{booking['id']}"), 404, "not_found")
    assert not await redis.exists(keys.booking(unit, booking["id"]))
    assert await redis.hget(keys.booking_slots(unit), slot) is None
    assert await redis.zscore(keys.booking_calendar(unit), booking["id"]) is None
    assert [k async for k in redis.scan_iter(match=keys.user_bookings("*"))] == []  # Erik's index, emptied
