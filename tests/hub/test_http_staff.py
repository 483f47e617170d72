"""The staff console's HTTP API against a real ``direkt serve`` process and a real Redis: the queue
and case reads (audited), phrase templates, and closing a case with a journal note.

What a nurse would notice: why and how urgent a case is but not who, a refusal
for another unit's case (and the attempt audited), her phrases filled in for the
patient, and a journal note that stays with staff.
"""

from __future__ import annotations

from typing import Any

import pytest
from support_hub import (
    ERIK,
    MADE_UP_CASE,
    audit_of,
    error_of,
    refused,
    waiting_case,
)

from direkt.loadtests.client import Client
from direkt.queue.scripts import RedisClient

pytestmark = pytest.mark.slow


GREETING_SV = "Hej Erik! Jag heter Nora Nilsson på Testby vårdcentral."


# -- the staff console -------------------------------------------------------------------------


async def test_the_queue_shows_why_and_how_urgent_but_not_who(erik: Client, nurse: Client) -> None:
    case = await waiting_case(erik)
    response = await nurse.http.get("/api/staff/queue")
    queue = response.json()
    assert queue["held"] == [] and queue["max_chats"] == 4
    [row] = queue["cases"]
    assert (row["case"], row["unit"], row["skill"], row["reason"]) == (case, "vc-t", "nurse", "sore_throat")
    assert row["age"] >= 18 and row["urgency"] == 5 and row["deadline_ms"] > row["submitted_ms"]
    assert row["label"]["sv"] == "Ont i halsen" and row["pickable"] is True
    assert ERIK not in response.text and ERIK[2:] not in response.text and "Nilsson" not in response.text


async def test_reading_a_case_shows_the_triage_and_is_audited(erik: Client, nurse: Client, redis: RedisClient) -> None:
    case = await waiting_case(erik)
    assert await audit_of(redis, ERIK) == []  # waiting is not reading
    seen = await nurse.call("GET", f"/api/staff/cases/{case}")
    assert seen["patient"] == {"name": "Erik Nilsson", "pnr": ERIK, "first_name": "Erik"}
    assert (seen["state"], seen["unit"], seen["skill"], seen["holder"]) == ("waiting", "vc-t", "nurse", None)
    assert seen["triage"]["reason"]["code"] == "sore_throat" and seen["triage"]["care_level"] == "within_days"
    summary = {item["question"]["en"]: item["answer"]["en"] for item in seen["triage"]["answers"]}
    assert len(summary) >= 6 and any("10" in answer for answer in summary.values())  # ten days
    assert {"sv": "Besvärsduration: 10 dygn", "en": "Duration of symptoms: 10 days"} in seen["triage"]["findings"][
        "measured"
    ]
    assert seen["triage"]["decided_by"]["rule"] == "sore_throat.long"
    [record] = await audit_of(redis, ERIK)
    assert (record.action, record.actor, record.role, record.unit) == ("case.read", "nurse-1", "nurse", "vc-t")
    assert (record.case_id, record.patient, record.outcome) == (case, ERIK, "ok")


async def test_staff_of_another_unit_are_refused_and_the_attempt_is_audited(
    erik: Client, outsider: Client, redis: RedisClient
) -> None:
    case = await waiting_case(erik)
    response = await outsider.http.get(f"/api/staff/cases/{case}")
    error_of(response, 403, "forbidden")
    assert ERIK not in response.text
    error_of(await outsider.http.get(f"/api/staff/cases/{case}/transcript"), 403, "forbidden")
    assert (await outsider.call("GET", "/api/staff/queue"))["cases"] == []
    records = await audit_of(redis, ERIK)
    assert [(r.action, r.actor, r.outcome) for r in records] == [
        ("case.read", "nurse-other", "denied"),
        ("transcript.read", "nurse-other", "denied"),
    ]


