"""A closed case as a structured record for the patient's journal: a FHIR R4 (4.0.1) Bundle.

Pure: the case file, a summary of its transcript, the people and units it names and the
booking (a plain mapping, ``direkt.server.booking``'s fields) in; a JSON-ready ``dict`` out.
No clock and no randomness: every ``fullUrl`` is a ``urn:uuid`` derived from the case id
(uuid5), so exporting the same case twice gives the same ids, and a receiving system can
tell a repeated export from a new record.

Why a ``collection`` Bundle, not a ``document``: a FHIR document is an attested, immutable
composition (a Composition first, its author attesting it). The nurse's note is signed in
the receiving journal system, not here; the Bundle carries the resources for that system to
file, each on its own, with nothing claiming a signature it does not have.

What a receiving record gets (docs/record.md): the patient (personnummer), the guardian who
acted for a child, the nurse (HSA-id when known) and her unit, the contact (Encounter: virtual,
its period, the contact reason, the outcome), the triage answers (QuestionnaireResponse) and
result (Observations), the journal note and a summary of the chat (Communication: counts and
times, never the messages themselves: the chat stays in direkt, named by the case id), a
referral (ServiceRequest) and a booked visit (Appointment).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

from direkt.server.care.casefile import CaseFile
from direkt.server.care.recordinput import MODES, OUTCOMES, PROFESSIONS, STOCKHOLM, RecordInput, StaffInfo, UnitInfo

FHIR_VERSION = "4.0.1"

# Identifier systems: HL7 Sweden's names for the personal identity numbers and the HSA-id;
# direkt's own for the ids only it gives (a region maps these to its own systems).
PERSONNUMMER = "http://electronichealth.se/identifier/personnummer"
SAMORDNINGSNUMMER = "http://electronichealth.se/identifier/samordningsnummer"
HSA_ID = "http://electronichealth.se/identifier/hsaid"
CASE_ID = "urn:direkt:case"
UNIT_ID = "urn:direkt:unit"
BOOKING_ID = "urn:direkt:booking"
# direkt's own code systems (the triage's contact reasons, care levels, findings and the outcomes).
CODES = "urn:direkt:codesystem:"
# HL7 terminology.
_HL7 = "http://terminology.hl7.org/CodeSystem/"
ACT_CODE = _HL7 + "v3-ActCode"
ROLE_CODE = _HL7 + "v3-RoleCode"
PARTICIPATION = _HL7 + "v3-ParticipationType"
DISCHARGE = _HL7 + "discharge-disposition"
OBSERVATION_CATEGORY = _HL7 + "observation-category"
LOCATION_TYPE = _HL7 + "location-physical-type"
PARTICIPATION_MODE = _HL7 + "v3-ParticipationMode"
DATA_ABSENT = _HL7 + "data-absent-reason"
SNOMED = "http://snomed.info/sct"

# The stable ids: one namespace for direkt's records, then the case id and the resource's part.
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:direkt:record")

# -- the bundle ------------------------------------------------------------------------------


def resource_id(case_id: str, part: str) -> str:
    """The stable id of one resource of a case's record (a UUID, the same at every export)."""
    return str(uuid.uuid5(_NAMESPACE, f"{case_id}#{part}"))


def instant(ms: int) -> str:
    """Epoch milliseconds as a FHIR instant in Swedish time ("2026-12-06T23:18:47+01:00")."""
    return dt.datetime.fromtimestamp(ms / 1000, STOCKHOLM).isoformat(timespec="seconds")


class _Refs:
    """The urn:uuid references of one case's resources."""

    def __init__(self, case_id: str) -> None:
        self.case_id = case_id

    def id(self, part: str) -> str:
        return resource_id(self.case_id, part)

    def url(self, part: str) -> str:
        return f"urn:uuid:{self.id(part)}"

    def ref(self, part: str, display: str = "") -> dict[str, str]:
        return {"reference": self.url(part)} | ({"display": display} if display else {})


