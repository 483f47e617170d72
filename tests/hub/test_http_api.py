"""The citizen's way in over the HTTP API, against a real ``direkt serve`` process and a real
Redis: triage, cases, and ``/openapi.json``.

What a citizen would notice: the next question, their place in the queue, a
refusal that says why (a typed JSON error with the right status), a case that
another citizen cannot even confirm exists. Photos and the transcript are in
test_http_photos_and_transcript.py; the staff console's routes in test_http_staff.py.
The logged-in people (``erik``, ``stranger``, ``maja``, ``nurse``, ...) are
fixtures of tests/hub/conftest.py.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from support import ServerProcess
from support_hub import (
    ELSA,
    ERIK,
    GUARDIAN,
    LOVA,
    MADE_UP_CASE,
    SORE_THROAT,
    Login,
    audit_of,
    refused,
    waiting_case,
)

from direkt.loadtests.client import Client
from direkt.queue.scripts import RedisClient
from direkt.server.http.routes import ENDPOINTS
from direkt.server.identity.auth import AUTH_ROUTES

pytestmark = pytest.mark.slow


# Sore throat for three days: self-care advice, no chat needed.
SELF_CARE = [*SORE_THROAT[:8], ["sore_throat.days", 3], ["sore_throat.photo", "skip"]]


async def start(client: Client, entry: str = "seek_care", **fields: Any) -> dict[str, Any]:
    return dict(await client.call("POST", "/api/triage", {"entry": entry, **fields}))


async def answer(client: Client, tid: str, question: str, value: Any) -> dict[str, Any]:
    return dict(await client.call("POST", f"/api/triage/{tid}/answer", {"question": question, "value": value}))


async def finished(client: Client, answers: list[list[Any]], **fields: Any) -> dict[str, Any]:
    view = await client.triage("seek_care", [(q, v) for q, v in answers], **fields)
    assert view["question"] is None and view["result"] is not None
    return view


# -- triage ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pnr", "entry", "child", "first_question"),
    [
        (ERIK, "seek_care", "", "screen.now"),  # every medical entry screens for red flags first
        (ERIK, "vaccination", "", "reason"),
        (ERIK, "admin", "", "reason"),
        (LOVA, "youth_clinic", "", "screen.now"),
        (GUARDIAN, "seek_care", ELSA, "screen.now"),
    ],
)
async def test_a_triage_starts_on_each_entry(
    login: Login, pnr: str, entry: str, child: str, first_question: str
) -> None:
    client = await login(pnr=pnr)
    view = await start(client, entry, child=child)
    assert view["entry"] == entry and view["answered"] == 0 and view["result"] is None
    assert view["question"]["id"] == first_question
    assert view["question"]["text"]["sv"] and view["question"]["text"]["en"]
    assert view["question"]["options"]
    assert view["patient"]["for_child"] is bool(child)
    assert await client.call("GET", f"/api/triage/{view['id']}") == view


@pytest.mark.parametrize(
    ("pnr", "entry", "child", "says"),
    [
        (ERIK, "youth_clinic", "", "13–23"),
        (GUARDIAN, "child_health", ELSA, "under 6 år"),
        (ELSA, "seek_care", "", "vårdnadshavare"),  # an 8-year-old cannot answer for herself
        (GUARDIAN, "seek_care", LOVA, "loggar den unga in själv"),  # 13: logs in herself
    ],
)
async def test_a_triage_the_patient_is_not_eligible_for_says_where_to_turn(
    login: Login, pnr: str, entry: str, child: str, says: str
) -> None:
    client = await login(pnr=pnr)
    error = await refused(start(client, entry, child=child), 422, "not_eligible")
    assert says in error.text["sv"] and error.text["en"] and error.message == error.text["en"]


@pytest.mark.parametrize(
    "body",
    [
        {"entry": "dentist"},
        {"entry": "seek_care", "lang": "de"},
        {"entry": "seek_care", "sex": "unknown"},
        {"entry": "seek_care", "child": "not-a-number"},
        {"entry": "seek_care", "patient": ERIK},
        {},
    ],
    ids=["unknown-entry", "lang", "sex", "child", "unknown-field", "empty"],
)
async def test_a_malformed_triage_start_is_refused(erik: Client, body: dict[str, Any]) -> None:
    await refused(erik.call("POST", "/api/triage", body), 400, "bad_request")


async def test_answer_go_back_and_change_an_earlier_answer(erik: Client) -> None:
    view = await start(erik)
    tid = view["id"]
    view = await answer(erik, tid, "screen.now", ["none"])
    assert view["question"]["id"] == "reason"
    assert "sore_throat" in {o["id"] for o in view["question"]["options"]}
    view = await answer(erik, tid, "reason", "sore_throat")
    assert (view["question"]["id"], view["answered"]) == ("screen.risk", 2)  # the risk modifiers, once
    assert view["question"]["text"]["sv"] == "Stämmer något av detta in på dig?"

    view = await erik.call("POST", f"/api/triage/{tid}/back")
    assert (view["question"]["id"], view["answered"]) == ("reason", 1)
    for question, value in SORE_THROAT[1:]:
        view = await answer(erik, tid, str(question), value)
    assert view["question"] is None
    assert (view["result"]["care_level"], view["result"]["reason"]["code"]) == ("within_days", "sore_throat")
    assert {"question", "answer"} <= set(view["result"]["answers"][0])

    view = await answer(erik, tid, "sore_throat.days", 3)  # only three days after all
    assert view["result"]["care_level"] == "self_care" and view["answered"] == len(SORE_THROAT)
    assert view["result"]["advice"][0]["sv"] and view["result"]["safety_net"][0]["sv"]
    assert view["result"]["visit"] is None  # self-care: no "nurse, chat"

    view = await answer(erik, tid, "reason", "other")  # something else entirely: later answers no longer apply
    assert view["question"]["id"].startswith("other.") and view["result"] is None
    assert view["answered"] == 3  # the screen and the risk modifiers hold for any reason: kept
    assert await erik.call("GET", f"/api/triage/{tid}") == view


@pytest.mark.parametrize(
    ("question", "value", "code"),
    [
        ("sore_throat.days", 5, "question_not_asked"),  # not asked yet
        ("no.such.question", "yes", "question_not_asked"),
        ("reason", "teleportation", "invalid_answer"),  # not an option
        ("reason", ["sore_throat"], "invalid_answer"),  # a list where one choice is asked
    ],
)
async def test_a_wrong_answer_is_refused_and_changes_nothing(
    erik: Client, question: str, value: Any, code: str
) -> None:
    view = await start(erik)
    view = await answer(erik, view["id"], "screen.now", ["none"])
    await refused(answer(erik, view["id"], question, value), 422, code)
    assert await erik.call("GET", f"/api/triage/{view['id']}") == view


@pytest.mark.parametrize("days", [366, -1, "ten", 2.5])
async def test_an_implausible_number_is_refused_in_the_citizens_words(erik: Client, days: Any) -> None:
    view = await erik.triage("seek_care", [(str(q), v) for q, v in SORE_THROAT[:8]])
    assert view["question"]["id"] == "sore_throat.days"
    assert (view["question"]["minimum"], view["question"]["maximum"], view["question"]["integer"]) == (0, 365, True)
    assert view["question"]["skip"]["id"] == "unknown"
    error = await refused(answer(erik, view["id"], "sore_throat.days", days), 422, "invalid_answer")
    assert "sore_throat.days" in error.message or "symptom_days" in error.message
    body = await erik.http.post(
        f"/api/triage/{view['id']}/answer", json={"question": "sore_throat.days", "value": days},
        headers={"x-csrf-token": erik.csrf},
    )  # fmt: skip
    text = body.json()["error"]["text"]
    assert text["sv"] and text["en"] and text["sv"] != text["en"]
    assert (await erik.call("GET", f"/api/triage/{view['id']}"))["answered"] == 8  # never stored


async def test_a_multiple_choice_with_an_unknown_or_clashing_option_is_refused(erik: Client) -> None:
    view = await start(erik)
    await refused(answer(erik, view["id"], "screen.now", ["none", "teleported"]), 422, "invalid_answer")
    await refused(answer(erik, view["id"], "screen.now", ["none", "stroke_signs"]), 422, "invalid_answer")  # exclusive


async def test_back_at_the_first_question_is_a_conflict(erik: Client) -> None:
    view = await start(erik)
    await refused(erik.call("POST", f"/api/triage/{view['id']}/back"), 409, "conflict")


async def test_someone_elses_triage_is_not_found(erik: Client, stranger: Client) -> None:
    view = await start(erik)
    tid = view["id"]
    await refused(stranger.call("GET", f"/api/triage/{tid}"), 404, "not_found")
    await refused(answer(stranger, tid, "screen.now", ["none"]), 404, "not_found")
    await refused(stranger.call("POST", f"/api/triage/{tid}/back"), 404, "not_found")
    await refused(stranger.submit(tid), 404, "not_found")
    await refused(stranger.call("GET", "/api/triage/no-such-triage"), 404, "not_found")
    assert (await erik.call("GET", f"/api/triage/{tid}"))["answered"] == 0  # untouched


async def test_a_triage_is_read_with_the_session_but_shown_only_to_its_citizen(
    erik: Client, nurse: Client, server: ServerProcess
) -> None:
    """The triage routes read the triage in the session's round trip; every session check still comes first."""
    tid = (await start(erik))["id"]
    await refused(nurse.call("GET", f"/api/triage/{tid}"), 403, "forbidden")
    await refused(answer(nurse, tid, "screen.now", ["none"]), 403, "forbidden")
    token, erik.csrf = erik.csrf, ""
    await refused(answer(erik, tid, "screen.now", ["none"]), 403, "csrf_failed")
    await refused(erik.call("POST", f"/api/triage/{tid}/back"), 403, "csrf_failed")
    erik.csrf = token
    async with Client(server.base) as anonymous:
        await refused(anonymous.call("GET", f"/api/triage/{tid}"), 401, "unauthenticated")
    await refused(erik.call("POST", f"/api/triage/{tid}/answer", {"question": "screen.now"}), 400, "bad_request")
    assert (await erik.call("GET", f"/api/triage/{tid}"))["answered"] == 0  # nothing above changed it
    assert (await answer(erik, tid, "screen.now", ["none"]))["answered"] == 1


