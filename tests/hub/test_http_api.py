"""The HTTP API against a real ``direkt serve`` process and a real Redis:
triage, cases, photos, the staff console's reads (audited), phrase templates,
closing a case with a journal note, and ``/openapi.json``.

What a citizen or a nurse would notice: the next question, their place in the
queue, a refusal that says why (a typed JSON error with the right status), a
case that another citizen cannot even confirm exists, a photo without its GPS
position, a journal note that stays with staff.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from PIL import ExifTags, Image
from support import ServerProcess
from support_hub import (
    ELSA,
    ERIK,
    GUARDIAN,
    LONG_TRANSCRIPT,
    LOVA,
    SORE_THROAT,
    UNLISTED,
    citizen,
    error_of,
    refused,
    seed_transcript,
    staff,
    waiting_case,
)

from direkt.loadtests.client import Client
from direkt.queue.scripts import RedisClient
from direkt.server.care.audit import AuditLog, AuditRecord
from direkt.server.care.transcript import pack_body
from direkt.server.http.api import ENDPOINTS
from direkt.server.identity.auth import AUTH_ROUTES
from direkt.server.redis import keys

pytestmark = pytest.mark.slow

# Sore throat for three days: self-care advice, no chat needed.
SELF_CARE = [*SORE_THROAT[:8], ["sore_throat.days", 3], ["sore_throat.photo", "skip"]]
GREETING_SV = "Hej Erik! Jag heter Nora Nilsson på Testby vårdcentral."
MADE_UP_CASE = "t.01J00000000000000000000000"  # the shape of a case id, but no case


# -- fixtures ----------------------------------------------------------------------------------

Login = Callable[..., Awaitable[Client]]


@pytest.fixture
async def login(server: ServerProcess) -> AsyncIterator[Login]:
    """Log in as a citizen (``pnr=``) or staff member (``staff=``); every client is closed after the test."""
    opened: list[Client] = []

    async def log_in(*, pnr: str = "", staff_id: str = "") -> Client:
        client = await (staff(server.base, staff_id) if staff_id else citizen(server.base, pnr))
        opened.append(client)
        return client

    yield log_in
    for client in opened:
        await client.aclose()


@pytest.fixture
async def erik(login: Login) -> Client:
    return await login(pnr=ERIK)


@pytest.fixture
async def stranger(login: Login) -> Client:
    """Another citizen, who must not learn anything about Erik's cases."""
    return await login(pnr=UNLISTED)


@pytest.fixture
async def maja(login: Login) -> Client:
    """Guardian of Elsa (8) and Lova (13)."""
    return await login(pnr=GUARDIAN)


@pytest.fixture
async def nurse(login: Login) -> Client:
    """Nora, nurse at vc-t and 1177-t."""
    return await login(staff_id="nurse-1")


@pytest.fixture
async def colleague(login: Login) -> Client:
    """Olle, nurse at vc-t too."""
    return await login(staff_id="nurse-2")


@pytest.fixture
async def outsider(login: Login) -> Client:
    """Pia, nurse at vc-other only."""
    return await login(staff_id="nurse-other")


async def audit_of(redis: RedisClient, pnr: str) -> list[AuditRecord]:
    return await AuditLog(redis, None).for_patient(pnr)


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


# -- photos ------------------------------------------------------------------------------------

GPS = {
    ExifTags.GPS.GPSLatitudeRef: "N",
    ExifTags.GPS.GPSLatitude: (59.0, 19.0, 48.0),
    ExifTags.GPS.GPSLongitudeRef: "E",
    ExifTags.GPS.GPSLongitude: (18.0, 4.0, 7.0),
}


def photo(kind: str, size: tuple[int, int] = (64, 48)) -> bytes:
    """A small picture with a GPS position and a camera make in its EXIF."""
    image = Image.new("RGB", size, (200, 40, 40))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SpyCam"
    exif[ExifTags.IFD.GPSInfo] = GPS
    out = io.BytesIO()
    image.save(out, kind, exif=exif)
    data = out.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the test's own premise
    return data


async def upload(client: Client, case: str, data: bytes, content_type: str = "image/jpeg") -> httpx.Response:
    headers = {"X-CSRF-Token": client.csrf, "Content-Type": content_type}
    return await client.http.post(f"/api/cases/{case}/photos", content=data, headers=headers)


@pytest.mark.parametrize(("kind", "media_type"), [("JPEG", "image/jpeg"), ("PNG", "image/png")])
async def test_a_photo_is_stored_without_its_metadata(erik: Client, kind: str, media_type: str) -> None:
    case = await waiting_case(erik)
    response = await upload(erik, case, photo(kind), "application/octet-stream")  # the type is sniffed
    assert response.status_code == 201, response.text
    stored = response.json()
    assert (stored["content_type"], stored["width"], stored["height"]) == (media_type, 64, 48)

    got = await erik.http.get(f"/api/cases/{case}/photos/{stored['photo']}")
    assert got.status_code == 200
    assert got.headers["content-type"] == media_type
    assert got.headers["x-content-type-options"] == "nosniff" and "no-store" in got.headers["cache-control"]
    image = Image.open(io.BytesIO(got.content))
    assert (image.format, image.size) == (kind, (64, 48))
    assert not image.getexif() and "exif" not in image.info
    assert b"SpyCam" not in got.content and b"Exif" not in got.content