async def test_an_unknown_case_is_not_found_for_staff(nurse: Client) -> None:
    await refused(nurse.call("GET", f"/api/staff/cases/{MADE_UP_CASE}"), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/staff/queue"),
        ("GET", "/api/staff/cases/{case}"),
        ("GET", "/api/staff/cases/{case}/transcript"),
        ("POST", "/api/staff/cases/{case}/close"),
        ("GET", "/api/staff/templates"),
        ("POST", "/api/staff/templates"),
    ],
)
async def test_citizens_cannot_use_the_staff_console(erik: Client, method: str, path: str) -> None:
    case = await waiting_case(erik)
    body = {"outcome": "referred"} if path.endswith("close") else None
    if path == "/api/staff/templates" and method == "POST":
        body = {"title": "t", "text_sv": "t", "text_en": "t"}
    await refused(erik.call(method, path.format(case=case), body), 403, "forbidden")


# -- phrase templates --------------------------------------------------------------------------


def by_id(listing: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["id"]: t for t in listing["templates"]}


def template(title: str, sv: str = "Hej {first_name}!", **extra: Any) -> dict[str, Any]:
    return {"title": title, "text_sv": sv, "text_en": "Hello {first_name}!", **extra}


async def test_templates_list_the_config_ones_of_my_units_and_my_own(nurse: Client, outsider: Client) -> None:
    mine = await nurse.call("POST", "/api/staff/templates", template("Min egen", tags=["egen"]), expect=[201])
    assert (mine["personal"], mine["unit"]) == (True, None)
    listed = by_id(await nurse.call("GET", "/api/staff/templates"))
    assert set(listed) == {"greeting", mine["id"]}  # not vc-other's template
    assert listed["greeting"]["personal"] is False and listed["greeting"]["tags"] == ["start"]
    assert set(by_id(await outsider.call("GET", "/api/staff/templates"))) == {"greeting", "other-unit"}


@pytest.mark.parametrize(("query", "found"), [("häls", {"greeting"}), ("START", {"greeting"}), ("ingen", set())])
async def test_templates_are_searched_by_title_and_tag(nurse: Client, query: str, found: set[str]) -> None:
    await nurse.call("POST", "/api/staff/templates", template("Avslut", tags=["slut"]))
    listed = await nurse.http.get("/api/staff/templates", params={"q": query})
    assert set(by_id(listed.json())) == found


async def test_templates_are_filled_in_for_a_case(erik: Client, nurse: Client) -> None:
    case = await waiting_case(erik)
    listed = by_id((await nurse.http.get("/api/staff/templates", params={"case": case})).json())
    assert listed["greeting"]["filled"] == {
        "sv": GREETING_SV,
        "en": "Hello Erik! I am Nora Nilsson at Testby vårdcentral.",
    }
    assert listed["greeting"]["text"]["sv"] == "Hej {first_name}! Jag heter {nurse_name} på {unit}."


async def test_templates_of_a_case_outside_my_units_are_not_filled(erik: Client, outsider: Client) -> None:
    case = await waiting_case(erik)
    error_of(await outsider.http.get("/api/staff/templates", params={"case": case}), 403, "forbidden")


async def test_a_unit_template_is_shared_with_the_unit(nurse: Client, colleague: Client, outsider: Client) -> None:
    shared = await nurse.call("POST", "/api/staff/templates", template("Enhetens", unit="vc-t"), expect=[201])
    assert (shared["personal"], shared["unit"]) == (False, "vc-t")
    assert shared["id"] in by_id(await colleague.call("GET", "/api/staff/templates"))
    assert shared["id"] not in by_id(await outsider.call("GET", "/api/staff/templates"))
    changed = await colleague.call("PUT", f"/api/staff/templates/{shared['id']}", template("Ändrad", unit="vc-t"))
    assert changed["title"] == "Ändrad"


async def test_a_template_for_a_unit_i_do_not_serve_is_refused(nurse: Client) -> None:
    await refused(nurse.call("POST", "/api/staff/templates", template("Annan", unit="vc-other")), 403, "forbidden")
    assert set(by_id(await nurse.call("GET", "/api/staff/templates"))) == {"greeting"}