async def test_a_guardian_acts_for_a_child_of_8_but_not_of_13(maja: Client) -> None:
    children = (await maja.call("GET", "/api/me/children"))["children"]
    assert [(c["pnr"], c["name"], c["age"], c["entries"]) for c in children] == [
        (ELSA, "Elsa Andersson", 8, ["seek_care"])
    ]
    view = await start(maja, child=ELSA)
    assert view["patient"]["age"] == 8 and view["patient"]["for_child"] is True and view["patient"]["name"] == "Elsa"
    reasons = {o["id"] for o in (await answer(maja, view["id"], "screen.now", ["none"]))["question"]["options"]}
    assert "child_fever" in reasons and "sore_throat" not in reasons  # the child's reasons, not the adult's
    error = await refused(start(maja, child=LOVA), 422, "not_eligible")  # 13: logs in herself
    assert "From 13" in error.message and LOVA not in error.message


async def test_a_citizen_cannot_act_for_someone_elses_child(erik: Client) -> None:
    assert await erik.call("GET", "/api/me/children") == {"children": []}
    await refused(start(erik, child=ELSA), 403, "forbidden")


async def test_staff_cannot_start_a_triage(nurse: Client) -> None:
    await refused(start(nurse), 403, "forbidden")
    await refused(nurse.call("GET", "/api/cases"), 403, "forbidden")


