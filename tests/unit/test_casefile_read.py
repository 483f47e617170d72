"""Reading a case file with only part of its triage summary (``CaseFiles.get(case, triage=...)``): a
citizen's join decodes the two keys ``citizen_view`` shows, and must show exactly what the whole file shows."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from direkt.server.care.casefile import CITIZEN_TRIAGE, CaseFile, CaseFiles, _packed

TRIAGE = {
    "reason": {"code": "sore_throat", "label": {"sv": "Ont i halsen", "en": "Sore throat"}},
    "care_level": "within_days",
    "level": "days",
    "advice": [{"sv": "Drick ordentligt.", "en": "Drink plenty."}],
    "findings": {"present": [{"sv": "Hosta", "en": "Cough"}], "absent": [], "measured": []},
    "answers": [{"question": {"sv": "Feber?"}, "answer": {"sv": "Nej"}, "photo": "skipped"}],
    "questions": 10,
}
FILE = CaseFile(
    case_id="c1", owner_uid="c-x", patient_pnr="196512123339", patient_name="Erik Nilsson",
    guardian_pnr="198001011234", first_name="Erik", phone="", lang="sv", entry="seek_care", home_unit="vc-t",
    created_ms=1_700_000_000_000, triage=TRIAGE, triage_session=b"\x01session", ready_ms=5, staff_name="Nora",
    closed_ms=7, outcome="referred", referred_unit="vc-u", booking="b1",
)  # fmt: skip


class OneFile:
    """A client with one case file hash: its ``f`` and ``phone`` fields."""

    def __init__(self, file: CaseFile, phone: bytes | None = None) -> None:
        self.fields = {"f": _packed(file), "phone": phone}

    async def hmget(self, key: str, names: list[str]) -> list[Any]:
        return [self.fields.get(name) for name in names]


def read(client: OneFile, triage: frozenset[str] | None) -> CaseFile:
    return asyncio.run(CaseFiles(client).get("c1", triage))  # type: ignore[arg-type]


def test_the_citizen_read_shows_what_the_whole_file_shows() -> None:
    lean = read(OneFile(FILE), CITIZEN_TRIAGE)
    assert lean.citizen_view() == FILE.citizen_view()
    assert dict(lean.triage) == {"reason": TRIAGE["reason"], "care_level": "within_days"}
    assert lean.triage_session == b""  # not decoded
    assert replace(lean, triage=TRIAGE, triage_session=FILE.triage_session) == FILE  # every other field as stored


def test_a_whole_read_is_the_file_as_written() -> None:
    assert read(OneFile(FILE), None) == FILE


def test_the_phone_changed_after_submission_wins_in_both_reads() -> None:
    client = OneFile(FILE, b"+46701234567")
    assert read(client, CITIZEN_TRIAGE).citizen_view()["sms_phone"] == "+46701234567"
    assert read(client, None).phone == "+46701234567"


def test_a_summary_without_the_keys_reads_as_without_them() -> None:
    bare = replace(FILE, triage={"level": "days"})
    lean = read(OneFile(bare), CITIZEN_TRIAGE)
    assert dict(lean.triage) == {}
    assert lean.citizen_view() == bare.citizen_view()
