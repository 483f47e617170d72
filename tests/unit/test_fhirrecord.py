"""The journal record of a closed case (server/care/fhirrecord.py): a FHIR R4 Bundle that a
receiving journal system can file, validated with fhir.resources 6.4 (FHIR 4.0.1 models).

What a receiving record needs: who the patient is (personnummer), when the contact was, why,
how it ended, the nurse's note; for a child the guardian who acted; a referral's unit; a booked
visit. What it must not get: the citizen's chat messages.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from fhir.resources import __fhir_version__
from fhir.resources.bundle import Bundle
from pydantic import ValidationError
from support import at
from support_hub import ELSA, ERIK, GUARDIAN

from direkt.server.care.casefile import CaseFile
from direkt.server.care.fhirrecord import HSA_ID, PERSONNUMMER, build_bundle
from direkt.server.care.recordinput import ChatSummary, RecordInput, StaffInfo, UnitInfo, summarise
from direkt.server.care.transcript import Entry
from direkt.triage import loader
from direkt.triage.plain import Reader, result_view
from direkt.triage.replay import run_case

CASE = "t.01JF0000000000000000000001"
NORA = StaffInfo("nurse-1", "Nora Nilsson", "nurse", "SE2321000131-P000000001")
TESTBY = UnitInfo("vc-t", "Testby vårdcentral")
ANNANBY = UnitInfo(
    "vc-other", "Annanby vårdcentral", "Storgatan 1", "72211", "Annanby", "021-100 00", "https://a.example"
)
CREATED, READY, CLOSED = at("2026-12-07 09:00"), at("2026-12-07 09:12"), at("2026-12-07 09:31")
CITIZEN_WORDS = "Det gör så ont när jag sväljer"  # the citizen's chat message: never in the record
NOTE = "Halsont 3 dygn, kan inte dricka. Hänvisad till jourcentral för bedömning."


@pytest.fixture(scope="module")
def triage() -> Iterator[Any]:
    """Real triage summaries from the bundled knowledge base, as a case file stores them."""
    kb = loader.load(walk_paths=False)

    def view(age: int, reason: str, findings: dict[str, Any], child: str | None = None) -> dict[str, Any]:
        done = run_case(kb, {"age": age, "reason": reason, "findings": findings,
                             "respondent": "guardian" if child else "self"})  # fmt: skip
        summary = result_view(kb, done.result, Reader(child))
        for answer in summary["answers"]:
            if answer["answer"]["sv"] == "–":
                answer["photo"] = "skipped"
        return summary

    yield view


def case_file(triage: dict[str, Any], outcome: str, **changes: Any) -> CaseFile:
    file = CaseFile(
        case_id=CASE, owner_uid="c-erik", patient_pnr=ERIK, patient_name="Erik Nilsson", guardian_pnr="",
        first_name="Erik", phone="", lang="sv", entry="seek_care", home_unit="vc-t", created_ms=CREATED,
        triage=triage, ready_ms=READY, joined_ms=READY, staff_id="nurse-1", staff_name="Nora Nilsson",
        closed_ms=CLOSED, outcome=outcome,
    )  # fmt: skip
    return replace(file, **changes)


def chat(note: str = NOTE) -> ChatSummary:
    entries = [
        Entry(f"{READY + 60_000}-0", {"k": "text", "role": "citizen", "text": CITIZEN_WORDS}),
        Entry(f"{READY + 120_000}-0", {"k": "text", "role": "nurse", "text": "Kan du dricka något alls?"}),
        Entry(f"{READY + 180_000}-0", {"k": "photo", "role": "citizen", "text": "", "photo": "p1"}),
        Entry(f"{READY + 240_000}-0", {"k": "system", "code": "call_ended", "duration_ms": 300_000}),
        Entry(f"{CLOSED - 1000}-0", {"k": "note", "code": "journal", "text": note, "vis": "staff"}),
        Entry(f"{CLOSED}-0", {"k": "system", "code": "closed", "text": "Chatten är avslutad."}),
    ]
    whole = summarise(entries)
    assert summarise(entries[3:], summarise(entries[:3])) == whole  # read a page at a time, the same summary
    return whole


def validated(bundle: dict[str, Any]) -> Bundle:
    """The bundle through the FHIR R4 models: each entry's resource as its own type, and back to JSON."""
    assert __fhir_version__ == "4.0.1"
    parsed = Bundle.parse_obj(bundle)
    for entry, raw in zip(parsed.entry, bundle["entry"], strict=True):
        assert entry.resource.resource_type == raw["resource"]["resourceType"]
    assert json.loads(parsed.json())["entry"][0]["resource"]["resourceType"] == "Patient"
    return parsed


def resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def one(bundle: dict[str, Any], kind: str) -> dict[str, Any]:
    [found] = resources(bundle, kind)
    return found


def resolve(bundle: dict[str, Any], ref: dict[str, str]) -> dict[str, Any]:
    [found] = [e["resource"] for e in bundle["entry"] if e["fullUrl"] == ref["reference"]]
    return found


def references(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        if isinstance(value.get("reference"), str):
            yield value["reference"]
        for inner in value.values():
            yield from references(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from references(inner)


def test_a_self_care_close_gives_what_a_receiving_record_needs(triage: Any) -> None:
    summary = triage(34, "sore_throat", {"symptom_days": 10})
    bundle = build_bundle(RecordInput(case_file(summary, "self_care_advice"), TESTBY, NORA, chat()))
    validated(bundle)
    assert (bundle["type"], bundle["identifier"]["value"]) == ("collection", CASE)

    patient = one(bundle, "Patient")
    assert patient["identifier"] == [{"system": PERSONNUMMER, "value": ERIK}]
    assert (patient["birthDate"], patient["name"][0]["family"]) == ("1991-08-31", "Nilsson")

    encounter = one(bundle, "Encounter")
    assert (encounter["status"], encounter["class"]["code"]) == ("finished", "VR")
    assert encounter["period"] == {"start": "2026-12-07T09:00:00+01:00", "end": "2026-12-07T09:31:00+01:00"}
    assert [h["status"] for h in encounter["statusHistory"]] == ["triaged", "in-progress"]
    assert encounter["reasonCode"][0]["coding"][0]["code"] == "sore_throat"
    assert encounter["reasonCode"][0]["text"] == "Ont i halsen"
    outcome = encounter["hospitalization"]["dischargeDisposition"]
    assert (outcome["coding"][0]["code"], outcome["text"], outcome["coding"][1]["code"]) == (
        "self_care_advice", "Egenvårdsråd", "home",
    )  # fmt: skip
    assert resolve(bundle, encounter["serviceProvider"])["name"] == "Testby vårdcentral"
    nurse = resolve(bundle, encounter["participant"][0]["individual"])
    assert nurse["identifier"] == [{"system": HSA_ID, "value": "SE2321000131-P000000001"}]

    communication = one(bundle, "Communication")
    [note] = communication["note"]
    assert note["text"] == NOTE and resolve(bundle, note["authorReference"])["resourceType"] == "Practitioner"
    summary_text = communication["payload"][0]["contentString"]
    assert "patienten: 2" in summary_text and "vårdpersonal: 1" in summary_text and "foton: 1" in summary_text
    assert "Samtal: 1, sammanlagt 5 min" in summary_text
    assert CITIZEN_WORDS not in json.dumps(bundle, ensure_ascii=False)  # counts and times, never the chat
    assert "Kan du dricka" not in json.dumps(bundle, ensure_ascii=False)

    answers = one(bundle, "QuestionnaireResponse")
    assert answers["status"] == "completed" and resolve(bundle, answers["source"]) == patient
    texts = [(i["text"], i["answer"][0]["valueString"]) for i in answers["item"]]
    assert ("Hur många dygn har du haft ont i halsen? (For how many days have you had a sore throat?)",
            "10 dygn (10 days)") in texts  # fmt: skip
    assert any(a == "Inget foto (No photo)" for _, a in texts)
    assessment = next(o for o in resources(bundle, "Observation") if "component" in o)
    assert assessment["valueCodeableConcept"]["coding"][0]["code"] == summary["care_level"]
    assert not resources(bundle, "ServiceRequest") and not resources(bundle, "Appointment")


def test_a_referral_names_the_unit_the_patient_was_sent_to(triage: Any) -> None:
    summary = triage(34, "sore_throat", {"cannot_drink": True, "symptom_days": 3})
    file = case_file(summary, "referred", referred_unit="vc-other")
    bundle = build_bundle(RecordInput(file, TESTBY, NORA, chat(), referred=ANNANBY))
    validated(bundle)
    referral = one(bundle, "ServiceRequest")
    assert (referral["intent"], referral["status"]) == ("proposal", "active")  # advised, not ordered
    unit = resolve(bundle, referral["performer"][0])
    assert (unit["name"], unit["address"][0]["city"], unit["telecom"][0]["value"]) == (
        "Annanby vårdcentral", "Annanby", "021-100 00",
    )  # fmt: skip
    assert resolve(bundle, referral["encounter"])["resourceType"] == "Encounter"
    assert one(bundle, "Encounter")["hospitalization"]["dischargeDisposition"]["coding"][1]["code"] == "other-hcf"
    # the key finding that decided it, as an Observation of its own
    present = [o for o in resources(bundle, "Observation") if o.get("valueBoolean") is True]
    decided = "Kan ej dricka, behåller ej vätska (Cannot drink, keeps no fluids down)"
    assert [o["code"]["text"] for o in present] == [decided]
    measured = [o for o in resources(bundle, "Observation") if "valueString" in o]
    assert [(o["code"]["text"], o["valueString"]) for o in measured] == [
        ("Besvärsduration (Duration of symptoms)", "3 dygn (3 days)")
    ]


def booking(**changes: Any) -> dict[str, Any]:
    return {
        "id": "vc-other.k3x9", "unit": "vc-other", "profession": "doctor", "mode": "physical",
        "start_ms": at("2026-12-08 10:00"), "end_ms": at("2026-12-08 10:20"), "status": "booked",
        "patient_pnr": ERIK, "patient_name": "Erik Nilsson", "owner_uid": "c-erik", "case": CASE,
        "booked_by": "nurse-1", "vaccine": None, "created_ms": CLOSED - 5000,
    } | changes  # fmt: skip


def test_a_visit_booked_close_carries_the_appointment(triage: Any) -> None:
    summary = triage(34, "sore_throat", {"cannot_drink": True, "symptom_days": 3})
    file = case_file(summary, "visit_booked", booking="vc-other.k3x9")
    bundle = build_bundle(RecordInput(file, TESTBY, NORA, chat(), booking=booking(), booking_unit=ANNANBY))
    validated(bundle)
    appointment = one(bundle, "Appointment")
    assert appointment["status"] == "booked"
    assert (appointment["start"], appointment["end"]) == ("2026-12-08T10:00:00+01:00", "2026-12-08T10:20:00+01:00")
    assert appointment["identifier"][0]["value"] == "vc-other.k3x9"
    actors = [resolve(bundle, p["actor"]) for p in appointment["participant"] if "actor" in p]
    assert [a["resourceType"] for a in actors] == ["Patient", "Location"]
    place = actors[1]
    assert (place["name"], place["address"]["line"]) == ("Annanby vårdcentral", ["Storgatan 1"])
    assert resolve(bundle, place["managingOrganization"])["name"] == "Annanby vårdcentral"
    [doctor] = [p for p in appointment["participant"] if "type" in p]
    assert doctor["type"][0]["text"] == "Läkare" and "actor" not in doctor  # any doctor of the unit
    assert appointment["serviceType"][0]["coding"][0]["code"] == "physical"


def test_a_video_visit_and_a_cancelled_booking(triage: Any) -> None:
    summary = triage(34, "sore_throat", {"symptom_days": 10})
    file = case_file(summary, "video_consultation", booking="vc-other.v1")
    video = booking(id="vc-other.v1", mode="video", status="cancelled")
    bundle = build_bundle(RecordInput(file, TESTBY, NORA, chat(), booking=video, booking_unit=ANNANBY))
    validated(bundle)
    appointment = one(bundle, "Appointment")
    assert appointment["status"] == "cancelled"
    assert appointment["serviceType"][0] == {
        "coding": [{"system": "urn:direkt:codesystem:visit-mode", "code": "video", "display": "Video visit"}],
        "text": "Videobesök",
    }
    place = one(bundle, "Location")
    assert place["physicalType"]["coding"][0]["code"] == "vi" and "address" not in place
    # a visit with the nurse who closed the case names her
    mine = booking(id="vc-t.n1", unit="vc-t", profession="nurse", mode="video", staff="nurse-1")
    bundle = build_bundle(RecordInput(file, TESTBY, NORA, chat(), booking=mine, booking_unit=TESTBY))
    validated(bundle)
    [nurse] = [p for p in one(bundle, "Appointment")["participant"] if "type" in p]
    assert resolve(bundle, nurse["actor"])["identifier"][0]["value"] == NORA.hsa_id


def test_a_child_with_a_guardian(triage: Any) -> None:
    summary = triage(8, "child_fever", {"fever": True, "temperature": 38.5, "fever_days": 1}, child="Elsa")
    file = case_file(summary, "self_care_advice", patient_pnr=ELSA, patient_name="Elsa Berg", guardian_pnr=GUARDIAN,
                     first_name="Elsa")  # fmt: skip
    bundle = build_bundle(RecordInput(file, TESTBY, NORA, chat()))
    validated(bundle)
    assert one(bundle, "Patient")["identifier"][0]["value"] == ELSA
    guardian = one(bundle, "RelatedPerson")
    assert guardian["identifier"][0]["value"] == GUARDIAN
    assert guardian["relationship"][0]["coding"][0]["code"] == "GUARD"
    assert resolve(bundle, guardian["patient"])["identifier"][0]["value"] == ELSA
    assert resolve(bundle, one(bundle, "QuestionnaireResponse")["source"]) == guardian  # who answered
    assert [resolve(bundle, p["individual"])["resourceType"] for p in one(bundle, "Encounter")["participant"]] == [
        "Practitioner", "RelatedPerson",
    ]  # fmt: skip


def test_ids_are_stable_per_case_and_every_reference_resolves(triage: Any) -> None:
    summary = triage(34, "sore_throat", {"cannot_drink": True, "symptom_days": 3})
    file = case_file(summary, "visit_booked", booking="vc-other.k3x9", guardian_pnr=GUARDIAN)
    data = RecordInput(file, TESTBY, NORA, chat(), referred=ANNANBY, booking=booking(), booking_unit=ANNANBY)
    bundle = build_bundle(data)
    assert build_bundle(data) == bundle  # the same export twice: the same record, the same ids
    urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(set(urls)) == len(urls) and all(u.startswith("urn:uuid:") for u in urls)
    assert all(e["fullUrl"] == f"urn:uuid:{e['resource']['id']}" for e in bundle["entry"])
    assert set(references(bundle)) <= set(urls)
    other = build_bundle(replace(data, file=replace(file, case_id="t.01JF0000000000000000000002")))
    assert not set(urls) & {e["fullUrl"] for e in other["entry"]}


def test_an_open_case_has_no_record_and_no_staff_means_no_practitioner(triage: Any) -> None:
    summary = triage(34, "sore_throat", {"symptom_days": 10})
    with pytest.raises(ValueError, match="not closed"):
        build_bundle(RecordInput(case_file(summary, "", closed_ms=0), TESTBY, NORA, ChatSummary()))
    left = case_file(summary, "abandoned", ready_ms=0, staff_id="")
    bundle = build_bundle(RecordInput(left, TESTBY, None, ChatSummary()))
    validated(bundle)
    assert not resources(bundle, "Practitioner") and "note" not in one(bundle, "Communication")
    assert one(bundle, "Encounter")["status"] == "cancelled" and "statusHistory" not in one(bundle, "Encounter")


def test_the_validator_refuses_a_record_that_breaks_r4(triage: Any) -> None:
    """The check above can fail: an Encounter without its required status, an unknown element."""
    bundle = build_bundle(RecordInput(case_file(triage(34, "sore_throat", {"symptom_days": 10}), "referred"),
                                      TESTBY, NORA, chat()))  # fmt: skip
    broken = json.loads(json.dumps(bundle))
    del next(e for e in broken["entry"] if e["resource"]["resourceType"] == "Encounter")["resource"]["status"]
    with pytest.raises(ValidationError, match="status"):
        Bundle.parse_obj(broken)
    unknown = json.loads(json.dumps(bundle))
    one(unknown, "Appointment" if resources(unknown, "Appointment") else "Encounter")["virtualService"] = [{}]
    with pytest.raises(ValidationError):
        Bundle.parse_obj(unknown)
