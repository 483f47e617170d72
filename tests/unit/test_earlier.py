"""The pure core of the console's earlier contacts (server/care/earlier.py): which cases a staff member
is shown beside a case, in which order, how many, and in what words."""

from __future__ import annotations

from support_hub import ELSA, ERIK, GUARDIAN

from direkt.queue.model import Skill, Staff
from direkt.queue.records import CaseRecord
from direkt.server.care.casefile import CaseFile
from direkt.server.care.earlier import SHOWN, Earlier, contact_view, read_record, shown_to

NORA = Staff("nurse-1", "Nora Nilsson", Skill.NURSE, ("vc-t", "1177-t"), frozenset({Skill.NURSE}), 4)


def case(
    case_id: str, created_ms: int, *, pnr: str = ERIK, unit: str = "vc-t", state: str = "closed", **file: str
) -> Earlier:
    record = CaseRecord.from_hash(
        {
            b"id": case_id.encode(),
            b"unit": unit.encode(),
            b"skill": b"nurse",
            b"urgency": b"5",
            b"state": state.encode(),
        }
    )
    casefile = CaseFile(
        case_id=case_id, owner_uid="c-x", patient_pnr=pnr, patient_name="Erik Nilsson", guardian_pnr="",
        first_name="Erik", phone="", lang="sv", entry="seek_care", home_unit=unit, created_ms=created_ms,
        triage={"reason": {"code": "sore_throat", "label": {"sv": "Ont i halsen", "en": "Sore throat"}},
                "care_level": "within_days"}, **file,
    )  # fmt: skip
    return Earlier(casefile, record)


def ids(shown: list[Earlier]) -> list[str]:
    return [e.file.case_id for e in shown]


def test_only_the_same_patients_other_cases_at_her_units_newest_first() -> None:
    now = case("t.now", 900)
    found = [
        now,
        case("t.old", 100),
        case("t.at1177", 300, unit="1177-t"),
        case("t.annanby", 500, unit="vc-other"),  # a unit Nora does not serve
        case("t.someone", 600, pnr=GUARDIAN),  # another patient, in the same index by mistake
        case("t.tie-a", 200),
        case("t.tie-b", 200),
    ]
    assert ids(shown_to(NORA, now.file, found)) == ["t.at1177", "t.tie-b", "t.tie-a", "t.old"]


def test_at_most_the_newest_twenty() -> None:
    now = case("t.now", 10_000, pnr=ELSA)
    found = [case(f"t.c{i:02}", i, pnr=ELSA) for i in range(SHOWN + 5)]
    assert ids(shown_to(NORA, now.file, found)) == [f"t.c{i:02}" for i in range(SHOWN + 4, 4, -1)]


def test_a_contact_in_words() -> None:
    closed = case("t.c1", 100, outcome="referred", staff_id="nurse-1", staff_name="Nora Nilsson")
    view = contact_view(closed, "Testby vårdcentral", "nurse")
    assert view["outcome_label"] == {"sv": "Hänvisad", "en": "Referred"}
    assert (view["unit_name"], view["profession"], view["staff_name"]) == (
        "Testby vårdcentral",
        "nurse",
        "Nora Nilsson",
    )
    assert view["reason"]["label"]["sv"] == "Ont i halsen" and view["care_level"] == "within_days"
    waiting = contact_view(case("t.c2", 200, state="waiting"), "Testby vårdcentral", None)
    assert (waiting["state"], waiting["outcome"], waiting["outcome_label"], waiting["staff_name"]) == (
        "waiting", None, None, None,
    )  # fmt: skip


def test_each_shown_case_is_audited_on_itself_and_names_the_case_it_was_read_beside() -> None:
    rec = read_record(5, NORA, case("t.c1", 100, unit="1177-t"), "t.now")
    assert (rec.action, rec.case_id, rec.unit, rec.actor, rec.role) == (
        "earlier.read",
        "t.c1",
        "1177-t",
        "nurse-1",
        "nurse",
    )
    assert (rec.patient, rec.detail) == (ERIK, "via:t.now")
    assert read_record(5, NORA, case("t.c1", 100), "t." + "x" * 70).detail == ""  # too long for a code: left out