async def test_my_template_can_be_edited_and_deleted(nurse: Client) -> None:
    mine = await nurse.call("POST", "/api/staff/templates", template("Först"))
    edited = await nurse.call(
        "PUT", f"/api/staff/templates/{mine['id']}", template("Sedan", "Hej igen {first_name}.", tags=["igen"])
    )
    assert (edited["id"], edited["title"], edited["text"]["sv"], edited["tags"]) == (
        mine["id"],
        "Sedan",
        "Hej igen {first_name}.",
        ["igen"],
    )
    assert by_id(await nurse.call("GET", "/api/staff/templates"))[mine["id"]]["title"] == "Sedan"
    assert await nurse.call("DELETE", f"/api/staff/templates/{mine['id']}") is None
    assert mine["id"] not in by_id(await nurse.call("GET", "/api/staff/templates"))
    await refused(nurse.call("DELETE", f"/api/staff/templates/{mine['id']}"), 404, "not_found")


async def test_a_config_template_cannot_be_changed(nurse: Client) -> None:
    await refused(nurse.call("PUT", "/api/staff/templates/greeting", template("Min hälsning")), 403, "forbidden")
    await refused(nurse.call("DELETE", "/api/staff/templates/greeting"), 403, "forbidden")
    assert by_id(await nurse.call("GET", "/api/staff/templates"))["greeting"]["title"] == "Hälsning"


@pytest.mark.parametrize(
    "body",
    [
        template("Hemligt", "Ditt personnummer är {pnr}"),
        template("Trasig", "Hej {first_name"),
        template("Bred", "Hej {first_name:>99999999999999999999}"),  # a width would be applied on every fill
        template("Attribut", "Hej {first_name.__class__}"),
        template(""),
        template("Taggar", tags=["x"] * 11),
        {"title": "Bara svenska", "text_sv": "Hej"},
        template("Okänt fält", staff="nurse-2"),
    ],
    ids=[
        "unknown-placeholder",
        "broken-placeholder",
        "format-spec",
        "attribute",
        "no-title",
        "too-many-tags",
        "missing-text",
        "unknown-field",
    ],
)
async def test_a_malformed_template_is_refused(nurse: Client, body: dict[str, Any]) -> None:
    await refused(nurse.call("POST", "/api/staff/templates", body), 400, "bad_request")
    assert set(by_id(await nurse.call("GET", "/api/staff/templates"))) == {"greeting"}


async def test_my_personal_template_is_mine_alone(nurse: Client, colleague: Client) -> None:
    mine = await nurse.call("POST", "/api/staff/templates", template("Privat"))
    assert mine["id"] not in by_id(await colleague.call("GET", "/api/staff/templates"))
    path = f"/api/staff/templates/{mine['id']}"
    await refused(colleague.call("PUT", path, template("Kapad")), 404, "not_found")
    await refused(colleague.call("DELETE", path), 404, "not_found")
    assert by_id(await nurse.call("GET", "/api/staff/templates"))[mine["id"]]["title"] == "Privat"


# -- closing a case over HTTP --------------------------------------------------------------------

JOURNAL = "Halsont 10 dagar, Centor 2. Råd om egenvård, ny kontakt vid försämring."


async def claimed_by(nurse: Client, case: str) -> None:
    sock = await nurse.socket()
    try:
        claimed = await sock.request({"t": "claim_next", "rid": f"claim-{case}"}, "claimed")
        assert claimed["t"] == "claimed" and claimed["case"] == case, claimed
    finally:
        await sock.close()


