"""The referral catalogue's staff API against a real ``direkt serve`` and Redis (issue 24).

What a nurse would notice: units nearest her patient first (the case gives the
patient's age and home), a youth clinic left out for an adult, a card with the
referral message in the patient's language, a clear refusal for a filter that
makes no sense, and a referral close that must name a unit of the catalogue.
Citizens, and staff without the case, learn nothing.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from support_dates import SV_DAYS, at, before_christmas, next_christmas
from support_hub import ERIK, MADE_UP_CASE, audit_of, error_of, refused, waiting_case

from direkt.loadtests.client import Client
from direkt.queue.scripts import RedisClient

pytestmark = pytest.mark.slow

SERVER_ENV = {"DIREKT_CATALOGUE": str(Path(__file__).parents[1] / "data" / "hub_catalogue.toml")}
SEARCH = "/api/staff/catalogue"


async def test_the_search_lists_units_nearest_first_with_their_opening(nurse: Client) -> None:
    found = await nurse.call("GET", f"{SEARCH}?near=736%2030")
    assert found["near"] == "Kungsör"
    assert [u["id"] for u in found["units"]] == ["vc-t", "akut-t", "um-t", "akut-sala"]
    assert [u["distance_km"] for u in found["units"]] == sorted(u["distance_km"] for u in found["units"])
    akut = found["units"][1]
    assert (akut["open"], akut["name"], akut["phone"], akut["drop_in"]) == (
        True,
        "Akuten Testby",
        "08-465 004 51",
        True,
    )
    assert {"id": "emergency", "sv": "Akutmottagning", "en": "Emergency department"} in found["kinds"]
    assert any(s["id"] == "vaccine:tbe" for s in found["services"])


async def test_open_at_a_time_kind_service_and_age_narrow_the_list(nurse: Client) -> None:
    juldagen = next_christmas()
    christmas = await nurse.call("GET", f"{SEARCH}?at={at(juldagen)}&open=true")
    assert [u["id"] for u in christmas["units"]] == ["akut-sala", "akut-t", "um-t"]  # vc-t is closed on juldagen
    weekday = await nurse.call(
        "GET", f"{SEARCH}?at={at(before_christmas(juldagen), '10:00:00')}&open=1&kind=primary_care"
    )
    assert [u["id"] for u in weekday["units"]] == ["vc-t"]
    assert [u["id"] for u in (await nurse.call("GET", f"{SEARCH}?service=sti_testing"))["units"]] == ["um-t"]
    assert [u["id"] for u in (await nurse.call("GET", f"{SEARCH}?service=sti_testing&age=40"))["units"]] == []


async def test_the_case_gives_the_patients_age_and_home_and_is_read_audited(
    erik: Client, nurse: Client, redis: RedisClient
) -> None:
    case = await waiting_case(erik)
    found = await nurse.call("GET", f"{SEARCH}?case={case}")
    assert found["patient"]["municipality"] == "Kungsör" and found["near"] == "Kungsör"
    assert 18 <= found["patient"]["age"] == found["age"]
    assert [u["id"] for u in found["units"]] == ["vc-t", "akut-t", "akut-sala"]  # no youth clinic for an adult
    assert ERIK not in str(found)
    [record] = await audit_of(redis, ERIK)
    assert (record.action, record.actor, record.case_id, record.outcome) == ("case.read", "nurse-1", case, "ok")


async def test_a_units_card_carries_the_referral_message_in_both_languages(erik: Client, nurse: Client) -> None:
    case = await waiting_case(erik)
    juldagen = next_christmas()
    card = await nurse.call("GET", f"{SEARCH}/akut-t?case={case}&at={at(juldagen)}")
    assert card["lang"] == "sv" and card["id"] == "akut-t" and card["open"] is True
    assert card["message"]["sv"].startswith("Jag hänvisar dig till Akuten Testby (akutmottagning).")
    assert (
        card["day"]["sv"] == f"{SV_DAYS[juldagen.weekday()]} 25 december"
    )  # the time asked about; the message is about today
    assert re.search(r"^Öppet i dag, \w+dag \d+ \w+( \(.+\))?: dygnet runt$", card["message"]["sv"], re.M)
    assert "Getting there: Entrance 1." in card["message"]["en"]
    assert card["hours"]["sv"] == {"week": "mån–sön dygnet runt", "holidays": "dygnet runt"}
    assert card["distance_km"] > 30  # from the patient's home in Kungsör


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("kind=spa", "unknown kind"),
        ("service=massage", "unknown service"),
        ("near=Narnia", "near"),
        ("near=111%2022", "near"),
        ("near=" + "x" * 500, "invalid query"),
        ("at=tomorrow", "at:"),
        ("at=2026-13-45T10:00", "at:"),
        ("at=99999999999999", "within a year"),
        ("at=0001-01-01T00:00", "within a year"),  # a year the time zone's arithmetic cannot reach: not a 500
        ("at=9999-12-31T23:59", "within a year"),
        ("at=1999-12-31T10:00", "within a year"),
        ("age=-1", "invalid query"),
        ("age=ten", "invalid query"),
        ("open=perhaps", "invalid query"),
        ("region=zz", "unknown region"),
        ("case=not%20a%20case", "case"),
        ("case=" + "a" * 200, "invalid query"),
    ],
)
async def test_a_bad_filter_is_refused_with_a_clear_message(nurse: Client, query: str, problem: str) -> None:
    message = error_of(await nurse.http.get(f"{SEARCH}?{query}"), 400, "bad_request")
    assert problem in message


async def test_citizens_and_strangers_are_refused(erik: Client, outsider: Client, redis: RedisClient) -> None:
    case = await waiting_case(erik)
    error_of(await erik.http.get(SEARCH), 403, "forbidden")
    error_of(await erik.http.get(f"{SEARCH}/akut-t"), 403, "forbidden")
    async with Client(erik.base_url) as anonymous:
        error_of(await anonymous.http.get(SEARCH), 401, "unauthenticated")
    response = await outsider.http.get(f"{SEARCH}?case={case}")  # another unit's nurse: not her patient
    error_of(response, 403, "forbidden")
    assert ERIK not in response.text
    error_of(await outsider.http.get(f"{SEARCH}?case={MADE_UP_CASE}"), 404, "not_found")
    assert [(r.action, r.outcome) for r in await audit_of(redis, ERIK)] == [("case.read", "denied")]


async def test_an_unknown_unit_has_no_card(nurse: Client) -> None:
    error_of(await nurse.http.get(f"{SEARCH}/vc-nowhere"), 404, "not_found")
    error_of(await nurse.http.get(f"{SEARCH}/{'x' * 300}"), 404, "not_found")


async def test_a_referral_close_names_a_unit_of_the_catalogue_and_a_replay_changes_nothing(
    erik: Client, nurse: Client
) -> None:
    case = await waiting_case(erik)
    sock = await nurse.socket()
    try:
        claimed = await sock.request({"t": "claim_next", "rid": f"claim-{case}"}, "claimed")
        assert claimed["case"] == case
        close = f"/api/staff/cases/{case}/close"
        exc = await refused(
            nurse.call("POST", close, {"outcome": "referred", "unit": "vc-nowhere"}), 400, "bad_request"
        )
        assert "referral catalogue" in exc.message
        assert (await erik.call("GET", f"/api/cases/{case}"))["state"] == "claimed"
        await nurse.call("POST", close, {"outcome": "referred", "unit": "akut-t"})
        await nurse.call("POST", close, {"outcome": "referred", "unit": "akut-t"})  # a retried close
    finally:
        await sock.close()
    status = await erik.call("GET", f"/api/cases/{case}")
    assert (status["state"], status["outcome"], status["referred_unit"]) == ("closed", "referred", "akut-t")
    messages = (await erik.call("GET", f"/api/cases/{case}/transcript"))["messages"]
    assert [m.get("unit") for m in messages if m.get("code") == "closed"] == ["akut-t"]
