"""Vaccination self-booking over HTTP (server/http/vaccination.py), against a real ``direkt serve`` of
the demo region (its catalogue and booking schedules) and a real Redis.

What a citizen would notice: after the vaccination questions, whether she may book herself (and
why not), the nearest vaccination units with free times, a booking that takes the slot, the same
booking again on a replayed request, and a clear refusal for anything else.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from support import ServerProcess, at, free_port, serve_in_thread
from support_hub import ELSA, ERIK, citizen, refused, staff

from direkt.loadtests.client import ApiError, Client
from direkt.server.redis.embedded import EmbeddedRedis

pytestmark = pytest.mark.slow
DAY_MS = 86_400_000
TOKEN = "register-test-token"

DEMO_REGION = Path(__file__).parents[2] / "server" / "data" / "region.toml"
GOSTA = "194101012393"  # 85, home unit vc-gottsunda (Uppsala): pneumococcus is recommended all year
MAJA = "198105102381"  # 45, guardian


@pytest.fixture(scope="module")
def server(standalone_redis: EmbeddedRedis) -> Iterator[ServerProcess]:
    process = ServerProcess(standalone_redis.url, config=DEMO_REGION)
    yield process
    process.stop()
    # The next module's server starts on this Redis before its first flush: leave it no demo region.
    cleared = redis.Redis.from_url(standalone_redis.url)
    cleared.flushall()
    cleared.close()


@pytest.fixture
async def people(server: ServerProcess) -> AsyncIterator[Any]:
    opened: list[Client] = []

    async def log_in(pnr: str = "", staff_id: str = "") -> Client:
        client = await (staff(server.base, staff_id) if staff_id else citizen(server.base, pnr))
        opened.append(client)
        return client

    yield log_in
    for client in opened:
        await client.aclose()


def vaccination_answers(vaccine: str, *, fever: str = "no", reaction: str = "no") -> list[tuple[str, Any]]:
    which: list[tuple[str, Any]] = [("vaccination.which", vaccine)]
    if vaccine == "other":
        which.append(("vaccination.other_which", "gula febern, resa i mars"))
    return [
        ("reason", "vaccination"), *which, ("vaccination.reaction", reaction),
        ("vaccination.fever", fever), ("vaccination.health", ["none"]), ("vaccination.notes", ""),
    ]  # fmt: skip


# Pneumococcus and TBE are given all year, so what these tests see does not depend on today's date;
# the season of influenza and covid-19 is tested by the visit day (next January, next July).
async def vaccination_triage(client: Client, vaccine: str = "pneumococcal", child: str = "", **answers: str) -> str:
    start = {"child": child} if child else {}
    view = await client.triage("vaccination", vaccination_answers(vaccine, **answers), **start)
    assert view["result"] is not None, view["question"]
    return str(view["id"])


async def offer(client: Client, tid: str, query: str = "") -> dict[str, Any]:
    return dict(await client.call("GET", f"/api/vaccination/{tid}{query}"))


def first_slot(found: dict[str, Any]) -> dict[str, Any]:
    unit = next(u for u in found["units"] if u["slots"])
    return {"unit": unit["id"], "start_ms": unit["slots"][0]["start_ms"]}


async def test_an_eligible_citizen_books_a_slot_once_and_a_replay_gives_the_same_booking(people: Any) -> None:
    gosta = await people(GOSTA)
    tid = await vaccination_triage(gosta)
    found = await offer(gosta, tid)
    assert (found["eligible"], found["code"], found["vaccine"]) == (True, "ok", "pneumococcal")
    assert found["place"] == "Uppsala" and found["sources"] and found["text"]["sv"]
    assert found["units"] and found["units"][0]["km"] is not None
    kms = [u["km"] for u in found["units"]]
    assert kms == sorted(kms)  # nearest first
    chosen = first_slot(found)

    booking = await gosta.call("POST", f"/api/vaccination/{tid}/booking", chosen, expect=(201,))
    assert booking["booked_by"] == "self" and booking["vaccine"] == "pneumococcus" and booking["mode"] == "physical"
    assert (booking["unit"], booking["start_ms"], booking["status"]) == (chosen["unit"], chosen["start_ms"], "booked")

    again = await gosta.call("POST", f"/api/vaccination/{tid}/booking", chosen, expect=(200,))
    assert again["id"] == booking["id"]
    other = {
        "unit": chosen["unit"],
        "start_ms": next(u for u in found["units"] if u["id"] == chosen["unit"])["slots"][1]["start_ms"],
    }
    await refused(gosta.call("POST", f"/api/vaccination/{tid}/booking", other), 409, "already_booked")

    after = await offer(gosta, tid)
    assert after["booking"]["id"] == booking["id"]
    unit = next(u for u in after["units"] if u["id"] == chosen["unit"])
    assert chosen["start_ms"] not in [s["start_ms"] for s in unit["slots"]]  # the slot is taken
    mine = await gosta.call("GET", "/api/bookings")
    assert [b["id"] for b in mine["bookings"]] == [booking["id"]]


async def test_a_taken_slot_is_refused_to_the_next_citizen(people: Any) -> None:
    gosta = await people(GOSTA)
    found = await offer(gosta, await vaccination_triage(gosta, "tbe"))
    chosen = first_slot(found)
    await gosta.call("POST", f"/api/vaccination/{found['triage']}/booking", chosen, expect=(201,))
    erik = await people(ERIK)
    tid = await vaccination_triage(erik, "tbe")
    await refused(erik.call("POST", f"/api/vaccination/{tid}/booking", chosen), 409, "slot_taken")


@pytest.mark.parametrize(
    ("pnr", "vaccine", "answers", "code"),
    [
        (ERIK, "pneumococcal", {}, "not_recommended"),  # 35, no risk group the triage sees
        (GOSTA, "influenza", {"fever": "yes"}, "needs_person"),
        (GOSTA, "covid19", {"reaction": "unknown"}, "needs_person"),
        (GOSTA, "other", {}, "other_vaccine"),
    ],
)
async def test_who_may_not_book_is_told_why_and_refused_a_booking(
    people: Any, pnr: str, vaccine: str, answers: dict[str, str], code: str
) -> None:
    client = await people(pnr)
    tid = await vaccination_triage(client, vaccine, **answers)
    found = await offer(client, tid)
    assert (found["eligible"], found["code"], found["units"]) == (False, code, [])
    assert found["text"]["sv"] and found["text"]["en"]
    body = {"unit": "vacc-vm", "start_ms": 1}
    await refused(client.call("POST", f"/api/vaccination/{tid}/booking", body), 409, "not_self_bookable")


async def test_another_citizens_triage_is_not_found_and_staff_are_refused(people: Any) -> None:
    gosta = await people(GOSTA)
    tid = await vaccination_triage(gosta)
    chosen = first_slot(await offer(gosta, tid))
    erik = await people(ERIK)
    await refused(erik.call("GET", f"/api/vaccination/{tid}"), 404, "not_found")
    await refused(erik.call("POST", f"/api/vaccination/{tid}/booking", chosen), 404, "not_found")
    nurse = await people(staff_id="anna.lind")
    await refused(nurse.call("GET", f"/api/vaccination/{tid}"), 403, "forbidden")
    assert (await gosta.call("GET", "/api/bookings"))["bookings"] == []


async def test_an_unfinished_or_other_triage_has_no_offer(people: Any) -> None:
    erik = await people(ERIK)
    started = await erik.call("POST", "/api/triage", {"entry": "vaccination"})
    await refused(erik.call("GET", f"/api/vaccination/{started['id']}"), 409, "conflict")
    care = await erik.triage("seek_care", [("screen.now", ["none"]), ("reason", "sore_throat")])
    await refused(erik.call("GET", f"/api/vaccination/{care['id']}"), 409, "conflict")
    await refused(erik.call("GET", "/api/vaccination/not-a-triage!"), 404, "not_found")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"unit": "vacc-vm"}, 400, "bad_request"),  # no time
        ({"unit": "vacc-vm", "start_ms": -1}, 400, "bad_request"),
        ({"unit": "vacc-vm", "start_ms": 2**53}, 400, "bad_request"),  # far future: 400, never a 500
        ({"unit": "vacc-vm", "start_ms": 4_102_444_800_000}, 400, "bad_request"),  # 2100, past 400 days
        ({"unit": "x" * 500, "start_ms": 1}, 400, "bad_request"),
        ({"unit": "vacc-vm", "start_ms": 1, "extra": 1}, 400, "bad_request"),
        ({"unit": "vc-gottsunda", "start_ms": 1}, 400, "bad_request"),  # no such vaccination there
        ({"unit": "no-such-unit", "start_ms": 1}, 400, "bad_request"),
        ({"unit": "vacc-vm", "start_ms": 1}, 400, "not_in_schedule"),  # no such time
        ({"unit": "vacc-up", "start_ms": 1}, 400, "not_in_schedule"),  # another unit, no such time either
    ],
)
async def test_bad_booking_input_gets_a_clear_error(people: Any, body: dict[str, Any], status: int, code: str) -> None:
    gosta = await people(GOSTA)
    tid = await vaccination_triage(gosta, "pneumococcal")
    await refused(gosta.call("POST", f"/api/vaccination/{tid}/booking", body), status, code)


async def test_bad_offer_queries_get_a_clear_error_and_another_place_reorders(people: Any) -> None:
    gosta = await people(GOSTA)
    tid = await vaccination_triage(gosta)
    await refused(gosta.call("GET", f"/api/vaccination/{tid}?place=Atlantis"), 400, "bad_request")
    await refused(gosta.call("GET", f"/api/vaccination/{tid}?days=99"), 400, "bad_request")
    await refused(gosta.call("GET", f"/api/vaccination/{tid}?place={'x' * 200}"), 400, "bad_request")
    for start in (2**53, 253_402_300_800_000, int(time.time() * 1000) + 401 * DAY_MS):  # 9999 and beyond
        await refused(gosta.call("GET", f"/api/vaccination/{tid}?start={start}"), 400, "bad_request")
    near_home = await offer(gosta, tid)
    in_vasteras = await offer(gosta, tid, "?place=V%C3%A4ster%C3%A5s")
    assert (near_home["place"], in_vasteras["place"]) == ("Uppsala", "Västerås")
    assert [u["id"] for u in near_home["units"]] == ["vacc-up", "vacc-vm"]  # nearest first
    assert [u["id"] for u in in_vasteras["units"]] == ["vacc-vm", "vacc-up"]


async def test_concurrent_requests_with_one_triage_hold_one_slot(people: Any) -> None:
    gosta = await people(GOSTA)
    tid = await vaccination_triage(gosta)
    unit = next(u for u in (await offer(gosta, tid))["units"] if len(u["slots"]) >= 5)
    times = [{"unit": unit["id"], "start_ms": s["start_ms"]} for s in unit["slots"][:5]]
    answers = await asyncio.gather(
        *(gosta.call("POST", f"/api/vaccination/{tid}/booking", t) for t in times), return_exceptions=True
    )
    won = [a for a in answers if isinstance(a, dict)]
    assert len(won) == 1, answers
    assert all(isinstance(a, ApiError) and a.code == "already_booked" for a in answers if a not in won), answers
    booked = [b for b in (await gosta.call("GET", "/api/bookings"))["bookings"] if b["status"] == "booked"]
    assert [b["id"] for b in booked] == [won[0]["id"]]  # the losers' slots are not held
    free = {s["start_ms"] for u in (await offer(gosta, tid))["units"] if u["id"] == unit["id"] for s in u["slots"]}
    assert {t["start_ms"] for t in times} - free == {won[0]["start_ms"]}

    again = await vaccination_triage(gosta, "tbe")
    same = times[-1] if times[-1]["start_ms"] != won[0]["start_ms"] else times[0]
    replays = await asyncio.gather(
        *(gosta.call("POST", f"/api/vaccination/{again}/booking", same) for _ in range(4)), return_exceptions=True
    )
    assert all(isinstance(r, dict) for r in replays), replays
    assert len({r["id"] for r in replays}) == 1  # one booking, however often asked at once


async def test_a_unit_card_for_booking_cards(people: Any, server: ServerProcess) -> None:
    erik = await people(ERIK)
    card = await erik.call("GET", "/api/units/vacc-vm/card")
    assert card["name"] == "Vaccinationsmottagningen Västmanland" and card["address"] and card["city"]
    await refused(erik.call("GET", "/api/units/no-such-unit/card"), 404, "not_found")
    async with httpx.AsyncClient(base_url=server.base) as anonymous:
        assert (await anonymous.get("/api/units/vacc-vm/card")).status_code == 401


async def test_two_different_slots_at_once_keep_exactly_one_booking(people: Any) -> None:
    gosta = await people(GOSTA)
    for _ in range(3):  # the race is lost in either place (before or after the loser's own booking)
        tid = await vaccination_triage(gosta, "tbe")
        unit = next(u for u in (await offer(gosta, tid))["units"] if len(u["slots"]) >= 2)
        pair = [{"unit": unit["id"], "start_ms": s["start_ms"]} for s in unit["slots"][:2]]
        answers = await asyncio.gather(
            *(gosta.call("POST", f"/api/vaccination/{tid}/booking", t) for t in pair), return_exceptions=True
        )
        won = [a for a in answers if isinstance(a, dict)]
        lost = [a for a in answers if isinstance(a, ApiError)]
        assert len(won) == 1 and [a.code for a in lost] == ["already_booked"], answers
        mine = (await gosta.call("GET", "/api/bookings"))["bookings"]
        this = [b for b in mine if b["start_ms"] in {t["start_ms"] for t in pair} and b["unit"] == unit["id"]]
        assert [b["id"] for b in this if b["status"] == "booked"] == [won[0]["id"]]
        assert all(b["status"] == "cancelled" for b in this if b["id"] != won[0]["id"])  # the loser's, if made
        loser = next(t for t in pair if t["start_ms"] != won[0]["start_ms"])
        free = {s["start_ms"] for u in (await offer(gosta, tid))["units"] if u["id"] == unit["id"] for s in u["slots"]}
        assert loser["start_ms"] in free and won[0]["start_ms"] not in free
        await gosta.call("DELETE", f"/api/bookings/{won[0]['id']}")  # leave the slots for the next round


async def test_a_cancelled_booking_releases_its_triage_for_a_new_time(people: Any) -> None:
    gosta = await people(GOSTA)
    tid = await vaccination_triage(gosta)
    found = await offer(gosta, tid)
    chosen = first_slot(found)
    first = await gosta.call("POST", f"/api/vaccination/{tid}/booking", chosen, expect=(201,))
    await gosta.call("DELETE", f"/api/bookings/{first['id']}")
    assert (await offer(gosta, tid))["booking"] is None  # nothing booked any more

    unit = next(u for u in found["units"] if u["id"] == chosen["unit"])
    other = {"unit": chosen["unit"], "start_ms": unit["slots"][1]["start_ms"]}
    second = await gosta.call("POST", f"/api/vaccination/{tid}/booking", other, expect=(201,))
    assert second["id"] != first["id"] and second["status"] == "booked"
    assert (await offer(gosta, tid))["booking"]["id"] == second["id"]
    await refused(gosta.call("POST", f"/api/vaccination/{tid}/booking", chosen), 409, "already_booked")
    await gosta.call("DELETE", f"/api/bookings/{second['id']}")
    third = await gosta.call("POST", f"/api/vaccination/{tid}/booking", chosen, expect=(201,))  # the first time again
    assert third["id"] not in (first["id"], second["id"]) and third["status"] == "booked"
    booked = [b["id"] for b in (await gosta.call("GET", "/api/bookings"))["bookings"] if b["status"] == "booked"]
    assert third["id"] in booked and first["id"] not in booked and second["id"] not in booked


def next_date(month: int) -> dt.date:
    """The 15th of ``month`` next time it comes (within a year, so within the 400-day horizon)."""
    today = dt.date.today()
    year = today.year if (today.month, today.day) < (month, 15) else today.year + 1
    return dt.date(year, month, 15)


async def test_the_influenza_season_is_judged_by_the_visit_day_not_today(people: Any) -> None:
    gosta = await people(GOSTA)
    tid = await vaccination_triage(gosta, "influenza")
    january = at(f"{next_date(1)} 00:00")
    july = at(f"{next_date(7)} 00:00")
    winter = await offer(gosta, tid, f"?start={january}&days=14")
    assert (winter["eligible"], winter["code"]) == (True, "ok")
    assert any(u["slots"] for u in winter["units"])
    summer = await offer(gosta, tid, f"?start={july}&days=14")
    assert (summer["eligible"], summer["code"], summer["units"]) == (False, "season", [])
    body = {"unit": "vacc-up", "start_ms": july + 10 * 3_600_000}
    await refused(gosta.call("POST", f"/api/vaccination/{tid}/booking", body), 409, "not_self_bookable")
    march = await offer(gosta, tid, f"?start={at(f'{next_date(3).replace(day=25)} 00:00')}&days=14")
    days = {dt.datetime.fromtimestamp(s["start_ms"] / 1000).month for u in march["units"] for s in u["slots"]}
    assert march["eligible"] and days and days <= {3}  # the slots of April are left out


async def test_a_guardian_books_tbe_for_a_child_and_nothing_else(people: Any) -> None:
    maja = await people(MAJA)
    tid = await vaccination_triage(maja, "tbe", child=ELSA)  # Elsa, 8
    found = await offer(maja, tid)
    assert (found["eligible"], found["code"], found["patient"]["for_child"]) == (True, "ok", True)
    booking = await maja.call("POST", f"/api/vaccination/{tid}/booking", first_slot(found), expect=(201,))
    assert booking["vaccine"] == "tbe" and booking["patient_name"] == found["patient"]["name"]
    for vaccine in ("influenza", "covid19", "pneumococcal"):  # under 18: a person, whatever the date
        other = await offer(maja, await vaccination_triage(maja, vaccine, child=ELSA))
        assert (other["eligible"], other["code"]) == (False, "needs_person"), vaccine
    await maja.call("DELETE", f"/api/bookings/{booking['id']}")


@pytest.fixture(scope="module")
def register() -> Iterator[dict[str, list[dict[str, str]]]]:
    """A stand-in guardian register (as in test_guardian_register.py): children by guardian."""
    children: dict[str, list[dict[str, str]]] = {}

    async def handle(request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        return JSONResponse({"children": children.get(request.query_params.get("guardian", ""), [])})

    port = free_port()
    with serve_in_thread(Starlette(routes=[Route("/guardians", handle)]), port, "guardian register"):
        children["url"] = [{"url": f"http://127.0.0.1:{port}/guardians"}]
        yield children


async def test_the_guardians_right_is_asked_again_when_booking(
    standalone_redis: EmbeddedRedis, register: dict[str, list[dict[str, str]]]
) -> None:
    site = ServerProcess(
        standalone_redis.url, config=DEMO_REGION, DIREKT_GUARDIANS_URL=register["url"][0]["url"],
        DIREKT_GUARDIANS_TTL_SECONDS="0", DIREKT_GUARDIANS_TOKEN=TOKEN,
    )  # fmt: skip
    register[MAJA] = [{"pnr": ELSA, "name": "Elsa Registersson"}]
    maja = await citizen(site.base, MAJA)
    try:
        tid = await vaccination_triage(maja, "tbe", child=ELSA)
        found = await offer(maja, tid)
        assert found["eligible"], found
        register[MAJA] = []  # custody changed after the questions
        await refused(maja.call("POST", f"/api/vaccination/{tid}/booking", first_slot(found)), 403, "forbidden")
        register[MAJA] = [{"pnr": ELSA, "name": "Elsa Registersson"}]
        await maja.call("POST", f"/api/vaccination/{tid}/booking", first_slot(found), expect=(201,))
    finally:
        await maja.aclose()
        site.stop()