def build_bundle(data: RecordInput) -> dict[str, Any]:
    """The case's record as a FHIR R4 ``collection`` Bundle (a JSON-ready dict).

    Raises:
        ValueError: the case is not closed.
    """
    file = data.file
    if not file.closed_ms:
        raise ValueError("the case is not closed")
    refs = _Refs(file.case_id)
    resources: list[tuple[str, dict[str, Any]]] = [("patient", _patient(file))]
    if file.guardian_pnr:
        resources.append(("guardian", _guardian(file, refs)))
    resources.append(("unit", _organization(data.unit)))
    if data.staff is not None:
        resources += [("staff", _practitioner(data.staff)), ("staff-role", _role(data.staff, refs))]
    resources.append(("encounter", _encounter(data, refs)))
    resources += _triage(data, refs)
    resources.append(("chat", _communication(data, refs)))
    if data.referred is not None:
        resources += [
            ("referred-unit", _organization(data.referred)),
            ("referral", _referral(data, data.referred, refs)),
        ]
    if data.booking is not None:
        unit = data.booking_unit or UnitInfo(str(data.booking.get("unit", "")), str(data.booking.get("unit", "")))
        resources += [
            ("booking-unit", _organization(unit)),
            ("booking-place", _location(data.booking, unit, refs)),
            ("booking", _appointment(data, data.booking, refs)),
        ]
    return {
        "resourceType": "Bundle",
        "id": refs.id("bundle"),
        "meta": {"lastUpdated": instant(file.closed_ms)},
        "identifier": {"system": CASE_ID, "value": file.case_id},
        "type": "collection",
        "timestamp": instant(file.closed_ms),
        "entry": [
            {"fullUrl": refs.url(part), "resource": {"resourceType": body["resourceType"], "id": refs.id(part)} | body}
            for part, body in resources
        ],
    }


def _text(sv: str, en: str = "") -> str:
    """Swedish first, English beside it, as the rest of direkt words things."""
    return f"{sv} ({en})" if en and en != sv else sv


def _pnr_identifier(pnr: str) -> dict[str, str]:
    # A coordination number (samordningsnummer) adds 60 to the day of birth.
    system = SAMORDNINGSNUMMER if len(pnr) == 12 and pnr[6:8].isdigit() and int(pnr[6:8]) > 60 else PERSONNUMMER
    return {"system": system, "value": pnr}


def _birth_date(pnr: str) -> str | None:
    try:
        day = int(pnr[6:8])
        return dt.date(int(pnr[:4]), int(pnr[4:6]), day - 60 if day > 60 else day).isoformat()
    except ValueError:
        return None


def _patient(file: CaseFile) -> dict[str, Any]:
    given, _, family = file.patient_name.strip().rpartition(" ")
    name: dict[str, Any] = {"use": "official", "text": file.patient_name}
    if family:
        name["family"] = family
    if given:
        name["given"] = given.split()
    patient: dict[str, Any] = {"resourceType": "Patient", "identifier": [_pnr_identifier(file.patient_pnr)]}
    if file.patient_name.strip():
        patient["name"] = [name]
    if (born := _birth_date(file.patient_pnr)) is not None:
        patient["birthDate"] = born
    return patient


def _guardian(file: CaseFile, refs: _Refs) -> dict[str, Any]:
    """The guardian who acted for the child (who answered the triage and chatted)."""
    return {
        "resourceType": "RelatedPerson",
        "identifier": [_pnr_identifier(file.guardian_pnr)],
        "patient": refs.ref("patient"),
        "relationship": [
            {"coding": [{"system": ROLE_CODE, "code": "GUARD", "display": "guardian"}], "text": "Vårdnadshavare"}
        ],
    }


def _organization(unit: UnitInfo) -> dict[str, Any]:
    org: dict[str, Any] = {
        "resourceType": "Organization",
        "identifier": [{"system": UNIT_ID, "value": unit.id}],
        "active": True,
        "name": unit.name or unit.id,
    }
    telecom = [{"system": s, "value": v} for s, v in (("phone", unit.phone), ("url", unit.web)) if v]
    if telecom:
        org["telecom"] = telecom
    if address := _address(unit):
        org["address"] = [address]
    return org


def _address(unit: UnitInfo) -> dict[str, Any] | None:
    if not (unit.address or unit.city):
        return None
    address: dict[str, Any] = {"use": "work", "type": "physical", "country": "SE"}
    if unit.address:
        address["line"] = [unit.address]
    address |= {k: v for k, v in (("postalCode", unit.postcode), ("city", unit.city)) if v}
    return address


def _practitioner(staff: StaffInfo) -> dict[str, Any]:
    given, _, family = staff.name.strip().rpartition(" ")
    name: dict[str, Any] = {"text": staff.name} | ({"family": family} if family else {})
    if given:
        name["given"] = given.split()
    practitioner: dict[str, Any] = {"resourceType": "Practitioner", "active": True, "name": [name]}
    if staff.hsa_id:
        practitioner["identifier"] = [{"system": HSA_ID, "value": staff.hsa_id}]
    return practitioner


