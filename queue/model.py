"""The care directory: regions, units, staff and overflow rules, as values.

Loaded and validated from the region configuration file by
``direkt.server.region``; everything here is immutable and free of I/O so the
routing and the waiting room can be tested with plain values.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from .hours import HolidayCalendar, WeeklyHours


class UnitKind(enum.StrEnum):
    PRIMARY_CARE = "primary_care"  # vårdcentral
    ADVICE_1177 = "1177"  # 1177 sjukvårdsrådgivning
    YOUTH_CLINIC = "youth_clinic"  # ungdomsmottagning
    CHILD_HEALTH = "child_health"  # barnhälsovård (BVC)
    VACCINATION = "vaccination"
    ADMIN = "admin"


class Skill(enum.StrEnum):
    """What a queue needs: a profession, or a task some professions do."""

    NURSE = "nurse"
    DOCTOR = "doctor"
    PSYCHOLOGIST = "psychologist"
    PHYSIOTHERAPIST = "physiotherapist"
    MIDWIFE = "midwife"
    ADMINISTRATOR = "administrator"
    VACCINATION = "vaccination"


class OverflowWhen(enum.StrEnum):
    ALWAYS = "always"  # the target is always a candidate after the source
    CLOSED = "closed"  # night collaboration: when the source is closed
    BUSY = "busy"  # geographic collaboration: when the source's wait is long


@dataclass(frozen=True)
class Region:
    id: str
    name: str


@dataclass(frozen=True)
class Unit:
    id: str
    region: str
    name: str
    kind: UnitKind
    skills: frozenset[Skill]
    hours: WeeklyHours
    fallback: tuple[str, ...] = ()
    pick_from_list: bool = False


@dataclass(frozen=True)
class OverflowRule:
    """Cases for ``source`` may go to ``target`` under a condition.

    Args:
        window: when set, the rule applies only while this schedule is open
            (e.g. nights only).
        wait_over_ms: for ``BUSY``, the source's estimated wait that triggers it.
        skills: when set, the rule applies to these skills only.
    """

    source: str
    target: str
    when: OverflowWhen
    window: WeeklyHours | None = None
    wait_over_ms: int = 0
    skills: frozenset[Skill] | None = None


@dataclass(frozen=True)
class Staff:
    id: str
    name: str
    profession: Skill
    units: tuple[str, ...]
    skills: frozenset[Skill]
    max_chats: int
    roles: frozenset[str] = frozenset()  # "supervisor", "admin": duties besides chatting

    def supervises(self, unit_id: str) -> bool:
        """A supervisor steers the units they belong to; an administrator all of them."""
        return "admin" in self.roles or ("supervisor" in self.roles and unit_id in self.units)


@dataclass(frozen=True)
class Directory:
    """Everything routing and claiming need to know about the organisation."""

    regions: Mapping[str, Region]
    units: Mapping[str, Unit]
    staff: Mapping[str, Staff]
    overflow: tuple[OverflowRule, ...]
    calendar: HolidayCalendar = field(compare=False)

    def unit(self, unit_id: str) -> Unit:
        """Raises KeyError for an unknown unit (callers turn it into UnknownQueue)."""
        return self.units[unit_id]

    def rules_from(self, unit_id: str) -> Iterator[OverflowRule]:
        return (rule for rule in self.overflow if rule.source == unit_id)

    def queues_of(self, staff: Staff) -> list[tuple[Unit, Skill]]:
        """The (unit, skill) queues a staff member serves, own units first."""
        return [
            (unit, skill)
            for unit in (self.units[u] for u in staff.units)
            for skill in sorted(staff.skills & unit.skills)
        ]
