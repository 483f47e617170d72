"""Triage sessions over HTTP: the pure engine, with its state kept in Redis.

Every call into triage that can refuse is inside ``as_direkt_errors()``: triage
raises its own errors (``direkt.triage.errors``), and they leave this module as
the server's ``TriageError`` (HTTP 422, the citizen's text) or ``KnowledgeBaseError``.

A triage session belongs to the logged-in citizen who started it; the patient
is the citizen or, for a guardian, their child (1–12 years, or under 6 in
child health care: the engine's age rules decide, and say why when they
refuse). Age (in months) and legal sex come from the personal identity
number (sex may be given as "other").
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo

import msgpack

from direkt.queue.ids import ulid
from direkt.queue.scripts import RedisClient, redis_errors
from direkt.server.care.casefile import CaseFile
from direkt.server.errors import BadRequest, Conflict, Forbidden, NotFound, as_direkt_errors
from direkt.server.identity.access import is_guardian
from direkt.server.identity.guardians import ChildrenOf
from direkt.server.identity.personnummer import Personnummer
from direkt.server.identity.sessions import Principal
from direkt.server.metrics import Metrics
from direkt.server.redis import keys
from direkt.server.region import RegionConfig
from direkt.triage import engine, loader
from direkt.triage.model import Entry, KnowledgeBase, QuestionKind, Respondent
from direkt.triage.outcome import Result, outcome
from direkt.triage.plain import Reader, question_view, result_view
from direkt.triage.session import SKIP, Answer, Asked, Patient, Session
from direkt.triage.walk import Walk, walk

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
    session: Session
    case_id: str = ""
    child_name: str = ""  # the child's first name, for texts in the guardian form

    @property
    def reader(self) -> Reader:
        return Reader(self.child_name or None) if self.guardian_pnr else Reader()


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


def age_in_months(pnr: str, today: dt.date) -> int:
    """Completed months of age on ``today``."""
    born = Personnummer.parse(pnr, today=today).birth_date
    months = (today.year - born.year) * 12 + today.month - born.month
    return months - (today.day < born.day)


async def keep_knowledge(client: RedisClient, kb: KnowledgeBase) -> bool:
    """Keep a snapshot of the knowledge base this process serves (once per version), so that
    a case triaged with it can be replayed after the knowledge base has changed."""
    with redis_errors():
        stored: Any = await client.set(keys.triage_kb(kb.version), loader.snapshot(kb.files), nx=True)
    return bool(stored)


async def knowledge_for(client: RedisClient, version: str, current: KnowledgeBase) -> KnowledgeBase:
    """The knowledge base of ``version``: the current one, or a kept snapshot.

    Raises:
        NotFound: no snapshot of that version was kept.
        KnowledgeBaseError: the snapshot cannot be read.
    """
    if version == current.version:
        return current
    with redis_errors():
        blob: Any = await client.get(keys.triage_kb(version))
    if blob is None:
        raise NotFound(f"no snapshot of knowledge base {version} was kept")
    with as_direkt_errors():
        return loader.from_snapshot(blob)


async def replay_case(client: RedisClient, file: CaseFile, current: KnowledgeBase) -> dict[str, Any]:
    """Recompute a case's triage with the knowledge it was triaged with; compare with what was stored.

    Raises:
        Conflict: the case has no stored session (triaged before sessions were kept).
    """
    if not file.triage_session:
        raise Conflict("this case has no stored triage session")
    with as_direkt_errors():
        session = engine.parse(file.triage_session)
    kb = await knowledge_for(client, session.version, current)
    with as_direkt_errors():
        finished = engine.result(kb, engine.load(kb, file.triage_session))
    if finished is None:
        raise Conflict("the stored triage session is not finished")
    child = file.first_name if file.guardian_pnr else None
    view = result_view(kb, finished, Reader(child))
    fields = ("level", "care_level", "profession", "visit", "decided_by")
    stored = {k: file.triage.get(k) for k in fields}
    replayed = {k: view.get(k) for k in fields}
    return {"case": file.case_id, "kb_version": kb.version, "current": kb is current,
            "same": stored == replayed, "stored": stored, "replayed": replayed}  # fmt: skip


class TriageFlow:
    def __init__(
        self,
        client: RedisClient,
        kb: KnowledgeBase,
        config: RegionConfig,
        clock: Callable[[], int],
        metrics: Metrics,
    ) -> None:
        self.client = client
        self.kb = kb
        self.config = config
        self.clock = clock
        self.metrics = metrics

    def today(self) -> dt.date:
        return stockholm_date(self.clock())

    async def start(
        self,
        who: Principal,
        entry: str,
        child: str = "",
        sex: str = "",
        lang: str = "sv",
        relations: ChildrenOf | None = None,
    ) -> TriageState:
        """Raises BadRequest (bad entry, sex or lang), Forbidden (not the guardian), NotEligible (age rules).

        ``relations``: the guardian's children as the guardian source says now (``identity.guardians``);
        None: the region file's.
        """
        if who.is_staff:
            raise Forbidden("triage is for citizens")
        if lang not in LANGS:
            raise BadRequest("lang is sv or en")
        try:
            chosen = Entry(entry)
        except ValueError:
            raise BadRequest(f"entry must be one of {', '.join(e.value for e in Entry)}") from None
        patient_pnr, guardian_pnr, child_name = who.pnr, "", ""
        if child:
            child_pnr = Personnummer.parse(child, today=self.today()).digits
            if not is_guardian(relations or self.config, who.pnr, child_pnr):
                raise Forbidden("you can act only for your own children")
            patient_pnr, guardian_pnr = child_pnr, who.pnr
            listed = self.config.citizens.get(child_pnr)
            named = relations.children.get(child_pnr, "") if relations else ""
            child_name = named.split()[0] if named else (listed.first_name if listed else "")
        if sex and sex not in ("female", "male", "other"):
            raise BadRequest("sex must be female, male or other")
        months = age_in_months(patient_pnr, self.today())
        respondent = Respondent.GUARDIAN if guardian_pnr else Respondent.SELF
        with as_direkt_errors():
            session = engine.start(self.kb, chosen, Patient(months, sex or legal_sex(patient_pnr), respondent))
        tid = ulid(self.clock(), os.urandom(10))
        state = TriageState(tid, who.uid, patient_pnr, guardian_pnr, lang, session, child_name=child_name)
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
        with as_direkt_errors():
            session = engine.load(self.kb, data["s"])
        return TriageState(
            tid, data["owner"], data["patient"], data["guardian"], data["lang"], session, data["case"],
            data.get("name", ""),
        )  # fmt: skip

    async def answer(
        self, who: Principal, tid: str, question: str, value: object, ahead: ReadAhead | None = None
    ) -> TriageState:
        state = await self._open(who, tid, ahead)
        changed = state.session.answer_to(question) is not None
        with as_direkt_errors():
            # An answer to the question asked means the triage was not finished before; a change may have been.
            was_finished = changed and engine.result(self.kb, state.session) is not None
            if changed:
                session = engine.change(self.kb, state.session, question, value)
            else:
                session = engine.answer(self.kb, state.session, question, value)
            finished = None if was_finished else engine.result(self.kb, session)
        state = replace(state, session=session)
        await self.save(state)
        if finished is not None:  # counted when an answer brings the triage to a result, not on later reads
            self.metrics.triage.labels(finished.level.name.lower()).inc()
        return state

    async def back(self, who: Principal, tid: str, ahead: ReadAhead | None = None) -> TriageState:
        state = await self._open(who, tid, ahead)
        if not state.session.answers:
            raise Conflict("there is no earlier question")
        with as_direkt_errors():
            state = replace(state, session=engine.back(self.kb, state.session))
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
                "name": state.child_name,
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
        """The client's picture: the current question or the result, in the respondent's words."""
        with as_direkt_errors():
            walked = walk(self.kb, state.session)
            finished = outcome(self.kb, walked) if walked.done else None
        patient = state.session.patient
        return {
            "id": state.id,
            "entry": state.session.entry.value,
            "patient": {
                "age": patient.age,
                "age_months": patient.age_months,
                "for_child": bool(state.guardian_pnr),
                "name": state.child_name or None,
                "respondent": patient.respondent.value,
            },
            "answered": len(state.session.answers),
            "question": question_view(walked.pending, state.reader, self.kb) if walked.pending else None,
            "result": self.result(walked, finished, state.reader) if finished else None,
            "case": state.case_id or None,
        }

    def result(self, walked: Walk, finished: Result, reader: Reader) -> dict[str, Any]:
        view = result_view(self.kb, finished, reader)
        view["answers"] = photo_answers(view["answers"], walked.answered)
        return view


def photo_answers(answers: Sequence[dict[str, Any]], answered: Sequence[tuple[Asked, Answer]]) -> list[dict[str, Any]]:
    """The answers, those to photo questions marked ``photo``: "skipped" or "attached".

    A photo answer's own text is an internal value (a dash for "skip", else a
    photo reference); the console shows what the mark means instead. ``answers``
    is the result view of ``answered``: the same questions in the same order.
    """
    return [
        {**view, "photo": "skipped" if value == SKIP else "attached"}
        if asked.kind is QuestionKind.PHOTO
        else dict(view)
        for view, (asked, value) in zip(answers, answered, strict=True)
    ]
