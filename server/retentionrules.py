"""Retention rules: how many days each kind of data is kept, with the legal floors.

Pure: values in, values out; the region file's ``[retention]`` table is checked
here (``region.py`` turns a problem into a ``ConfigError`` naming the key).

Floors (a rule may keep data longer, never shorter):

- Patient-record material is kept at least ten years (Patientdatalagen
  2008:355, 3 kap. 17 §: "minst tio år efter det att uppgiften fördes in").
  The chat transcript, the case file (triage summary, journal note, outcome),
  the photos sent in the chat and the bookings (a planned visit, with the
  patient's personnummer and name: "planerade åtgärder", 3 kap. 6 §) are that
  material: at least 3653 days (ten years with their leap days).
- The audit log of access to patient data is kept at least five years
  (HSLF-FS 2016:40, 4 kap. 9 §): at least 1827 days.
- Everything else (queue records, triage sessions that never became a case,
  the waiting-room event log) is not part of the record: at least one day, and
  kept no longer than its rule (data minimisation, GDPR art. 5.1 c and e).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

DAY_MS = 86_400_000
MAX_DAYS = 36_525  # a century: anything longer is a typo, not a policy
RECORD_FLOOR_DAYS = 3653  # Patientdatalagen 3 kap. 17 §: ten years
AUDIT_FLOOR_DAYS = 1827  # HSLF-FS 2016:40 4 kap. 9 §: five years


@dataclass(frozen=True)
class RetentionRules:
    """Days each kind of data is kept, counted from its last entry (see docs/operations.md).

    Attributes:
        transcripts: a case's chat stream, from its last message.
        case_files: a case file, from its last change (created, chat opened, closed).
        photos: a photo sent in a chat, from its upload.
        bookings: a booked (or cancelled) visit, from the visit's end; with it go its slot,
            calendar and owner-index entries and a vaccination triage's link to it.
        queue_records: a finished case's waiting-room record, from when it closed,
            was abandoned or moved (a live case's record is never removed).
        triage_sessions: a triage in progress (the case file keeps its own copy),
            from its start; it also lapses after two hours unused.
        event_log: the waiting room's event log (the statistics' source), per entry.
        audit: the access log, per record.
    """

    transcripts: int = RECORD_FLOOR_DAYS
    case_files: int = RECORD_FLOOR_DAYS
    photos: int = RECORD_FLOOR_DAYS
    bookings: int = RECORD_FLOOR_DAYS
    queue_records: int = 90
    triage_sessions: int = 1
    event_log: int = 400
    audit: int = AUDIT_FLOOR_DAYS

    def days(self, kind: str) -> int:
        """The rule for ``kind`` (one of ``KINDS``)."""
        return int(getattr(self, kind))

    def cutoff_ms(self, kind: str, now_ms: int) -> int:
        """Data of ``kind`` whose reference time is below this has expired at ``now_ms``."""
        return now_ms - self.days(kind) * DAY_MS

    def expired(self, kind: str, reference_ms: int, now_ms: int) -> bool:
        """Whether an item of ``kind`` last written at ``reference_ms`` has passed its rule."""
        return reference_ms < self.cutoff_ms(kind, now_ms)


KINDS: tuple[str, ...] = tuple(f.name for f in fields(RetentionRules))
RECORD_KINDS = frozenset({"transcripts", "case_files", "photos", "bookings"})
FLOORS: Mapping[str, int] = {
    kind: RECORD_FLOOR_DAYS if kind in RECORD_KINDS else AUDIT_FLOOR_DAYS if kind == "audit" else 1 for kind in KINDS
}
SOURCES: Mapping[str, str] = {
    kind: "Patientdatalagen 3 kap. 17 §"
    if kind in RECORD_KINDS
    else "HSLF-FS 2016:40 4 kap. 9 §"
    if kind == "audit"
    else "not patient-record material"
    for kind in KINDS
}


class RetentionProblem(ValueError):
    """A retention rule breaks a floor; ``key`` names it (``retention.audit``)."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


def build_rules(days: Mapping[str, int]) -> RetentionRules:
    """Rules from the region file's ``[retention]`` table (absent kinds keep their default).

    Raises:
        RetentionProblem: an unknown kind, a value that is not a whole number of days,
            or a value below the kind's legal floor or above ``MAX_DAYS``.
    """
    for kind, value in days.items():
        key = f"retention.{kind}"
        if kind not in KINDS:
            raise RetentionProblem(key, f"unknown kind of data; use {list(KINDS)}")
        if isinstance(value, bool) or not isinstance(value, int):
            raise RetentionProblem(key, "must be a whole number of days")
        if value < FLOORS[kind]:
            raise RetentionProblem(key, f"must be at least {FLOORS[kind]} days ({SOURCES[kind]})")
        if value > MAX_DAYS:
            raise RetentionProblem(key, f"must be at most {MAX_DAYS} days")
    return RetentionRules(**days)
