"""The statistics reader against real Redis (embedded and a 3-master cluster): the waiting room's
scripts write the region's event log, the reader pages through it and the fold counts it.

The waiting room runs on the real clock here: the log's stream ids are Redis's clock and the
reader finds a period's events by them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from direkt.queue.keys import RegionKeys
from direkt.queue.model import Directory, Skill
from direkt.queue.scripts import RedisClient
from direkt.queue.statistics import parse_event
from direkt.queue.urgency import Urgency
from direkt.queue.waitroom import Waitroom
from direkt.server.care.statsreader import PAGE, StatsAsk, read_stats, resolve

NURSE = Skill.NURSE


@pytest.fixture
async def room(redis_client: RedisClient, directory: Directory) -> AsyncIterator[Waitroom]:
    waitroom = Waitroom(redis_client, directory, lease_ms=60_000)
    await waitroom.load_scripts()
    yield waitroom


def today() -> str:
    return dt.datetime.now(ZoneInfo("Europe/Stockholm")).date().isoformat()


async def stats(room: Waitroom, **ask: str) -> dict[str, Any]:
    scope = resolve(StatsAsk(ask.pop("start", today()), ask.pop("end", today()), **ask), room.directory)
    return await read_stats(room.client, scope)


async def test_more_events_than_a_page_are_all_counted(room: Waitroom) -> None:
    count = PAGE + 150
    now = room.clock()
    for i in range(count):
        meta = {"entry": "seek_care", "reason": "sore_throat" if i % 2 else "cough", "care": "within_days"}
        await room.enqueue(f"a.P{i:06d}", "vc-a1", NURSE, Urgency.DAYS, now, meta=meta)
    report = await stats(room, region="a")
    assert report["complete"] is True and report["total"]["arrived"] == count
    assert report["total"]["arrived_by"]["reason"] == {"cough": (count + 1) // 2, "sore_throat": count // 2}
    assert sum(row["arrived"] for row in report["series"]) == count
    assert (await stats(room, unit="vc-a2"))["total"]["arrived"] == 0
    yesterday = (dt.date.fromisoformat(today()) - dt.timedelta(days=1)).isoformat()
    assert (await stats(room, region="a", start=yesterday, end=yesterday))["total"]["arrived"] == 0


async def test_a_case_followed_through_the_log(room: Waitroom) -> None:
    """Enqueue, claim, first contact, transfer, claim again and close: each event once, with its fields."""
    nurse, other = room.directory.staff["nurse-a12"], room.directory.staff["nurse-a1"]
    now = room.clock()
    meta = {"entry": "seek_care", "reason": "sore_throat", "care": "chat_today", "label": "Ont i halsen"}
    await room.enqueue("a.F1", "vc-a2", NURSE, Urgency.SOON, now, meta=meta)
    lease = await room.claim_next(nurse)
    assert lease is not None and lease.case_id == "a.F1"
    await room.record_contact("a.F1", nurse.id, lease.token)
    await room.transfer("a.F1", nurse.id, lease.token, "vc-a1", NURSE)
    again = await room.claim_next(other)
    assert again is not None
    await room.close("a.F1", other.id, again.token, "visit_booked", assessed=True)
    entries: Any = await room.client.xrange(RegionKeys("a").log)
    events = [parse_event(fields) for _, fields in entries]
    assert all(e is not None for e in events)
    kinds = [e.kind for e in events if e is not None]
    assert kinds == ["enqueued", "claimed", "contact", "transferred", "claimed", "closed"]
    enqueued, _, contact, transferred, _, closed = [e for e in events if e is not None]
    assert {k: enqueued.fields[k] for k in ("u", "e", "r", "l", "ur")} == {
        "u": "vc-a2", "e": "seek_care", "r": "sore_throat", "l": "chat_today", "ur": "3"
    }  # fmt: skip
    assert "label" not in enqueued.fields and "Ont i halsen" not in str(entries)  # no free text in the log
    assert contact.flag("sd") and contact.fields["s"] == "nurse-a12" and int(contact.fields["w"]) >= 0
    assert (transferred.fields["fu"], transferred.fields["u"]) == ("vc-a2", "vc-a1")
    assert closed.fields["o"] == "visit_booked" and closed.flag("as") and not closed.flag("fc")
    report = await stats(room, region="a")
    total = report["total"]
    assert (total["arrived"], total["contacts"], total["transferred"]) == (1, 1, 1)
    assert total["same_day"]["met"] == 1 and total["assessment"]["met"] == 1
    assert total["first_contact"]["3"]["count"] == 1
    assert total["staff"]["nurse-a12"]["transferred"] == 1 and total["staff"]["nurse-a1"]["closed"] == 1
    assert report["units"]["vc-a2"]["transferred"] == 1 and report["units"]["vc-a1"]["contacts"] == 1


async def test_a_move_to_another_region_counts_as_moved_out_not_as_an_arrival_there(room: Waitroom) -> None:
    nurse = room.directory.staff["nurse-ab"]
    await room.enqueue("a.M1", "1177-a", NURSE, Urgency.SOON, room.clock(), meta={"entry": "seek_care"})
    lease = await room.claim_next(nurse)
    assert lease is not None
    await room.transfer("a.M1", nurse.id, lease.token, "1177-b", NURSE)
    region_a, region_b = await stats(room, region="a"), await stats(room, region="b")
    assert (region_a["total"]["arrived"], region_a["total"]["moved_out"]) == (1, 1)
    assert region_a["total"]["staff"]["nurse-ab"]["transferred"] == 1
    assert region_b["total"]["arrived"] == 0  # it arrived in region a
    entries: Any = await room.client.xrange(RegionKeys("b").log)
    [adopted] = [parse_event(fields) for _, fields in entries]
    assert adopted is not None and (adopted.kind, adopted.fields["rt"], adopted.fields["e"]) == (
        "enqueued", "transfer", "seek_care"
    )  # fmt: skip
