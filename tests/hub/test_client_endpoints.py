"""The endpoints the browser clients need beyond the core API: where to log in,
a unit's public name, the transfer targets, and submitting to the clinic whose
page the widget is embedded on."""

from __future__ import annotations

from typing import Any

import httpx
from support import ServerProcess, timeout
from support_hub import ERIK, SORE_THROAT, barrier, citizen, error_of, kinds, refused, staff

from direkt.loadtests.client import JSON, Client


async def test_client_config_is_public_and_points_to_the_test_eid(server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=server.base) as anonymous:
        config = (await anonymous.get("/api/client-config")).json()
    assert config == {
        "citizen_login": "/auth/test-eid",
        "staff_oidc_login": "",
        "staff_password_login": True,
        "test_environment": True,
        "ice_servers": [],  # no STUN configured: never a public default
        "brand": {  # the test region has no [brand]: the neutral default, never "1177"
            "name": {"sv": "Vården direkt", "en": "Vården direkt"},
            "short_name": "Vården direkt",
            "logo": "/shared/icon.svg",
            "colors": {"primary": "#00507a", "on_primary": "#ffffff"},
            "advice_phone": "",
        },
    }


async def test_unit_name_is_public_and_unknown_or_odd_units_are_404(server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=server.base) as anonymous:
        unit = (await anonymous.get("/api/units/vc-t")).json()
        assert unit == {"unit": "vc-t", "name": "Testby vårdcentral", "region": "t"}
        for odd in ("nope", "vc-t%00", "x" * 5000, "%F0%9F%92%A9"):
            error_of(await anonymous.get(f"/api/units/{odd}"), 404, "not_found")


async def test_staff_units_lists_transfer_targets_with_their_skills(server: ServerProcess) -> None:
    nurse = await staff(server.base)
    listed = {u["unit"]: u for u in (await nurse.call("GET", "/api/staff/units"))["units"]}
    assert {"vc-t", "vc-other", "1177-t"} <= set(listed)
    assert "doctor" in listed["vc-t"]["skills"] and listed["vc-t"]["name"] == "Testby vårdcentral"
    await nurse.aclose()


async def test_staff_units_for_an_age_leave_out_units_that_cannot_take_the_patient(
    server: ServerProcess, erik: Client
) -> None:
    await erik.call("POST", "/api/cases", {"triage": await _finished_triage(erik)})
    nurse = await staff(server.base)
    adult = (await nurse.call("GET", "/api/staff/units?age=35"))["units"]
    assert [u["unit"] for u in adult] == ["1177-t", "vc-other", "vc-t"]  # by name; not child health care
    vc_t = adult[2]
    assert vc_t["open"] is True and vc_t["opens_ms"] is None
    assert vc_t["waiting"] == {"administrator": 0, "doctor": 0, "nurse": 1}
    child = (await nurse.call("GET", "/api/staff/units?age=4"))["units"]
    assert "bvc-t" in [u["unit"] for u in child]
    for bad in ("-1", "131", "old"):
        await refused(nurse.call("GET", f"/api/staff/units?age={bad}"), 400, "bad_request")
    await nurse.aclose()


async def test_staff_units_refuses_citizens_and_strangers(server: ServerProcess, erik: Client) -> None:
    await refused(erik.call("GET", "/api/staff/units"), 403, "forbidden")
    async with httpx.AsyncClient(base_url=server.base) as anonymous:
        error_of(await anonymous.get("/api/staff/units"), 401, "unauthenticated")


async def _finished_triage(client: Client) -> str:
    view: dict[str, Any] = await client.triage("seek_care", [tuple(a) for a in SORE_THROAT])  # type: ignore[misc]
    return str(view["id"])


async def test_submit_from_an_embedding_clinic_waits_in_that_clinics_queue(server: ServerProcess) -> None:
    erik = await citizen(server.base, ERIK)
    case = await erik.call("POST", "/api/cases", {"triage": await _finished_triage(erik), "unit": "vc-other"})
    other = await staff(server.base, "nurse-other")
    queue = await other.call("GET", "/api/staff/queue")
    assert [row["case"] for row in queue["cases"]] == [case["case"]]
    assert queue["cases"][0]["unit"] == "vc-other"
    await other.aclose()
    await erik.aclose()


async def test_submit_to_an_unknown_unit_is_refused_and_nothing_waits(server: ServerProcess) -> None:
    erik = await citizen(server.base, ERIK)
    tid = await _finished_triage(erik)
    await refused(erik.call("POST", "/api/cases", {"triage": tid, "unit": "vc-nowhere"}), 400, "bad_request")
    await refused(erik.call("POST", "/api/cases", {"triage": tid, "unit": 7}), 400, "bad_request")
    assert (await erik.call("GET", "/api/cases"))["cases"] == []
    nurse = await staff(server.base)
    assert (await nurse.call("GET", "/api/staff/queue"))["cases"] == []
    await nurse.aclose()
    await erik.aclose()


async def test_a_change_of_availability_reaches_every_open_console_of_hers_and_no_one_elses(
    server: ServerProcess,
) -> None:
    desk, tablet, other = await staff(server.base), await staff(server.base), await staff(server.base, "nurse-2")
    socks = [await client.socket(JSON) for client in (desk, tablet, other)]
    try:
        for sock in socks:
            await sock.expect("queue")
        await desk.call("PUT", "/api/staff/availability", {"availability": "away"})
        told = await socks[1].expect("availability", timeout(5))  # her tablet's console follows
        assert told == {"t": "availability", "availability": "away"}
        await socks[0].expect("availability", timeout(5), availability="away")  # and the console she set it in
        assert not kinds(await barrier(socks[2]), "availability")  # another nurse hears nothing
        await desk.call("PUT", "/api/staff/availability", {"availability": "available"})
        await socks[1].expect("availability", timeout(5), availability="available")
    finally:
        for sock in socks:
            await sock.close()
        for client in (desk, tablet, other):
            await client.aclose()


async def test_take_next_waits_for_a_staff_member_who_is_paused_or_away(server: ServerProcess, erik: Client) -> None:
    case = (await erik.call("POST", "/api/cases", {"triage": await _finished_triage(erik)}))["case"]
    nurse = await staff(server.base)
    assert await nurse.call("GET", "/api/staff/availability") == {"availability": "available"}
    sock = await nurse.socket(JSON)
    try:
        for state in ("paused", "away"):
            assert await nurse.call("PUT", "/api/staff/availability", {"availability": state}) == {
                "availability": state
            }
            refusal = await sock.request({"t": "claim_next", "rid": f"r-{state}"}, "claimed")
            assert refusal["t"] == "error" and refusal["code"] == "not_available", refusal
        again = await staff(server.base)  # another console of the same nurse: the same state
        assert await again.call("GET", "/api/staff/availability") == {"availability": "away"}
        await again.aclose()
        await refused(nurse.call("PUT", "/api/staff/availability", {"availability": "asleep"}), 400, "bad_request")
        await nurse.call("PUT", "/api/staff/availability", {"availability": "available"})
        assert (await sock.request({"t": "claim_next", "rid": "r-back"}, "claimed"))["case"] == case
    finally:
        await sock.close()
        await nurse.aclose()
    await refused(erik.call("PUT", "/api/staff/availability", {"availability": "away"}), 403, "forbidden")