def _role(staff: StaffInfo, refs: _Refs) -> dict[str, Any]:
    """Her profession at the unit (a PractitionerRole: a role at an organisation, not a qualification)."""
    sv, en = PROFESSIONS.get(staff.profession, (staff.profession, staff.profession))
    return {
        "resourceType": "PractitionerRole",
        "active": True,
        "practitioner": refs.ref("staff", staff.name),
        "organization": refs.ref("unit"),
        "code": [{"coding": [{"system": CODES + "profession", "code": staff.profession, "display": en}], "text": sv}],
    }


def _outcome(outcome: str) -> dict[str, Any]:
    sv, en, hl7 = OUTCOMES.get(outcome, (outcome, outcome, "oth"))
    return {
        "coding": [
            {"system": CODES + "outcome", "code": outcome or "unknown", "display": en},
            {"system": DISCHARGE, "code": hl7},
        ],
        "text": sv,
    }


def _reason(file: CaseFile) -> dict[str, Any] | None:
    reason = file.triage.get("reason") or {}
    code = reason.get("code")
    if not code:
        return None
    label = reason.get("label") or {}
    return {
        "coding": [{"system": CODES + "contact-reason", "code": str(code), "display": str(label.get("en") or code)}],
        "text": str(label.get("sv") or code),
    }


def _encounter(data: RecordInput, refs: _Refs) -> dict[str, Any]:
    """The contact: virtual, from the submitted triage to the close; who, where, why, and how it ended.

    The outcome is the R4 Encounter's ``hospitalization.dischargeDisposition`` (where the
    patient went after the contact; R4 has no outcome element of its own).
    """
    file = data.file
    start = file.created_ms
    encounter: dict[str, Any] = {
        "resourceType": "Encounter",
        "identifier": [{"system": CASE_ID, "value": file.case_id}],
        "status": "cancelled" if file.outcome == "abandoned" else "finished",
        "class": {"system": ACT_CODE, "code": "VR", "display": "virtual"},
        "type": [{"text": "Digital vårdkontakt via chatt (Digital care contact by chat)"}],
        "subject": refs.ref("patient", file.patient_name),
        "period": {"start": instant(start), "end": instant(file.closed_ms)},
        "serviceProvider": refs.ref("unit", data.unit.name),
        "hospitalization": {"dischargeDisposition": _outcome(file.outcome)},
    }
    if file.ready_ms:  # waited as triaged, then a nurse held the chat
        encounter["statusHistory"] = [
            {"status": "triaged", "period": {"start": instant(start), "end": instant(file.ready_ms)}},
            {"status": "in-progress", "period": {"start": instant(file.ready_ms), "end": instant(file.closed_ms)}},
        ]
    participants = []
    if data.staff is not None:
        primary = {"coding": [{"system": PARTICIPATION, "code": "PPRF", "display": "primary performer"}]}
        participants.append({"type": [primary], "individual": refs.ref("staff", data.staff.name)})
    if file.guardian_pnr:
        participants.append({"type": [{"text": "Vårdnadshavare (Guardian)"}], "individual": refs.ref("guardian")})
    if participants:
        encounter["participant"] = participants
    if (reason := _reason(file)) is not None:
        encounter["reasonCode"] = [reason]
    return encounter


# -- the triage: the answers (QuestionnaireResponse) and what they showed (Observations) ---------


def _triage(data: RecordInput, refs: _Refs) -> list[tuple[str, dict[str, Any]]]:
    triage = data.file.triage
    if not triage:
        return []
    found = _findings(data, refs)
    return [("answers", _answers(data, refs)), ("triage", _assessment(data, refs, [p for p, _ in found])), *found]


def _words(value: Any) -> str:
    """A {"sv", "en"} text as the record words it; a plain string as it is."""
    if isinstance(value, Mapping):
        return _text(str(value.get("sv") or ""), str(value.get("en") or ""))
    return "" if value is None else str(value)


_PHOTO_ANSWERS = {"attached": ("Foto bifogat", "Photo attached"), "skipped": ("Inget foto", "No photo")}


def _answers(data: RecordInput, refs: _Refs) -> dict[str, Any]:
    file = data.file
    items = []
    for n, answer in enumerate(file.triage.get("answers") or (), 1):
        shown = _PHOTO_ANSWERS.get(str(answer.get("photo", "")))
        text = _text(*shown) if shown else _words(answer.get("answer"))
        item: dict[str, Any] = {"linkId": f"q{n}", "text": _words(answer.get("question")) or f"q{n}"}
        if text:
            item["answer"] = [{"valueString": text}]
        items.append(item)
    response: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "identifier": {"system": CASE_ID, "value": f"{file.case_id}#triage"},
        "status": "completed",
        "subject": refs.ref("patient"),
        "encounter": refs.ref("encounter"),
        "authored": instant(file.created_ms),
        "source": refs.ref("guardian") if file.guardian_pnr else refs.ref("patient"),
    }
    if version := file.triage.get("kb_version"):
        response["questionnaire"] = f"{CODES}triage|{version}"
    if items:
        response["item"] = items
    return response


