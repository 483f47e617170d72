"""Where a held case can be transferred: pure rules over the directory.

A unit can take a patient unless its kind is for an age group the patient is
not in: child health care is for children under 6 (``access.CHILD_HEALTH_MAX_AGE``),
the youth clinic for ages 13–23 (the triage's own entry rule). The transfer
dialog lists only the units that can, each with whether it is open now (else
when it opens) and how many wait in each of its queues.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from direkt.queue.hours import HolidayCalendar, is_open, next_open_ms
from direkt.queue.model import Skill, Unit, UnitKind
from direkt.server.identity.access import CHILD_HEALTH_MAX_AGE

YOUTH_CLINIC_AGES = range(13, 24)  # 13–23, as the triage's youth-clinic entry


def takes_patient(kind: UnitKind, age: int | None) -> bool:
    """Whether a unit of ``kind`` takes a patient of ``age`` (None: unknown, so any unit)."""
    if age is None:
        return True
    if kind is UnitKind.CHILD_HEALTH:
        return 0 <= age < CHILD_HEALTH_MAX_AGE
    if kind is UnitKind.YOUTH_CLINIC:
        return age in YOUTH_CLINIC_AGES
    return True


def transfer_targets(
    units: Iterable[Unit],
    depths: Mapping[tuple[str, Skill], int],
    calendar: HolidayCalendar,
    now_ms: int,
    age: int | None = None,
) -> list[dict[str, Any]]:
    """The units that take a patient of ``age``, by name (Swedish order), as the transfer dialog shows them.

    Returns:
        One view per unit: id, name, region, kind, skills, ``open`` (now),
        ``opens_ms`` (the next opening when closed, None when open or not
        within the horizon) and ``waiting`` (cases per skill).
    """
    fitting = [u for u in units if takes_patient(u.kind, age)]
    return [unit_view(u, depths, calendar, now_ms) for u in sorted(fitting, key=lambda u: (swedish_key(u.name), u.id))]


def unit_view(
    unit: Unit, depths: Mapping[tuple[str, Skill], int], calendar: HolidayCalendar, now_ms: int
) -> dict[str, Any]:
    open_now = is_open(unit.hours, calendar, now_ms)
    return {
        "unit": unit.id,
        "name": unit.name,
        "region": unit.region,
        "kind": str(unit.kind),
        "skills": sorted(unit.skills),
        "open": open_now,
        "opens_ms": None if open_now else next_open_ms(unit.hours, calendar, now_ms),
        "waiting": {s.value: depths.get((unit.id, s), 0) for s in sorted(unit.skills)},
    }


# Å, Ä, Ö come after Z in Swedish; Python's default order would put them elsewhere.
_SWEDISH = str.maketrans({"å": "{", "ä": "|", "ö": "}", "Å": "{", "Ä": "|", "Ö": "}"})


def swedish_key(name: str) -> str:
    return name.casefold().translate(_SWEDISH)