def gif() -> bytes:
    out = io.BytesIO()
    Image.new("P", (8, 8)).save(out, "GIF")
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (gif(), "image/gif"),
        ("Hej, det här är ingen bild.".encode(), "image/jpeg"),  # a declared type changes nothing
        (b"\xff\xd8\xff\xe0 truncated", "image/jpeg"),
        (b"", "image/png"),
    ],
    ids=["gif", "text", "broken-jpeg", "empty"],
)
async def test_anything_but_a_photo_is_refused(erik: Client, data: bytes, content_type: str) -> None:
    case = await waiting_case(erik)
    error_of(await upload(erik, case, data, content_type), 415, "photo_rejected")


async def test_a_photo_over_8_mib_is_refused(erik: Client) -> None:
    case = await waiting_case(erik)
    error_of(await upload(erik, case, b"\xff\xd8\xff" + b"\0" * (8 * 1024 * 1024)), 413, "too_large")


async def test_a_closed_case_takes_no_more_photos(erik: Client) -> None:
    case = await waiting_case(erik)
    await erik.call("POST", f"/api/cases/{case}/abandon")
    error_of(await upload(erik, case, photo("JPEG")), 409, "conflict")


async def test_another_citizen_cannot_upload_to_or_read_my_photos(erik: Client, stranger: Client) -> None:
    case = await waiting_case(erik)
    stored = (await upload(erik, case, photo("JPEG"))).json()
    error_of(await upload(stranger, case, photo("JPEG")), 404, "not_found")
    error_of(await stranger.http.get(f"/api/cases/{case}/photos/{stored['photo']}"), 404, "not_found")
    error_of(await erik.http.get(f"/api/cases/{case}/photos/pdoesnotexist"), 404, "not_found")


async def test_staff_of_the_unit_read_the_photo_and_it_is_audited(
    erik: Client, nurse: Client, outsider: Client, redis: RedisClient
) -> None:
    case = await waiting_case(erik)
    stored = (await upload(erik, case, photo("JPEG"))).json()
    got = await nurse.http.get(f"/api/cases/{case}/photos/{stored['photo']}")
    assert got.status_code == 200 and Image.open(io.BytesIO(got.content)).size == (64, 48)
    error_of(await outsider.http.get(f"/api/cases/{case}/photos/{stored['photo']}"), 403, "forbidden")
    reads = [(r.action, r.actor, r.outcome) for r in await audit_of(redis, ERIK)]
    assert reads == [("photo.read", "nurse-1", "ok"), ("photo.read", "nurse-other", "denied")]


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


# -- the transcript, page by page --------------------------------------------------------------


async def read_pages(client: Client, path: str, limit: int) -> list[dict[str, Any]]:
    """Every message of a transcript, read as a client should: on from ``next`` until it is null."""
    page = await client.call("GET", f"{path}?limit={limit}")
    messages = page["messages"]
    while page["next"] is not None:
        assert len(page["messages"]) <= limit and page["next"] == page["messages"][-1]["id"]
        page = await client.call(
            "GET", f"{path}?{urlencode({'after': page['next'], 'epoch': page['epoch'], 'limit': limit})}"
        )
        messages += page["messages"]
    assert len(page["messages"]) <= limit
    return messages  # type: ignore[no-any-return]


async def test_a_long_transcript_is_read_to_its_end_in_pages(erik: Client, nurse: Client, redis: RedisClient) -> None:
    case = await waiting_case(erik)
    ids = await seed_transcript(redis, case, LONG_TRANSCRIPT)
    note = pack_body({"k": "note", "code": "journal", "text": "Centor 2", "vis": "staff"})
    ids.append((await redis.xadd(keys.chat(case), {"m": note})).decode())  # the last entry: staff only

    mine = await read_pages(erik, f"/api/cases/{case}/transcript", 1000)
    assert [m["id"] for m in mine] == ids[:-1]  # all of it, once, in order; not the note
    full = await read_pages(nurse, f"/api/staff/cases/{case}/transcript", 1000)
    assert [m["id"] for m in full] == ids and full[-1]["staff_only"] is True
    first = await erik.call("GET", f"/api/cases/{case}/transcript")  # an old client: the first page, flagged
    assert len(first["messages"]) == 500 and first["next"] == ids[499]


async def test_a_bad_transcript_page_request_is_refused_with_a_typed_error(erik: Client, redis: RedisClient) -> None:
    case = await waiting_case(erik)
    [only] = await seed_transcript(redis, case, 1)
    path = f"/api/cases/{case}/transcript"
    page = await erik.call("GET", path)
    assert (page["next"], [m["id"] for m in page["messages"]]) == (None, [only])
    for query in ("limit=0", "limit=1001", "limit=many", "epoch=" + "e" * 65):
        await refused(erik.call("GET", f"{path}?{query}"), 400, "bad_request")
    for after in ("1-0", "99999999999999-0", "not-an-id"):
        await refused(erik.call("GET", f"{path}?after={after}"), 400, "bad_position")
    await refused(erik.call("GET", f"{path}?after={only}&epoch=0badc0ffee00"), 409, "history_lost")
    assert (await erik.call("GET", f"{path}?after={only}&epoch={page['epoch']}")) == page | {"messages": []}


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