async def test_only_the_holder_closes_and_the_journal_note_stays_with_staff(
    erik: Client, nurse: Client, colleague: Client, outsider: Client, redis: RedisClient
) -> None:
    case = await waiting_case(erik)
    close = f"/api/staff/cases/{case}/close"
    body = {"outcome": "self_care_advice", "note": JOURNAL}
    await refused(nurse.call("POST", close, body), 409, "conflict")  # nobody holds it yet
    await claimed_by(nurse, case)
    await refused(colleague.call("POST", close, body), 409, "conflict")  # same unit, but not the holder
    await refused(outsider.call("POST", close, body), 403, "forbidden")
    await refused(nurse.call("POST", close, {"outcome": "cured", "note": JOURNAL}), 400, "bad_request")
    await refused(nurse.call("POST", close, {"outcome": "referred", "note": "x" * 8001}), 400, "bad_request")
    assert (await erik.call("GET", f"/api/cases/{case}"))["state"] == "claimed"

    closed = await nurse.call("POST", close, body)
    assert closed == {"case": case, "state": "closed", "outcome": "self_care_advice"}
    status = await erik.call("GET", f"/api/cases/{case}")
    assert (status["state"], status["outcome"], status["staff_name"]) == ("closed", "self_care_advice", "Nora Nilsson")

    mine = await erik.http.get(f"/api/cases/{case}/transcript")
    codes = [m.get("code") for m in mine.json()["messages"]]
    assert codes == ["chat_ready", "closed"]
    assert mine.json()["messages"][-1]["outcome"] == "self_care_advice"
    assert "Centor" not in mine.text and "staff_only" not in mine.text

    full = (await nurse.call("GET", f"/api/staff/cases/{case}/transcript"))["messages"]
    [note] = [m for m in full if m.get("k") == "note"]
    assert (note["text"], note["code"], note["staff_only"], note["name"]) == (JOURNAL, "journal", True, "Nora Nilsson")
    assert [m.get("code") for m in full] == ["chat_ready", "journal", "closed"]

    records = [(r.action, r.actor, r.outcome, r.detail) for r in await audit_of(redis, ERIK)]
    assert ("case.close", "nurse-other", "denied", "self_care_advice") in records
    assert records[-2:] == [  # the close itself, with its outcome, then the transcript read above
        ("case.close", "nurse-1", "ok", "self_care_advice"),
        ("transcript.read", "nurse-1", "ok", ""),
    ]


async def test_a_refused_close_is_not_logged_as_a_close(
    erik: Client, nurse: Client, colleague: Client, redis: RedisClient
) -> None:
    """The patient's log extract must not say that Olle closed the case with an outcome when he could not."""
    case = await waiting_case(erik)
    await claimed_by(nurse, case)
    await refused(colleague.call("POST", f"/api/staff/cases/{case}/close", {"outcome": "referred"}), 409, "conflict")
    attempts = [(r.action, r.outcome) for r in await audit_of(redis, ERIK) if r.actor == "nurse-2"]
    assert attempts in ([], [("case.close", "denied")])


async def test_a_retried_close_is_answered_the_same(erik: Client, nurse: Client) -> None:
    case = await waiting_case(erik)
    await claimed_by(nurse, case)
    body = {"outcome": "visit_booked", "note": ""}
    first = await nurse.call("POST", f"/api/staff/cases/{case}/close", body)
    assert await nurse.call("POST", f"/api/staff/cases/{case}/close", body) == first
    messages = (await erik.call("GET", f"/api/cases/{case}/transcript"))["messages"]
    assert [m.get("code") for m in messages].count("closed") == 1


async def test_a_referral_close_names_its_unit_and_a_booking_close_its_booking(erik: Client, nurse: Client) -> None:
    """The close links the outcome to where the patient was sent, and refuses a link the outcome does not take."""
    case = await waiting_case(erik)
    await claimed_by(nurse, case)
    close = f"/api/staff/cases/{case}/close"
    await refused(nurse.call("POST", close, {"outcome": "self_care_advice", "unit": "vc-sala"}), 400, "bad_request")
    await refused(nurse.call("POST", close, {"outcome": "referred", "booking": "vc-sala.b1"}), 400, "bad_request")
    await refused(nurse.call("POST", close, {"outcome": "referred", "unit": "x" * 65}), 400, "bad_request")
    assert (await erik.call("GET", f"/api/cases/{case}"))["state"] == "claimed"

    await nurse.call("POST", close, {"outcome": "referred", "unit": "vc-sala"})
    status = await erik.call("GET", f"/api/cases/{case}")
    assert (status["outcome"], status["referred_unit"], status["booking"]) == ("referred", "vc-sala", None)
    messages = (await erik.call("GET", f"/api/cases/{case}/transcript"))["messages"]
    assert (messages[-1]["code"], messages[-1]["unit"]) == ("closed", "vc-sala")