def _observation(data: RecordInput, refs: _Refs, code: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}]}],
        "code": code,
        "subject": refs.ref("patient"),
        "encounter": refs.ref("encounter"),
        "effectiveDateTime": instant(data.file.created_ms),
        "derivedFrom": [refs.ref("answers")],
    }


def _assessment(data: RecordInput, refs: _Refs, members: list[str]) -> dict[str, Any]:
    """The triage's result: its care level (and urgency), the findings the patient denied or did not know."""
    triage = data.file.triage
    code = {
        "coding": [{"system": CODES + "observation", "code": "triage-care-level"}],
        "text": "Digital triagering: vårdnivå (Digital triage: care level)",
    }
    observation = _observation(data, refs, code)
    level = str(triage.get("care_level") or "unknown")
    observation["valueCodeableConcept"] = {
        "coding": [{"system": CODES + "care-level", "code": level, "display": str(triage.get("level") or level)}],
        "text": _words(triage.get("headline")) or level,
    }
    components = []
    if isinstance(triage.get("urgency"), int):
        components.append({"code": {"text": "Angelägenhetsgrad (Urgency)"}, "valueInteger": triage["urgency"]})
    findings = triage.get("findings") or {}
    components += [{"code": {"text": _words(f)}, "valueBoolean": False} for f in findings.get("absent") or ()]
    unknown = {"coding": [{"system": DATA_ABSENT, "code": "asked-unknown"}]}
    components += [{"code": {"text": _words(f)}, "dataAbsentReason": unknown} for f in findings.get("unknown") or ()]
    if components:
        observation["component"] = components
    if members:
        observation["hasMember"] = [refs.ref(m) for m in members]
    decided = (triage.get("decided_by") or {}).get("staff")
    if decided:
        observation["note"] = [{"text": f"Avgörande fynd (Deciding finding): {_words(decided)}"}]
    if version := triage.get("kb_version"):
        observation["method"] = {"text": f"direkt triage, kunskapsbas (knowledge base) {version}"}
    return observation


def _findings(data: RecordInput, refs: _Refs) -> list[tuple[str, dict[str, Any]]]:
    """The key findings, one Observation each: what was present (yes) and what was measured."""
    findings = data.file.triage.get("findings") or {}
    found: list[tuple[str, dict[str, Any]]] = []
    for n, finding in enumerate(findings.get("present") or ()):
        observation = _observation(data, refs, {"text": _words(finding)})
        found.append((f"finding-{n}", observation | {"valueBoolean": True}))
    for n, measured in enumerate(findings.get("measured") or ()):
        sv_name, _, sv_value = str(measured.get("sv", "")).partition(": ")
        en_name, _, en_value = str(measured.get("en", "")).partition(": ")
        observation = _observation(data, refs, {"text": _text(sv_name, en_name)})
        found.append((f"measured-{n}", observation | {"valueString": _text(sv_value, en_value) or sv_name}))
    return found


# -- the chat, the referral and the booking -------------------------------------------------------


def _duration(ms: int) -> str:
    minutes = round(ms / 60000)
    return f"{minutes} min"


def _communication(data: RecordInput, refs: _Refs) -> dict[str, Any]:
    """The chat as the record gets it: counts and times, and the journal note as the nurse's note."""
    file, chat = data.file, data.chat
    lines = [
        f"Chatt i direkt, ärende {file.case_id} (Chat in direkt, case {file.case_id}).",
        f"Meddelanden från patienten: {chat.patient_messages} (from the patient), "
        f"från vårdpersonal: {chat.staff_messages} (from staff), foton: {chat.photos} (photos).",
    ]
    if chat.first_ms:
        lines.append(
            f"Första meddelandet {instant(chat.first_ms)}, sista {instant(chat.last_ms)} (first, last message)."
        )
    if chat.calls:
        lines.append(f"Samtal: {chat.calls}, sammanlagt {_duration(chat.call_ms)} (calls, in total).")
    communication: dict[str, Any] = {
        "resourceType": "Communication",
        "identifier": [{"system": CASE_ID, "value": f"{file.case_id}#chat"}],
        "status": "completed",
        "category": [{"text": "Sammanfattning av chatt (Chat summary)"}],
        "medium": [
            {
                "coding": [
                    {
                        "system": PARTICIPATION_MODE,
                        "code": "ELECTRONIC",
                        "display": "electronic data",
                    }
                ]
            }
        ],
        "subject": refs.ref("patient"),
        "encounter": refs.ref("encounter"),
        "sent": instant(file.closed_ms),
        "payload": [{"contentString": "\n".join(lines)}],
    }
    if data.staff is not None:
        communication["sender"] = refs.ref("staff", data.staff.name)
    if chat.journal.strip():
        note: dict[str, Any] = {"text": chat.journal, "time": instant(chat.journal_ms or file.closed_ms)}
        if data.staff is not None:
            note["authorReference"] = refs.ref("staff", data.staff.name)
        communication["note"] = [note]
    return communication


