"""Demo cases for `make run`, read from ``data/cases.toml``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import msgspec

from direkt.queue.model import Skill
from direkt.queue.records import CaseRequest
from direkt.queue.urgency import MINUTE_MS, Urgency
from direkt.queue.waitroom import Waitroom
from direkt.server.care.casefile import CaseFile, CaseFiles
from direkt.server.identity.personnummer import Personnummer, test_numbers

DEMO_CASES = Path(__file__).parent / "data" / "cases.toml"


class DemoCase(msgspec.Struct, forbid_unknown_fields=True):
    ref: str
    home_unit: str
    skill: Skill
    urgency: str
    minutes_ago: int
    meta: dict[str, Any]
    new_problem: bool = True


class DemoFile(msgspec.Struct, forbid_unknown_fields=True):
    cases: list[DemoCase]


def demo_requests(now_ms: int, path: Path = DEMO_CASES) -> list[CaseRequest]:
    spec = msgspec.toml.decode(path.read_bytes(), type=DemoFile)
    return [
        CaseRequest(
            ref=c.ref, home_unit=c.home_unit, skill=c.skill, urgency=Urgency.parse(c.urgency),
            submitted_ms=now_ms - c.minutes_ago * MINUTE_MS, new_problem=c.new_problem, meta=c.meta,
        )
        for c in spec.cases
    ]  # fmt: skip


NAMES = ("Sara Holm", "Leif Strand", "Amina Yusuf", "Jonas Berg", "Karin Åberg", "Bengt Sund", "Alva Lind", "Noah Ek")


async def seed_demo_cases(waitroom: Waitroom, files: CaseFiles | None = None) -> int:
    """Submit the demo cases when the waiting room is empty; returns how many.

    With ``files``, each case gets a case file first (as a real submission
    does), so a nurse who claims a demo case sees a patient and a summary.
    """
    if any((await waitroom.depths()).values()):
        return 0
    requests = demo_requests(waitroom.clock())
    for i, request in enumerate(requests):
        planned = await waitroom.plan(request)
        if files is not None:
            await files.create(demo_file(planned.case_id, request, NAMES[i % len(NAMES)]))
        await waitroom.enqueue(
            planned.case_id, planned.unit, request.skill, request.urgency, request.submitted_ms,
            new_problem=request.new_problem, meta=request.meta,
        )  # fmt: skip
    return len(requests)


def demo_file(case_id: str, request: CaseRequest, name: str) -> CaseFile:
    today = dt.datetime.fromtimestamp(request.submitted_ms / 1000, dt.UTC).date()
    age = int(request.meta.get("age", 40))
    pnr = nearest_test_number(age, today)
    label = request.meta.get("label", {"sv": "", "en": ""})
    summary = [{"question": {"sv": "Demoärende", "en": "Demo case"},
                "answer": {"sv": "Inlagt av demodata", "en": "Seeded by the demo data"}}]  # fmt: skip
    triage = {
        "reason": {"code": request.meta.get("reason", ""), "label": label},
        "level": request.urgency.name.lower(),
        "care_level": "chat_today",
        "urgency": int(request.urgency),
        "profession": request.skill.value,
        "visit": "chat",
        "advice": None,
        "red_flag": None,
        "notes": [],
        "summary": summary,
        "age": age,
    }
    return CaseFile(
        case_id=case_id, owner_uid="demo", patient_pnr=pnr, patient_name=name, guardian_pnr="",
        first_name=name.split(maxsplit=1)[0], phone="", lang="sv", entry="seek_care", home_unit=request.home_unit,
        created_ms=request.submitted_ms, triage=triage,
    )  # fmt: skip


def nearest_test_number(age: int, today: dt.date) -> str:
    """A Skatteverket test number whose holder is about ``age`` years old."""
    numbers = test_numbers()
    return min(numbers, key=lambda n: (abs(Personnummer(n).age_on(today) - age), n))
