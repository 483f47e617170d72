"""The journal record out (issue 24), against a real ``direkt serve`` and a real Redis:
``GET /api/staff/cases/{case}/record`` (FHIR R4) and ``…/record.html`` (printable).

What a nurse would notice: once she has closed a case, its record is there to export, with her
note, the patient and the outcome; before the close it is refused with a clear message; a nurse
of another unit, a citizen, a made-up case get nothing. What the patient's log extract shows:
every export, once, with its format.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fhir.resources.bundle import Bundle
from support import ServerProcess
from support_hub import ELSA, ERIK, GUARDIAN, SORE_THROAT, Login, error_of, refused

from direkt.loadtests.client import Client
from direkt.queue.scripts import RedisClient
from direkt.server.booking.model import Booking
from direkt.server.booking.store import BookingStore
from direkt.server.care.audit import AuditLog, read_file

pytestmark = pytest.mark.slow
SERVER_ENV = {"DIREKT_CATALOGUE": str(Path(__file__).parents[1] / "data" / "hub_catalogue.toml")}

CHILD_FEVER = ("child_fever", {"fever": True, "temperature": 38.5, "fever_days": 1})
MADE_UP_CASE = "t.01J00000000000000000000000"
NOTE = "Halsont 10 dygn utan feber. Hänvisad till akuten för undersökning <i>i dag</i>."
SAID = "Jag har haft ont i tio dagar nu"


async def submitted(who: Client, *, child: str = "") -> str:
    if child:
        view = await who.triage_as("seek_care", CHILD_FEVER[0], CHILD_FEVER[1], child=child)
    else:
        view = await who.triage("seek_care", [tuple(a) for a in SORE_THROAT])  # type: ignore[misc]
    body = {"triage": view["id"], "chat_anyway": view["result"]["care_level"] == "self_care"}
    return str((await who.call("POST", "/api/cases", body))["case"])


async def taken(nurse: Client, case: str, *, citizen: Client | None = None) -> None:
    """``nurse`` claims ``case``; the citizen (if given) writes once in the chat."""
    sock = await nurse.socket()
    try:
        claimed = await sock.request({"t": "claim_next", "rid": f"claim-{case}"}, "claimed")
        assert claimed["case"] == case, claimed
    finally:
        await sock.close()
    if citizen is not None:
        theirs = await citizen.socket()
        try:
            assert (await theirs.request({"t": "join", "case": case}, "case"))["t"] == "case"
            ack = await theirs.request({"t": "send", "case": case, "cid": "c-1", "text": SAID}, "ack")
            assert ack["t"] == "ack", ack
        finally:
            await theirs.close()


async def exports(redis: RedisClient, pnr: str) -> list[tuple[str, str, str, str]]:
    records = await AuditLog(redis, None).for_patient(pnr)
    return [(r.actor, r.case_id, r.outcome, r.detail) for r in records if r.action == "record.export"]


def bundle_of(response: httpx.Response) -> Bundle:
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"] == "application/fhir+json"
    assert response.headers["cache-control"] == "private, no-store"
    return Bundle.parse_raw(response.content)


def of_type(bundle: Bundle, kind: str) -> list[object]:
    return [e.resource for e in bundle.entry if e.resource.resource_type == kind]


async def test_a_closed_referral_exports_as_fhir_and_as_a_page_each_export_audited(
    login: Login, redis: RedisClient, server: ServerProcess
) -> None:
    erik, nora = await login(pnr=ERIK), await login(staff_id="nurse-1")
    case = await submitted(erik)
    await taken(nora, case, citizen=erik)
    path = f"/api/staff/cases/{case}/record"

    message = error_of(await nora.http.get(path), 409, "case_open")  # before the close: nothing to export
    assert "closed" in message
    error_of(await nora.http.get(f"{path}.html"), 409, "case_open")
    assert await exports(redis, ERIK) == []

    close = {"outcome": "referred", "unit": "akut-t", "note": NOTE}
    await nora.call("POST", f"/api/staff/cases/{case}/close", close)

    bundle = bundle_of(await nora.http.get(path))  # validates as FHIR R4 (fhir.resources 6.4)
    [patient] = of_type(bundle, "Patient")
    assert patient.identifier[0].value == ERIK  # type: ignore[attr-defined]
    [encounter] = of_type(bundle, "Encounter")
    assert encounter.status == "finished" and encounter.period.end is not None  # type: ignore[attr-defined]
    assert encounter.reasonCode[0].text == "Ont i halsen"  # type: ignore[attr-defined]
    assert encounter.hospitalization.dischargeDisposition.text == "Hänvisad"  # type: ignore[attr-defined]
    [communication] = of_type(bundle, "Communication")
    assert communication.note[0].text == NOTE  # type: ignore[attr-defined]
    assert "Meddelanden från patienten: 1" in communication.payload[0].contentString  # type: ignore[attr-defined]
    [referral] = of_type(bundle, "ServiceRequest")
    units = {e.fullUrl: e.resource for e in bundle.entry}
    referred = units[referral.performer[0].reference]
    assert (referred.name, referred.address[0].city) == ("Akuten Testby", "Västerås")  # type: ignore[attr-defined]
    [nurse] = of_type(bundle, "Practitioner")
    assert nurse.identifier[0].value == "SE2321000131-P000000001"  # type: ignore[attr-defined]
    raw = (await nora.http.get(path)).content.decode()
    assert SAID not in raw  # the chat's words stay in direkt

    page = await nora.http.get(f"{path}.html")
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "Journalkopia" in page.text and "Akuten Testby (Sjukhusvägen 1" in page.text
    assert "&lt;i&gt;i dag&lt;/i&gt;" in page.text and "<i>" not in page.text

    # three exports (a repeat is an export too), each once in the log extract, in Redis and on file
    expected = [("nurse-1", case, "ok", "fhir"), ("nurse-1", case, "ok", "fhir"), ("nurse-1", case, "ok", "html")]
    assert await exports(redis, ERIK) == expected
    on_file = read_file(server.data_dir / "audit.jsonl", ERIK)
    assert [(r.actor, r.case_id, r.outcome, r.detail) for r in on_file if r.action == "record.export"] == expected
    # the same record each time: stable ids a receiving system can match (each read audited too)
    first, second = (await nora.http.get(path)).json(), (await nora.http.get(path)).json()
    assert first == second


async def booked(redis: RedisClient, booking_id: str, pnr: str, case: str) -> Booking:
    """A booking as the booking service stores it (its HTTP is not this test's subject)."""
    start = 1_900_000_000_000  # 2030-03-17 18:33 UTC, far ahead
    booking = Booking(booking_id, "vc-other", "doctor", "video", start, start + 20 * 60_000, "booked", pnr,
                      "Erik Nilsson", "c-erik", case, "nurse-1", "", start - 86_400_000)  # fmt: skip
    await BookingStore(redis).book(booking, f"slot-{booking_id}")
    return booking


async def test_a_visit_booked_close_carries_the_patients_booking_as_an_appointment(
    login: Login, redis: RedisClient
) -> None:
    erik, nora = await login(pnr=ERIK), await login(staff_id="nurse-1")
    case = await submitted(erik)
    await taken(nora, case)
    booking = await booked(redis, "vc-other.Bk1AAAAAAAAAAAAAAA", ERIK, case)
    close = {"outcome": "video_consultation", "booking": booking.id, "note": "Videobesök hos läkare."}
    await nora.call("POST", f"/api/staff/cases/{case}/close", close)
    bundle = bundle_of(await nora.http.get(f"/api/staff/cases/{case}/record"))
    [appointment] = of_type(bundle, "Appointment")
    assert (appointment.status, appointment.identifier[0].value) == ("booked", booking.id)  # type: ignore[attr-defined]
    assert appointment.serviceType[0].text == "Videobesök"  # type: ignore[attr-defined]
    [place] = of_type(bundle, "Location")
    assert place.physicalType.coding[0].code == "vi"  # type: ignore[attr-defined]
    page = (await nora.http.get(f"/api/staff/cases/{case}/record.html")).text
    assert "Bokat besök" in page and booking.id in page

    # a booking id of another patient named at a close is refused, and never lands in this patient's record
    other = await submitted(erik)
    await taken(nora, other)
    theirs = await booked(redis, "vc-other.Bk2AAAAAAAAAAAAAAA", GUARDIAN, "")
    closing = {"outcome": "visit_booked", "booking": theirs.id}
    await refused(nora.call("POST", f"/api/staff/cases/{other}/close", closing), 400, "bad_request")
    await nora.call("POST", f"/api/staff/cases/{other}/close", {"outcome": "visit_booked"})
    assert not of_type(bundle_of(await nora.http.get(f"/api/staff/cases/{other}/record")), "Appointment")


async def test_a_childs_record_names_the_guardian_who_acted(login: Login) -> None:
    maja, nora = await login(pnr=GUARDIAN), await login(staff_id="nurse-1")
    case = await submitted(maja, child=ELSA)
    await taken(nora, case)
    await nora.call("POST", f"/api/staff/cases/{case}/close", {"outcome": "self_care_advice", "note": "Råd om feber."})
    bundle = bundle_of(await nora.http.get(f"/api/staff/cases/{case}/record"))
    [patient] = of_type(bundle, "Patient")
    [guardian] = of_type(bundle, "RelatedPerson")
    assert patient.identifier[0].value == ELSA and guardian.identifier[0].value == GUARDIAN  # type: ignore[attr-defined]


async def test_refusals_are_typed_tell_nothing_and_are_audited(
    login: Login, redis: RedisClient, server: ServerProcess
) -> None:
    erik, nora, pia = await login(pnr=ERIK), await login(staff_id="nurse-1"), await login(staff_id="nurse-other")
    case = await submitted(erik)
    await taken(nora, case)
    await nora.call("POST", f"/api/staff/cases/{case}/close", {"outcome": "self_care_advice", "note": NOTE})
    path = f"/api/staff/cases/{case}/record"

    denied = await refused(pia.call("GET", path), 403, "forbidden")  # a nurse of another unit
    assert NOTE not in str(denied) and ERIK not in str(denied)
    await refused(pia.call("GET", f"{path}.html"), 403, "forbidden")
    await refused(erik.call("GET", path), 403, "forbidden")  # the citizen, even about her own case
    async with httpx.AsyncClient(base_url=server.base) as anonymous:
        error_of(await anonymous.get(path), 401, "unauthenticated")
    await refused(nora.call("GET", f"/api/staff/cases/{MADE_UP_CASE}/record"), 404, "not_found")
    await refused(nora.call("GET", "/api/staff/cases/not%20a%20case/record.html"), 400, "bad_request")
    await refused(nora.call("GET", f"/api/staff/cases/{'t.' + 'A' * 5000}/record"), 400, "bad_request")
    assert (await nora.http.post(path, headers={"X-CSRF-Token": nora.csrf})).status_code == 405

    assert await exports(redis, ERIK) == [
        ("nurse-other", case, "denied", "fhir"),
        ("nurse-other", case, "denied", "html"),
    ]