def _referral(data: RecordInput, unit: UnitInfo, refs: _Refs) -> dict[str, Any]:
    """The nurse sent the patient on to a unit (hänvisning): a ServiceRequest of intent ``proposal``.

    A proposal, not an order: the nurse advises the patient where to go and the unit is not
    asked to act (that would be a remiss, intent ``order``).
    """
    file = data.file
    request: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "identifier": [{"system": CASE_ID, "value": f"{file.case_id}#referral"}],
        "status": "active",
        "intent": "proposal",
        "code": {
            "coding": [{"system": SNOMED, "code": "3457005", "display": "Patient referral"}],
            "text": f"Hänvisad till {unit.name} (Referred to {unit.name})",
        },
        "subject": refs.ref("patient"),
        "encounter": refs.ref("encounter"),
        "authoredOn": instant(file.closed_ms),
        "performer": [refs.ref("referred-unit", unit.name)],
    }
    if (reason := _reason(file)) is not None:
        request["reasonCode"] = [reason]
    if data.staff is not None:
        request["requester"] = refs.ref("staff", data.staff.name)
    return request


def _location(booking: Mapping[str, Any], unit: UnitInfo, refs: _Refs) -> dict[str, Any]:
    """Where the visit happens: the unit's premises, or (a video visit) a virtual place of the unit."""
    video = booking.get("mode") == "video"
    location: dict[str, Any] = {
        "resourceType": "Location",
        "status": "active",
        "name": f"{unit.name}, video" if video else unit.name,
        "mode": "kind" if video else "instance",
        "managingOrganization": refs.ref("booking-unit", unit.name),
    }
    if video:
        location["physicalType"] = {"coding": [{"system": LOCATION_TYPE, "code": "vi", "display": "Virtual"}]}
    elif address := _address(unit):
        location["address"] = address
    return location


def _appointment(data: RecordInput, booking: Mapping[str, Any], refs: _Refs) -> dict[str, Any]:
    """The visit booked at the close. R4 has no virtual-service element (R5 has): a video visit is
    named by its service type and its virtual Location."""
    mode = str(booking.get("mode", "physical"))
    profession = str(booking.get("profession", ""))
    mode_sv, mode_en = MODES.get(mode, (mode, mode))
    prof_sv, prof_en = PROFESSIONS.get(profession, (profession, profession))
    service: dict[str, Any] = {
        "coding": [{"system": CODES + "visit-mode", "code": mode, "display": mode_en}],
        "text": mode_sv,
    }
    if booking.get("vaccine"):
        service["coding"].append({"system": CODES + "vaccine", "code": str(booking["vaccine"])})
    cancelled = booking.get("status") == "cancelled"
    participants: list[dict[str, Any]] = [
        {"actor": refs.ref("patient", data.file.patient_name), "required": "required", "status": "accepted"},
        {"actor": refs.ref("booking-place"), "required": "required", "status": "accepted"},
    ]
    if profession:
        kind = {"coding": [{"system": CODES + "profession", "code": profession, "display": prof_en}], "text": prof_sv}
        who: dict[str, Any] = {"type": [kind], "required": "required", "status": "accepted"}
        if data.staff is not None and booking.get("staff") == data.staff.id:  # the nurse who closed does the visit
            who["actor"] = refs.ref("staff", data.staff.name)
        participants.append(who)
    appointment: dict[str, Any] = {
        "resourceType": "Appointment",
        "identifier": [{"system": BOOKING_ID, "value": str(booking.get("id", ""))}],
        "status": "cancelled" if cancelled else "booked",
        "serviceType": [service],
        "description": _text(f"{mode_sv}, {prof_sv.lower()}", f"{mode_en}, {prof_en.lower()}"),
        "start": instant(int(booking["start_ms"])),
        "end": instant(int(booking["end_ms"])),
        "participant": participants,
        "supportingInformation": [refs.ref("encounter")],
    }
    if created := booking.get("created_ms"):
        appointment["created"] = instant(int(created))
    if (reason := _reason(data.file)) is not None:
        appointment["reasonCode"] = [reason]
    return appointment
