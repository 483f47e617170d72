"""Triage sessions over HTTP: the pure engine, with its state kept in Redis.

A triage session belongs to the logged-in citizen who started it; the patient
is the citizen or, for a guardian, their child aged 1–12. Age and legal sex
come from the personal identity number (sex may be given as "other").
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo

import msgpack

from direkt.queue.ids import ulid
from direkt.queue.scripts import RedisClient, redis_errors
from direkt.server import keys
from direkt.server.access import may_act_for
from direkt.server.errors import BadRequest, Conflict, Forbidden, NotFound
from direkt.server.personnummer import Personnummer
from direkt.server.region import RegionConfig
from direkt.server.sessions import Principal
from direkt.triage import engine
from direkt.triage.model import Entry, KnowledgeBase, Proxy, Question, Text

TRIAGE_TTL_S = 2 * 3600
STOCKHOLM = ZoneInfo("Europe/Stockholm")
LANGS = ("sv", "en")


@dataclass(frozen=True)
class TriageState:
    id: str
    owner_uid: str
    patient_pnr: str
    guardian_pnr: str
    lang: str
    session: engine.Session
    case_id: str = ""


@dataclass(frozen=True)
class ReadAhead:
    """A triage's stored value (None: absent), read in the same round trip as the session."""

    raw: bytes | None


def _possible_id(tid: str) -> bool:
    return tid.isalnum() and len(tid) <= 40


def stockholm_date(now_ms: int) -> dt.date:
    return dt.datetime.fromtimestamp(now_ms / 1000, STOCKHOLM).date()


def legal_sex(pnr: str) -> str:
    """Skatteverket: the second-to-last digit is odd for men, even for women."""
    return "male" if int(pnr[-2]) % 2 else "female"


class TriageFlow:
    def __init__(self, client: RedisClient, kb: KnowledgeBase, config: RegionConfig, clock: Callable[[], int]):
        self.client = client
        self.kb = kb
        self.config = config
        self.clock = clock

    def today(self) -> dt.date:
        return stockholm_date(self.clock())

    async def start(self, who: Principal, entry: str, child: str = "", sex: str = "", lang: str = "sv") -> TriageState:
        """Raises BadRequest (bad entry, sex or lang), Forbidden (not the guardian), NotEligible (age rules)."""
        if who.is_staff:
            raise Forbidden("triage is for citizens")
        if lang not in LANGS:
            raise BadRequest("lang is sv or en")
        try:
            chosen = Entry(entry)
        except ValueError:
            raise BadRequest(f"entry must be one of {', '.join(e.value for e in Entry)}") from None
        patient_pnr, guardian_pnr = who.pnr, ""
        if child:
            child_pnr = Personnummer.parse(child, today=self.today()).digits
            if not may_act_for(self.config, who.pnr, child_pnr, self.today()):
                raise Forbidden("you can act only for your own children aged 1–12")
            patient_pnr, guardian_pnr = child_pnr, who.pnr
        if sex and sex not in ("female", "male", "other"):
            raise BadRequest("sex must be female, male or other")
        age = Personnummer.parse(patient_pnr, today=self.today()).age_on(self.today())
        proxy = Proxy.GUARDIAN if guardian_pnr else Proxy.SELF
        session = engine.start(self.kb, chosen, engine.Patient(age, sex or legal_sex(patient_pnr), proxy))
        state = TriageState(ulid(self.clock(), os.urandom(10)), who.uid, patient_pnr, guardian_pnr, lang, session)
        await self.save(state)
        return state

    def key(self, tid: str) -> str:
        """The Redis key of triage ``tid``; "" for an id no triage can have."""
        return keys.triage(tid) if _possible_id(tid) else ""

    async def get(self, who: Principal, tid: str, ahead: ReadAhead | None = None) -> TriageState:
        """Triage ``tid`` of ``who``; ``ahead`` is its stored value if already read (``key``).

        Raises:
            NotFound: no such triage, or another citizen's.
        """
        if not _possible_id(tid):
            raise NotFound("no such triage")
        if ahead is None:
            with redis_errors():
                raw: Any = await self.client.get(keys.triage(tid))  # bytes: the client does not decode
                ahead = ReadAhead(raw)
        if ahead.raw is None:
            raise NotFound("no such triage (it may have expired; start again)")
        data = msgpack.unpackb(ahead.raw)
        if data["owner"] != who.uid:
            raise NotFound("no such triage")
        session = engine.load(self.kb, data["s"])
        return TriageState(tid, data["owner"], data["patient"], data["guardian"], data["lang"], session, data["case"])

    async def answer(
        self, who: Principal, tid: str, question: str, value: object, ahead: ReadAhead | None = None
    ) -> TriageState:
        state = await self._open(who, tid, ahead)
        changed = state.session.answer_to(question) is not None
        if changed:
            session = engine.change(self.kb, state.session, question, value)
        else:
            session = engine.answer(self.kb, state.session, question, value)
        state = replace(state, session=session)
        await self.save(state)
        return state

    async def back(self, who: Principal, tid: str, ahead: ReadAhead | None = None) -> TriageState:
        state = await self._open(who, tid, ahead)
        if not state.session.answers:
            raise Conflict("there is no earlier question")
        state = replace(state, session=replace(state.session, answers=state.session.answers[:-1]))
        await self.save(state)
        return state

    async def save(self, state: TriageState) -> None:
        blob = msgpack.packb(
            {
                "owner": state.owner_uid,
                "patient": state.patient_pnr,
                "guardian": state.guardian_pnr,
                "lang": state.lang,
                "s": engine.dump(state.session),
                "case": state.case_id,
            }
        )
        with redis_errors():
            await self.client.set(keys.triage(state.id), blob, ex=TRIAGE_TTL_S)

    async def _open(self, who: Principal, tid: str, ahead: ReadAhead | None) -> TriageState:
        state = await self.get(who, tid, ahead)
        if state.case_id:
            raise Conflict("this triage was already sent to the waiting room")
        return state

    def view(self, state: TriageState) -> dict[str, Any]:
        """The client's picture: the current question or the result."""
        question = engine.next_question(self.kb, state.session)
        outcome = engine.result(self.kb, state.session) if question is None else None
        return {
            "id": state.id,
            "entry": state.session.entry.value,
            "patient": {"age": state.session.patient.age, "for_child": bool(state.guardian_pnr)},
            "answered": len(state.session.answers),
            "question": question_view(question) if question else None,
            "result": result_view(outcome) if outcome else None,
            "case": state.case_id or None,
        }


def text(value: Text | None) -> dict[str, str] | None:
    return {"sv": value.sv, "en": value.en} if value is not None else None


def question_view(q: Question) -> dict[str, Any]:
    return {
        "id": q.id,
        "kind": q.kind.value,
        "text": text(q.text),
        "help": text(q.help),
        "options": [{"id": o.id, "text": text(o.text), "exclusive": o.exclusive} for o in q.options],
        "unit": text(q.unit),
        "minimum": q.minimum,
        "maximum": q.maximum,
    }


def result_view(r: engine.Result) -> dict[str, Any]:
    return {
        "reason": {"code": r.reason_code, "label": text(r.reason_label)},
        "level": r.level.name.lower(),
        "care_level": r.care_level.value,
        "urgency": int(r.urgency) if r.urgency is not None else None,
        "profession": r.profession.value,
        "visit": r.visit.name.lower(),
        "advice": text(r.advice),
        "red_flag": text(r.red_flag),
        "notes": [text(n) for n in r.notes],
        "summary": [{"question": text(q), "answer": text(a)} for q, a in r.summary],
        "kb_version": r.version,
    }