# -- cases -------------------------------------------------------------------------------------


async def test_a_finished_triage_enters_the_queue_once(erik: Client, nurse: Client) -> None:
    view = await finished(erik, SORE_THROAT)
    first = await erik.call("POST", "/api/cases", {"triage": view["id"]}, expect=[201])
    assert first["state"] == "waiting" and first["position"]["position"] == 1
    assert first["reason"]["code"] == "sore_throat" and first["patient_name"] == "Erik Nilsson"
    again = await erik.call("POST", "/api/cases", {"triage": view["id"]}, expect=[200])  # a retried submit
    assert again["case"] == first["case"]
    assert [c["case"] for c in (await erik.call("GET", "/api/cases"))["cases"]] == [first["case"]]
    assert [c["case"] for c in (await nurse.call("GET", "/api/staff/queue"))["cases"]] == [first["case"]]
    status = await erik.call("GET", f"/api/cases/{first['case']}")
    assert status["state"] == "waiting" and status["position"]["position"] == 1
    assert (await erik.call("GET", f"/api/triage/{view['id']}"))["case"] == first["case"]
    await refused(answer(erik, view["id"], "sore_throat.days", 3), 409, "conflict")  # sent: no more changes


async def test_a_second_case_waits_behind_the_first(erik: Client, maja: Client) -> None:
    await waiting_case(erik)
    later = await maja.submit((await finished(maja, SORE_THROAT))["id"])
    assert later["position"]["position"] == 2


