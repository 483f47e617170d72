"""Who may see and do what: pure rules, one place.

* A citizen sees their own cases and those of their children: 1–12 years,
  or under 6 in child health care (guardian relations from a ``Relations``:
  the region file, or the guardian register as asked at this access,
  ``identity.guardians``; DESIGN "a guardian may act for a child aged 1–12
  only"; child health is for children under 6).
* Staff see the cases of the units they serve (a case held in a unit since
  taken from them included: its lease ends when their console reconnects).
* Only the holder of a case writes in its chat as staff; a citizen writes
  only after a nurse has opened the chat and before it is closed.
* A refusal to see a case is audited like a granted access (TARGETS 16):
  ``citizen_denial`` is the record of a citizen's or guardian's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Protocol

from direkt.queue.model import Staff
from direkt.queue.records import CaseRecord
from direkt.server.care.audit import AuditRecord
from direkt.server.care.casefile import CaseFile
from direkt.server.errors import Conflict, Forbidden, NotFound, NotHolder
from direkt.server.identity.personnummer import Personnummer
from direkt.server.identity.sessions import Principal

GUARDIAN_MIN_AGE = 1
GUARDIAN_MAX_AGE = 12
CHILD_HEALTH = "child_health"
CHILD_HEALTH_MAX_AGE = 6


class Relations(Protocol):
    """Who a child's guardians are: ``RegionConfig`` (the demo file) or ``guardians.ChildrenOf``."""

    def guardians_of(self, child_pnr: str) -> Collection[str]: ...


def is_guardian(config: Relations, guardian_pnr: str, child_pnr: str) -> bool:
    return guardian_pnr in config.guardians_of(child_pnr)


def may_act_for(config: Relations, guardian_pnr: str, child_pnr: str, today: dt.date, entry: str = "") -> bool:
    """A guardian acts for their own child aged 1–12 today (under 6 in child health care)."""
    if not is_guardian(config, guardian_pnr, child_pnr):
        return False
    age = Personnummer.parse(child_pnr, today=today).age_on(today)
    if entry == CHILD_HEALTH:
        return 0 <= age < CHILD_HEALTH_MAX_AGE
    return GUARDIAN_MIN_AGE <= age <= GUARDIAN_MAX_AGE


def check_citizen_may_see(config: Relations, who: Principal, file: CaseFile, today: dt.date) -> None:
    """Raises NotFound (not Forbidden: another citizen's case must not be confirmed to exist)."""
    if who.is_staff:
        raise Forbidden("staff read cases through the console")
    if file.patient_pnr == who.pnr:
        return
    if file.guardian_pnr and may_act_for(config, who.pnr, file.patient_pnr, today, file.entry):
        return
    raise NotFound("no such case")


def citizen_denial(
    config: Relations, who: Principal, file: CaseFile, action: str, ts_ms: int, code: str
) -> AuditRecord:
    """The audit record of ``check_citizen_may_see`` refusing ``who`` the case ``file`` for ``action``.

    The record is about the case (its patient and guardian, as a staff
    member's is), so that the patient's log extract shows the attempt. The
    role says how the user stands to the patient: "guardian" (of a child they
    may no longer act for), "citizen", or "staff" on the citizens' endpoints.
    """
    role = "staff" if who.is_staff else "guardian" if is_guardian(config, who.pnr, file.patient_pnr) else "citizen"
    actor = who.staff_id if who.is_staff else who.uid
    return AuditRecord(
        ts_ms, actor, role, "", action, file.case_id, file.patient_pnr, file.guardian_pnr, "denied", code
    )  # fmt: skip


def check_staff_may_see(staff: Staff, record: CaseRecord) -> None:
    """Only the units she serves now: holding a case of a unit since taken from her is no right to it."""
    if record.unit in staff.units:
        return
    raise Forbidden("the case belongs to a unit you do not serve")


def check_staff_holds(staff: Staff, record: CaseRecord) -> None:
    if record.state != "claimed" or record.holder != staff.id:
        raise NotHolder("you do not hold this case; claim it first")


def check_citizen_may_write(file: CaseFile) -> None:
    if file.closed_ms:
        raise Conflict("the chat is closed")
    if not file.ready_ms:
        raise Conflict("the chat opens when a nurse takes your case; you will be told")
