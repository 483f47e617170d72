"""Which unit's queue a case goes to: pure, table-tested.

The rule, from the regions' description of 1177 direkt: a case goes first to
the citizen's own unit (the primary care centre answers weekdays 08–16); when
that unit is closed and the case's deadline falls before it opens, it goes to
1177 (which answers until 22:00), and at night or under load to the units the
region's overflow rules name (night and geographic collaboration).

As an algorithm: build the candidate chain — the home unit, then the targets
of its overflow rules whose condition holds now (a neighbouring centre under
load comes before 1177), then its fallbacks, breadth first — keep the units
that serve the skill, and pick the first that can take the case before its
deadline. When none can, pick the one that can
take it soonest (ties to the earlier in the chain), so a case is late by as
little as possible.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .hours import is_open, next_open_ms
from .model import Directory, OverflowRule, OverflowWhen, Skill, Unit
from .urgency import Urgency, deadline_ms


class RouteReason(enum.StrEnum):
    HOME = "home"  # the citizen's own unit can answer in time
    FALLBACK = "fallback"  # a fallback or overflow unit answers in time
    EARLIEST = "earliest"  # nobody is in time; the soonest available unit


@dataclass(frozen=True)
class RouteRequest:
    home_unit: str
    skill: Skill
    urgency: Urgency
    submitted_ms: int


@dataclass(frozen=True)
class Route:
    unit: Unit
    skill: Skill
    deadline_ms: int
    available_ms: int | None
    reason: RouteReason


class NoRoute(LookupError):
    """No unit in the chain serves the skill."""


def route(
    request: RouteRequest,
    directory: Directory,
    now_ms: int,
    waits: Mapping[tuple[str, Skill], int] | None = None,
) -> Route:
    """Choose the unit and skill queue for a case.

    Args:
        request: the case's home unit, skill, urgency and submission time.
        directory: units, hours, fallbacks and overflow rules.
        now_ms: the routing instant.
        waits: estimated queue wait (ms) per (unit, skill); missing means 0.

    Returns:
        The chosen queue, the case's deadline, and why it was chosen.

    Raises:
        KeyError: the home unit is unknown.
        NoRoute: no candidate unit serves the skill.
    """
    waits = waits or {}
    deadline = deadline_ms(request.submitted_ms, request.urgency)
    chain = [u for u in candidate_chain(request, directory, now_ms, waits) if request.skill in u.skills]
    if not chain:
        raise NoRoute(f"no unit reachable from {request.home_unit} serves {request.skill}")
    available = [_available_ms(u, request.skill, directory, now_ms, waits) for u in chain]
    for index, (unit, at) in enumerate(zip(chain, available, strict=True)):
        if at is not None and at <= deadline:
            reason = RouteReason.HOME if index == 0 and unit.id == request.home_unit else RouteReason.FALLBACK
            return Route(unit, request.skill, deadline, at, reason)
    known = [(at, index) for index, at in enumerate(available) if at is not None]
    if not known:
        return Route(chain[0], request.skill, deadline, None, RouteReason.EARLIEST)
    at, index = min(known)
    return Route(chain[index], request.skill, deadline, at, RouteReason.EARLIEST)


def candidate_chain(
    request: RouteRequest,
    directory: Directory,
    now_ms: int,
    waits: Mapping[tuple[str, Skill], int],
) -> list[Unit]:
    """Home, then fallbacks and applicable overflow targets, breadth first."""

    def successors(unit: Unit) -> list[str]:
        applicable = (
            r for r in directory.rules_from(unit.id) if _applies(r, unit, request.skill, directory, now_ms, waits)
        )
        return [*(rule.target for rule in applicable), *unit.fallback]

    return _breadth_first(directory.unit(request.home_unit), directory, successors)


def reachable_units(home: Unit, directory: Directory) -> list[Unit]:
    """Every unit a case from ``home`` could be routed to, whatever the time.

    The waiting room reads the queue waits of these before routing.
    """
    return _breadth_first(
        home, directory, lambda unit: [*(rule.target for rule in directory.rules_from(unit.id)), *unit.fallback]
    )


def _breadth_first(home: Unit, directory: Directory, successors: Callable[[Unit], list[str]]) -> list[Unit]:
    chain = [home]
    seen = {home.id}
    for unit in chain:  # the list grows while we walk it
        for unit_id in successors(unit):
            if unit_id not in seen:
                seen.add(unit_id)
                chain.append(directory.unit(unit_id))
    return chain


def _applies(
    rule: OverflowRule,
    source: Unit,
    skill: Skill,
    directory: Directory,
    now_ms: int,
    waits: Mapping[tuple[str, Skill], int],
) -> bool:
    if rule.skills is not None and skill not in rule.skills:
        return False
    if rule.window is not None and not is_open(rule.window, directory.calendar, now_ms):
        return False
    if rule.when is OverflowWhen.CLOSED:
        return not is_open(source.hours, directory.calendar, now_ms)
    if rule.when is OverflowWhen.BUSY:
        return waits.get((source.id, skill), 0) > rule.wait_over_ms
    return True


def _available_ms(
    unit: Unit,
    skill: Skill,
    directory: Directory,
    now_ms: int,
    waits: Mapping[tuple[str, Skill], int],
) -> int | None:
    opens = next_open_ms(unit.hours, directory.calendar, now_ms)
    return None if opens is None else opens + waits.get((unit.id, skill), 0)