async def test_an_unfinished_triage_cannot_be_sent(erik: Client) -> None:
    view = await start(erik)
    await answer(erik, view["id"], "screen.now", ["none"])
    await refused(erik.submit(view["id"]), 409, "conflict")
    assert (await erik.call("GET", "/api/cases"))["cases"] == []


async def test_a_red_flag_means_call_112_not_a_chat(erik: Client, nurse: Client) -> None:
    view = await start(erik)
    view = await answer(erik, view["id"], "screen.now", ["chest_pain_radiating"])
    assert view["question"] is None
    assert view["result"]["care_level"] == "112_now" and view["result"]["why"]["sv"]
    assert view["result"]["headline"]["sv"] == "Ring 112 nu." and view["result"]["first_aid"]
    error = await refused(erik.submit(view["id"], chat_anyway=True), 409, "conflict")
    assert "112" in error.message
    assert (await nurse.call("GET", "/api/staff/queue"))["cases"] == []


async def test_the_emergency_department_means_go_now_not_a_chat(maja: Client, nurse: Client) -> None:
    view = await maja.triage_as("seek_care", "child_fever", {"grunting": True, "temperature": 39.5}, child=ELSA)
    result = view["result"]
    assert result["care_level"] == "emergency_department" and result["urgency"] is None and result["visit"] is None
    assert result["headline"]["sv"].startswith("Åk till en akutmottagning med Elsa nu.") and result["first_aid"]
    error = await refused(maja.submit(view["id"], chat_anyway=True), 409, "conflict")
    assert "emergency department" in error.message
    assert (await nurse.call("GET", "/api/staff/queue"))["cases"] == []


async def test_self_care_needs_an_explicit_wish_to_chat(erik: Client, nurse: Client) -> None:
    view = await finished(erik, SELF_CARE)
    assert view["result"]["care_level"] == "self_care"
    error = await refused(erik.submit(view["id"]), 409, "conflict")
    assert "chat_anyway" in error.message
    assert (await nurse.call("GET", "/api/staff/queue"))["cases"] == []
    queued = await erik.submit(view["id"], chat_anyway=True)
    assert queued["state"] == "waiting" and queued["care_level"] == "self_care"
    assert [c["case"] for c in (await nurse.call("GET", "/api/staff/queue"))["cases"]] == [queued["case"]]


async def test_a_malformed_submission_is_refused(erik: Client) -> None:
    await refused(erik.call("POST", "/api/cases", {"triage": "x", "urgent": True}), 400, "bad_request")
    await refused(erik.call("POST", "/api/cases", {}), 400, "bad_request")
    await refused(erik.call("POST", "/api/cases", {"triage": "nosuchtriage"}), 404, "not_found")


async def test_another_citizen_learns_nothing_about_my_case(erik: Client, stranger: Client) -> None:
    case = await waiting_case(erik)
    for method, path in [
        ("GET", f"/api/cases/{case}"),
        ("POST", f"/api/cases/{case}/abandon"),
        ("GET", f"/api/cases/{case}/transcript"),
    ]:
        mine = await refused(stranger.call(method, path), 404, "not_found")
        made_up = await refused(stranger.call(method, path.replace(case, MADE_UP_CASE)), 404, "not_found")
        assert mine.message == made_up.message  # the same answer as for a case that does not exist
    assert (await stranger.call("GET", "/api/cases"))["cases"] == []
    status = await erik.call("GET", f"/api/cases/{case}")
    assert status["state"] == "waiting"  # the stranger's abandon did nothing


