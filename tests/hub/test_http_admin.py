"""Administration without restarts over HTTP (server/http/administration.py) on a real server and Redis:
an administrator edits staff, units and templates in the live configuration; a supervisor closes a unit
for a day. Every edit names its version, is validated, audited, and applied at once."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import httpx
import pytest
from support import ServerProcess, timeout
from support_hub import ERIK, Login, error_of, not_logged_in, refused, waiting_case

from direkt.loadtests.client import Client
from direkt.queue.scripts import RedisClient
from direkt.server.care.triageflow import stockholm_date


@pytest.fixture
async def admin(login: Login) -> Client:
    return await login(staff_id="admin-1")


async def edit(client: Client, method: str, path: str, body: Any = None, version: int | None = None) -> httpx.Response:
    headers = {"X-CSRF-Token": client.csrf}
    if version is not None:
        headers["If-Match"] = f'"{version}"'
    if body is not None:
        headers["Content-Type"] = "application/json"
        return await client.http.request(method, path, json=body, headers=headers)
    return await client.http.request(method, path, headers=headers)


async def version_of(client: Client) -> int:
    return int((await client.call("GET", "/api/admin/config"))["version"])


async def operations(redis: RedisClient, prefix: str) -> list[tuple[str, str, str, str, str]]:
    """(actor, action, unit, outcome, detail) of the audit records of operations starting with ``prefix``."""
    rows = [{k.decode(): v.decode() for k, v in f.items()} for _, f in await redis.xrange("dk:audit")]
    return [
        (r["actor"], r["action"], r["unit"], r["outcome"], r["detail"]) for r in rows if r["action"].startswith(prefix)
    ]


NEW_NURSE = {"id": "nurse-9", "name": "Nina Nyström", "profession": "nurse", "units": ["vc-t"], "max_chats": 3,
             "password": "hemligt"}  # fmt: skip


# -- reading ---------------------------------------------------------------------------------------


async def test_an_admin_reads_the_live_configuration_without_password_hashes(admin: Client) -> None:
    config = await admin.call("GET", "/api/admin/config")
    assert config["version"] == 1
    nurse = next(s for s in config["staff"] if s["id"] == "nurse-1")
    assert nurse["has_password"] is True and "password_hash" not in nurse
    assert nurse["units"] == ["vc-t", "1177-t"] and nurse["active"] is True
    unit = next(u for u in config["units"] if u["id"] == "vc-t")
    assert unit["pick_from_list"] is True and unit["staff_edit_phrases"] is True and unit["overflow"] == []
    assert {t["id"] for t in config["templates"]} >= {"greeting"}


async def test_only_an_admin_may_read_or_edit_and_refusals_are_audited(
    server: ServerProcess, login: Login, redis: RedisClient
) -> None:
    async with httpx.AsyncClient(base_url=server.base) as nobody:
        error_of(await nobody.get("/api/admin/config"), 401, "unauthenticated")
    nurse = await login(staff_id="nurse-1")
    await refused(nurse.call("GET", "/api/admin/config"), 403, "forbidden")
    error_of(await edit(nurse, "POST", "/api/admin/staff", NEW_NURSE, 1), 403, "forbidden")
    supervisor = await login(staff_id="super-1")
    error_of(await edit(supervisor, "DELETE", "/api/admin/staff/nurse-2", version=1), 403, "forbidden")
    citizen = await login(pnr=ERIK)
    await refused(citizen.call("GET", "/api/admin/config"), 403, "forbidden")
    assert await operations(redis, "config.") == [
        ("nurse-1", "config.read", "", "denied", ""),
        ("nurse-1", "config.staff", "", "denied", ""),  # refused before the body (and its id) is read
        ("super-1", "config.staff", "", "denied", "nurse-2"),
    ]


# -- staff -----------------------------------------------------------------------------------------


async def test_a_new_staff_member_can_log_in_at_once_and_the_edit_is_audited(
    server: ServerProcess, admin: Client, redis: RedisClient
) -> None:
    created = await edit(admin, "POST", "/api/admin/staff", NEW_NURSE, 1)
    assert created.status_code == 201, created.text
    assert created.json()["version"] == 2 and created.json()["staff"]["has_password"] is True
    nina = Client(server.base)
    try:
        me = await nina.login_staff("nurse-9", "hemligt")
        assert me["staff"]["units"] == ["vc-t"]
        queue = await nina.call("GET", "/api/staff/queue")
        assert queue["max_chats"] == 3
    finally:
        await nina.aclose()
    # a replay of the same request: its version is no longer current
    error_of(await edit(admin, "POST", "/api/admin/staff", NEW_NURSE, 1), 409, "config_conflict")
    # the same member again on the current version: already there
    error_of(await edit(admin, "POST", "/api/admin/staff", NEW_NURSE, 2), 409, "conflict")
    assert await operations(redis, "config.staff") == [
        ("admin-1", "config.staff", "", "ok", "nurse-9"),
        ("admin-1", "config.staff", "", "denied", "nurse-9"),
        ("admin-1", "config.staff", "", "denied", "nurse-9"),
    ]


async def test_an_edit_needs_the_version_it_was_made_against(admin: Client) -> None:
    error_of(await edit(admin, "POST", "/api/admin/staff", NEW_NURSE), 428, "version_required")
    error_of(await edit(admin, "POST", "/api/admin/staff", NEW_NURSE, 7), 409, "config_conflict")
    response = await admin.http.post(
        "/api/admin/staff", json=NEW_NURSE, headers={"X-CSRF-Token": admin.csrf, "If-Match": "seven"}
    )
    error_of(response, 400, "bad_request")
    assert await version_of(admin) == 1


async def test_an_invalid_edit_names_the_field_and_nothing_is_applied(admin: Client) -> None:
    cases = [
        ({**NEW_NURSE, "units": ["no-such-unit"]}, "units[0]", "unknown unit"),
        ({**NEW_NURSE, "max_chats": 40}, "max_chats", "between"),
        ({**NEW_NURSE, "max_chats": "many"}, "max_chats", "expected `int`"),
        ({**NEW_NURSE, "profession": "wizard"}, "profession", "invalid enum value"),
        ({**NEW_NURSE, "id": "Nina Nyström"}, "id", "lowercase"),
        ({**NEW_NURSE, "roles": ["king"]}, "roles[0]", "unknown role"),
        ({**NEW_NURSE, "shoe_size": 38}, "", "unknown field"),
    ]
    for body, field, problem in cases:
        response = await edit(admin, "POST", "/api/admin/staff", body, 1)
        assert response.status_code == 422, (body, response.text)
        error = response.json()["error"]
        assert error["code"] == "config_invalid" and error["field"] == field, (body, error)
        assert problem in error["message"], (body, error)
    assert await version_of(admin) == 1


async def test_malformed_and_oversized_bodies_are_refused(admin: Client) -> None:
    headers = {"X-CSRF-Token": admin.csrf, "If-Match": '"1"', "Content-Type": "application/json"}
    error_of(await admin.http.post("/api/admin/staff", content=b"{not json", headers=headers), 400, "bad_request")
    big = {**NEW_NURSE, "name": "x" * (70 * 1024)}
    error_of(await edit(admin, "POST", "/api/admin/staff", big, 1), 413, "too_large")
    plain = {**headers, "Content-Type": "text/plain"}
    error_of(await admin.http.post("/api/admin/staff", content=b"{}", headers=plain), 400, "bad_request")
    no_csrf = {k: v for k, v in headers.items() if k != "X-CSRF-Token"}
    error_of(await admin.http.post("/api/admin/staff", json=NEW_NURSE, headers=no_csrf), 403, "csrf_failed")


async def test_a_deactivated_staff_member_is_logged_out_everywhere_and_cannot_log_in(
    server: ServerProcess, admin: Client, login: Login
) -> None:
    olle = await login(staff_id="nurse-2")
    sock = await olle.socket()
    await sock.expect("welcome")
    response = await edit(admin, "DELETE", "/api/admin/staff/nurse-2", version=1)
    assert response.status_code == 200 and response.json()["staff"]["active"] is False
    await asyncio.wait_for(sock.closed.wait(), timeout(5))
    assert sock.close_code == 4001
    assert await not_logged_in(olle.http)
    again = Client(server.base)
    try:
        await refused(again.login_staff("nurse-2"), 401, "unauthenticated")
    finally:
        await again.aclose()
    error_of(await edit(admin, "DELETE", "/api/admin/staff/nobody", version=2), 404, "not_found")


async def test_a_staff_member_whose_units_change_reconnects_with_the_new_ones(admin: Client, login: Login) -> None:
    nora = await login(staff_id="nurse-1")
    sock = await nora.socket()
    await sock.expect("welcome")
    body = {"name": "Nora Nilsson", "profession": "nurse", "units": ["vc-t"], "max_chats": 4}
    response = await edit(admin, "PUT", "/api/admin/staff/nurse-1", body, 1)
    assert response.status_code == 200, response.text
    await asyncio.wait_for(sock.closed.wait(), timeout(5))
    assert sock.close_code == 4002  # reconnect: her rights changed
    assert (await nora.call("GET", "/api/session"))["staff"]["units"] == ["vc-t"]
    nora_again = await nora.socket()
    await nora_again.expect("welcome")
    await nora_again.close()
    error_of(await edit(admin, "PUT", "/api/admin/staff/nobody", body, 2), 404, "not_found")
    renamed = await edit(admin, "PUT", "/api/admin/staff/nurse-1", {**body, "id": "nurse-2"}, 2)
    assert renamed.status_code == 422 and renamed.json()["error"]["field"] == "id"


# -- units and templates ---------------------------------------------------------------------------


def unit_body(config: dict[str, Any], unit_id: str, **changes: Any) -> dict[str, Any]:
    unit = next(u for u in config["units"] if u["id"] == unit_id)
    return {k: v for k, v in unit.items() if k != "id"} | changes


async def test_a_unit_edit_changes_its_hours_and_flags_at_once(admin: Client, login: Login, redis: RedisClient) -> None:
    config = await admin.call("GET", "/api/admin/config")
    body = unit_body(config, "vc-t", hours={"mon-fri": "08:00-16:00"}, pick_from_list=False)
    response = await edit(admin, "PUT", "/api/admin/units/vc-t", body, 1)
    assert response.status_code == 200, response.text
    unit = response.json()["unit"]
    assert unit["hours"] == {"mon-fri": "08:00-16:00"} and unit["pick_from_list"] is False
    nurse = await login(staff_id="nurse-1")
    units = {u["unit"]: u for u in (await nurse.call("GET", "/api/staff/units"))["units"]}
    assert "vc-t" in units
    bad = await edit(admin, "PUT", "/api/admin/units/vc-t", {**body, "hours": {"mon-fri": "16:00-08:00"}}, 2)
    assert bad.status_code == 422 and bad.json()["error"]["field"].startswith("hours."), bad.text
    error_of(await edit(admin, "PUT", "/api/admin/units/nowhere", body, 2), 404, "not_found")
    refers = await edit(admin, "DELETE", "/api/admin/units/vc-t", version=2)  # staff still serve it
    assert refers.status_code == 422 and refers.json()["error"]["field"].startswith("staff["), refers.text
    assert await operations(redis, "config.unit") == [
        ("admin-1", "config.unit", "vc-t", "ok", "vc-t"),
        ("admin-1", "config.unit", "vc-t", "denied", "vc-t"),
        ("admin-1", "config.unit", "nowhere", "denied", "nowhere"),
        ("admin-1", "config.unit", "vc-t", "denied", "vc-t"),
    ]


async def test_unit_templates_are_edited_by_the_admin_and_seen_by_the_units_staff(admin: Client, login: Login) -> None:
    template = {"id": "vc-hello", "title": "Välkommen", "text": {"sv": "Hej {first_name}!", "en": "Hi {first_name}!"},
                "tags": ["start"], "unit": "vc-t"}  # fmt: skip
    created = await edit(admin, "POST", "/api/admin/templates", template, 1)
    assert created.status_code == 201, created.text
    nurse, outsider = await login(staff_id="nurse-1"), await login(staff_id="nurse-other")
    assert "vc-hello" in {t["id"] for t in (await nurse.call("GET", "/api/staff/templates"))["templates"]}
    assert "vc-hello" not in {t["id"] for t in (await outsider.call("GET", "/api/staff/templates"))["templates"]}
    broken = {**template, "text": {"sv": "Hej {name}!", "en": "Hi"}}
    response = await edit(admin, "PUT", "/api/admin/templates/vc-hello", broken, 2)
    assert response.status_code == 422 and response.json()["error"]["field"] == "text.sv", response.text
    assert (await edit(admin, "DELETE", "/api/admin/templates/vc-hello", version=2)).status_code == 200
    assert "vc-hello" not in {t["id"] for t in (await nurse.call("GET", "/api/staff/templates"))["templates"]}
    error_of(await edit(admin, "DELETE", "/api/admin/templates/vc-hello", version=3), 404, "not_found")


async def test_a_unit_that_keeps_its_phrases_refuses_staff_edits(admin: Client, login: Login) -> None:
    nurse = await login(staff_id="nurse-1")
    mine = {"title": "Vår hälsning", "text_sv": "Hej!", "text_en": "Hi!", "unit": "vc-t"}
    made = await nurse.call("POST", "/api/staff/templates", mine)
    config = await admin.call("GET", "/api/admin/config")
    response = await edit(admin, "PUT", "/api/admin/units/vc-t", unit_body(config, "vc-t", staff_edit_phrases=False), 1)
    assert response.status_code == 200, response.text
    await refused(nurse.call("POST", "/api/staff/templates", mine), 403, "forbidden")
    await refused(nurse.call("DELETE", f"/api/staff/templates/{made['id']}"), 403, "forbidden")
    personal = await nurse.call("POST", "/api/staff/templates", {**mine, "unit": None})
    assert personal["personal"] is True  # her own phrases stay hers to edit


# -- closure days ----------------------------------------------------------------------------------


async def test_a_supervisor_closes_her_unit_for_a_day_and_opens_it_again(
    login: Login, redis: RedisClient, server: ServerProcess
) -> None:
    supervisor = await login(staff_id="super-1")
    today = stockholm_date(int(dt.datetime.now(dt.UTC).timestamp() * 1000))
    day = (today + dt.timedelta(days=30)).isoformat()
    added = await supervisor.call("POST", "/api/units/vc-t/closure-days", {"date": day})
    assert added["unit"] == "vc-t" and added["closed_days"] == [day]
    assert (await supervisor.call("POST", "/api/units/vc-t/closure-days", {"date": day}))["closed_days"] == [day]
    admin = await login(staff_id="admin-1")
    unit = next(u for u in (await admin.call("GET", "/api/admin/config"))["units"] if u["id"] == "vc-t")
    assert unit["closed_days"] == [day]
    removed = await supervisor.call("DELETE", f"/api/units/vc-t/closure-days/{day}")
    assert removed["closed_days"] == []
    error_of(await edit(supervisor, "DELETE", f"/api/units/vc-t/closure-days/{day}"), 404, "not_found")
    assert await operations(redis, "unit.closure_day") == [
        ("super-1", "unit.closure_day", "vc-t", "ok", f"add:{day}"),
        ("super-1", "unit.closure_day", "vc-t", "ok", f"add:{day}"),
        ("super-1", "unit.closure_day", "vc-t", "ok", f"remove:{day}"),
        ("super-1", "unit.closure_day", "vc-t", "denied", f"remove:{day}"),
    ]


async def test_closure_days_refuse_past_and_bad_dates_and_other_units(
    server: ServerProcess, login: Login, redis: RedisClient
) -> None:
    supervisor = await login(staff_id="super-1")
    for body, status in [({"date": "2020-01-01"}, 422), ({"date": "2026-13-45"}, 422), ({"date": 5}, 422),
                         ({"day": "2030-01-01"}, 422)]:  # fmt: skip
        response = await edit(supervisor, "POST", "/api/units/vc-t/closure-days", body)
        assert response.status_code == status and response.json()["error"]["code"] == "config_invalid", response.text
    bad_path = await edit(supervisor, "DELETE", "/api/units/vc-t/closure-days/tomorrow")
    assert bad_path.status_code == 422 and bad_path.json()["error"]["field"] == "date"
    error_of(
        await edit(supervisor, "POST", "/api/units/vc-other/closure-days", {"date": "2030-01-02"}), 403, "forbidden"
    )
    error_of(
        await edit(supervisor, "POST", "/api/units/nowhere/closure-days", {"date": "2030-01-02"}), 404, "not_found"
    )
    nurse = await login(staff_id="nurse-1")
    error_of(await edit(nurse, "POST", "/api/units/vc-t/closure-days", {"date": "2030-01-02"}), 403, "forbidden")
    async with httpx.AsyncClient(base_url=server.base) as nobody:
        error_of(await nobody.post("/api/units/vc-t/closure-days", json={"date": "2030-01-02"}), 401, "unauthenticated")
    admin = await login(staff_id="admin-1")
    assert (await admin.call("POST", "/api/units/vc-other/closure-days", {"date": "2030-01-02"}))["closed_days"] == [
        "2030-01-02"
    ]
    denied = [(actor, unit) for actor, _, unit, outcome, _ in await operations(redis, "unit.") if outcome == "denied"]
    assert ("super-1", "vc-other") in denied and ("nurse-1", "vc-t") in denied


async def concurrently(*calls: Any) -> list[Any]:
    return list(await asyncio.gather(*calls, return_exceptions=True))


async def test_two_admins_editing_one_version_never_overwrite_each_other(login: Login) -> None:
    one, two = await login(staff_id="admin-1"), await login(staff_id="admin-1")
    first = {**NEW_NURSE, "id": "nurse-a"}
    second = {**NEW_NURSE, "id": "nurse-b"}
    answers = await concurrently(
        edit(one, "POST", "/api/admin/staff", first, 1), edit(two, "POST", "/api/admin/staff", second, 1)
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201, 409], [a.text for a in answers]
    ids = {s["id"] for s in (await one.call("GET", "/api/admin/config"))["staff"]}
    assert len({"nurse-a", "nurse-b"} & ids) == 1


async def test_a_queue_with_cases_waiting_cannot_be_removed(admin: Client, erik: Client) -> None:
    case = await waiting_case(erik)
    queue = (await erik.call("GET", f"/api/cases/{case}"))["queue"]
    unit, skill = queue["unit"], queue["skill"]
    config = await admin.call("GET", "/api/admin/config")
    skills = next(u["skills"] for u in config["units"] if u["id"] == unit)
    body = unit_body(config, unit, skills=[s for s in skills if s != skill])
    refused_edit = await edit(admin, "PUT", f"/api/admin/units/{unit}", body, config["version"])
    assert "cases wait in" in error_of(refused_edit, 409, "conflict")
    assert (await admin.call("GET", "/api/admin/config"))["version"] == config["version"]  # nothing applied
