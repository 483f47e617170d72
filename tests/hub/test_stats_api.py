"""``GET /api/stats``: who may read which units' statistics, bad input, and the ``stats.read`` audit record.

The figures themselves are proven against a scripted shift in tests/server/test_stats_shift.py;
here a case or two is enough to see that the answer is the fold of the log.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from support import ServerProcess
from support_hub import Login, audit_log, error_of, waiting_case

from direkt.loadtests.client import Client
from direkt.queue.scripts import RedisClient
from direkt.server.care.audit import AuditRecord

TODAY = dt.datetime.now(ZoneInfo("Europe/Stockholm")).date()
DAYS = {"from": (TODAY - dt.timedelta(days=1)).isoformat(), "to": (TODAY + dt.timedelta(days=1)).isoformat()}


async def stats(client: Client, **params: str) -> httpx.Response:
    return await client.http.get("/api/stats", params=params)


async def operations(redis: RedisClient) -> list[AuditRecord]:
    return [r for r in map(AuditRecord.from_fields, await audit_log(redis)) if r.action == "stats.read"]


@pytest.fixture
async def chef(login: Login) -> Client:
    """Stina: supervisor of vc-t and 1177-t."""
    return await login(staff_id="stats-chef")


@pytest.fixture
async def admin(login: Login) -> Client:
    return await login(staff_id="stats-admin")


async def test_no_session_is_401(server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=server.base) as anonymous:
        response = await anonymous.get("/api/stats", params=DAYS)
    error_of(response, 401, "unauthenticated")


async def test_a_nurse_or_a_citizen_is_403_and_the_nurse_is_audited(
    nurse: Client, erik: Client, redis: RedisClient
) -> None:
    error_of(await stats(nurse, **DAYS), 403, "forbidden")
    error_of(await stats(erik, **DAYS), 403, "forbidden")
    [record] = await operations(redis)
    assert (record.actor, record.role, record.outcome, record.detail) == ("nurse-1", "nurse", "denied", "no_role")
    assert record.case_id == "" and record.patient == ""


async def test_a_supervisor_is_403_for_a_unit_they_do_not_supervise(chef: Client, redis: RedisClient) -> None:
    error_of(await stats(chef, unit="vc-other", **DAYS), 403, "forbidden")
    [record] = await operations(redis)
    assert (record.actor, record.role, record.unit) == ("stats-chef", "supervisor", "vc-other")
    assert (record.outcome, record.detail) == ("denied", "forbidden")


@pytest.mark.parametrize(
    ("params", "words"),
    [
        pytest.param({"from": "2026-13-01"}, "from must be a date", id="bad-month"),
        pytest.param({"from": "yesterday"}, "from must be a date", id="not-a-date"),
        pytest.param({"from": "2026-12-01", "to": "2026-12-0"}, "to must be a date", id="bad-to"),
        pytest.param({}, "from must be a date", id="no-from"),
        pytest.param({"from": "2026-12-07", "to": "2026-12-01"}, "from must not be after to", id="reversed"),
        pytest.param({"from": "2026-01-01", "to": "2026-12-31"}, "too long", id="a-year"),
        pytest.param({"from": "9999-12-31"}, "from 2000-01-01 to 2099-12-31", id="far-future"),
        pytest.param({"from": "0001-01-01", "to": "0001-01-02"}, "from 2000-01-01 to 2099-12-31", id="year-one"),
        pytest.param({"from": "2026-12-01", "by": "month"}, "hour, day, week", id="bad-bucket"),
        pytest.param({"from": "2026-12-01" * 100}, "invalid query", id="oversized"),
        pytest.param({"from": "2026-12-01", "unit": "vc-t", "region": "elsewhere"}, "not in region", id="mismatch"),
    ],
)
async def test_bad_periods_and_buckets_are_400(chef: Client, params: dict[str, str], words: str) -> None:
    assert words in error_of(await stats(chef, **params), 400, "bad_request")


async def test_an_unknown_unit_or_region_is_404(chef: Client) -> None:
    assert "no unit" in error_of(await stats(chef, unit="vc-nowhere", **DAYS), 404, "not_found")
    assert "no region" in error_of(await stats(chef, region="nowhere", **DAYS), 404, "not_found")


async def test_a_supervisor_reads_their_units_and_every_read_is_audited(
    chef: Client, admin: Client, erik: Client, redis: RedisClient
) -> None:
    await waiting_case(erik)
    response = await stats(chef, **DAYS)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert (body["region"], body["scope"], body["by"], body["complete"]) == ("t", ["1177-t", "vc-t"], "day", True)
    assert body["total"]["arrived"] == 1 and body["units"]["vc-t"]["arrived_by"]["reason"] == {"sore_throat": 1}
    assert [c["unit"] for c in body["choices"]] == ["1177-t", "vc-t"]  # what the page offers to filter by
    assert body["staff_names"] == {}  # no one has claimed yet
    assert [row["bucket"] for row in body["series"]] == [DAYS["from"], TODAY.isoformat(), DAYS["to"]]
    assert sum(row["arrived"] for row in body["series"]) == 1
    again = await stats(chef, **DAYS)  # a replayed read: the same answer, audited again
    assert again.json() == body
    one = (await stats(chef, unit="vc-t", by="hour", **DAYS)).json()
    assert one["scope"] == ["vc-t"] and len(one["series"]) == 72 and one["total"]["arrived"] == 1
    region = (await stats(admin, **DAYS)).json()  # an administrator: the whole region
    assert region["scope"] == [] and region["total"]["arrived"] == 1
    assert {c["unit"] for c in region["choices"]} == {"1177-t", "vc-t", "vc-other", "bvc-t"}
    records = await operations(redis)
    assert [(r.actor, r.role, r.unit, r.outcome) for r in records] == [
        ("stats-chef", "supervisor", "", "ok"),
        ("stats-chef", "supervisor", "", "ok"),
        ("stats-chef", "supervisor", "vc-t", "ok"),
        ("stats-admin", "admin", "", "ok"),
    ]
    assert {r.detail for r in records} == {f"{DAYS['from']}/{DAYS['to']}"}
    assert all(r.case_id == "" and r.patient == "" for r in records)  # a read names no case, no patient