async def test_a_guardian_sees_the_childs_case(maja: Client, erik: Client, nurse: Client, redis: RedisClient) -> None:
    view = await maja.triage_as("seek_care", "other", {"fever": True, "worsening": True}, child=ELSA)
    case = (await maja.submit(view["id"], chat_anyway=True))["case"]
    listed = (await maja.call("GET", "/api/cases"))["cases"]
    assert [(c["case"], c["patient_name"]) for c in listed] == [(case, "Elsa Andersson")]
    assert (await maja.call("GET", f"/api/cases/{case}"))["state"] == "waiting"
    assert (await maja.call("GET", f"/api/cases/{case}/transcript"))["case"] == case
    await refused(erik.call("GET", f"/api/cases/{case}"), 404, "not_found")

    seen = await nurse.call("GET", f"/api/staff/cases/{case}")
    assert seen["patient"]["pnr"] == ELSA and seen["guardian"] == GUARDIAN
    assert seen["triage"]["age"] == 8 and seen["patient"]["first_name"] == "Maja"  # the nurse greets the guardian
    # the guardian's log extract shows who read the child's case, and who was refused it
    refusal, record = await audit_of(redis, GUARDIAN)
    assert (refusal.action, refusal.actor, refusal.role, refusal.outcome) == ("case.read", erik.me["uid"], "citizen",
                                                                               "denied")  # fmt: skip
    assert (record.action, record.patient, record.guardian, record.actor) == ("case.read", ELSA, GUARDIAN, "nurse-1")


async def test_abandoning_leaves_the_queue(erik: Client, nurse: Client) -> None:
    case = await waiting_case(erik)
    left = await erik.call("POST", f"/api/cases/{case}/abandon")
    assert left == {"case": case, "abandoned": True, "now": True}
    assert (await nurse.call("GET", "/api/staff/queue"))["cases"] == []
    status = await erik.call("GET", f"/api/cases/{case}")
    assert status["outcome"] == "abandoned" and status["closed_ms"] and "position" not in status
    assert (await erik.call("POST", f"/api/cases/{case}/abandon"))["now"] is False  # once is enough
    messages = (await erik.call("GET", f"/api/cases/{case}/transcript"))["messages"]
    assert [m["code"] for m in messages] == ["left"]


# -- /openapi.json -----------------------------------------------------------------------------


async def test_openapi_describes_every_route_and_its_body(server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=server.base) as http:
        response = await http.get("/openapi.json")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    document = response.json()
    assert document["openapi"] == "3.1.0" and document["info"]["title"] and document["info"]["version"]
    schemas = document["components"]["schemas"]
    routes = [(e.method, e.path, e.body) for e in ENDPOINTS] + [(m, p, b) for m, p, _, _, b in AUTH_ROUTES]
    operation_ids = set()
    for method, path, body in routes:
        operation = document["paths"][path][method.lower()]
        assert operation["summary"] and operation["responses"]
        operation_ids.add(operation["operationId"])
        for name in (part[1:-1] for part in path.split("/") if part.startswith("{")):
            assert {"name": name, "in": "path", "required": True, "schema": {"type": "string"}} in operation[
                "parameters"
            ]
        if body is not None:
            ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            schema = schemas[ref.rsplit("/", 1)[1]]
            assert schema["type"] == "object" and schema["properties"]
    assert len(operation_ids) == len(routes)  # unique operation ids
    assert sum(len(methods) for methods in document["paths"].values()) == len(routes)
    upload_body = document["paths"]["/api/cases/{case}/photos"]["post"]["requestBody"]["content"]
    assert "image/*" in upload_body
    assert schemas["TriageStart"]["required"] == ["entry"]
    assert set(schemas["CaseClose"]["properties"]["outcome"]["enum"]) >= {"self_care_advice", "no_contact"}
    assert schemas["Error"]["properties"]["error"]["required"] == ["code", "message"]
    paths = document["paths"]
    assert paths["/api/staff/queue"]["get"]["security"] == [{"session": []}]
    assert paths["/auth/logout"]["post"]["security"] == [{"session": [], "csrf": []}]  # a logout needs the token
    assert "security" not in paths["/auth/test-eid"]["post"] and "security" not in paths["/auth/staff/login"]["post"]
    assert {"415", "413"} <= set(paths["/api/cases/{case}/photos"]["post"]["responses"])
    assert "422" in paths["/api/triage/{tid}/answer"]["post"]["responses"]
    for path in ("/api/cases/{case}/transcript", "/api/staff/cases/{case}/transcript"):
        query = {p["name"]: p["schema"] for p in paths[path]["get"]["parameters"] if p["in"] == "query"}
        assert set(query) == {"after", "epoch", "limit"} and query["limit"]["maximum"] == 1000
