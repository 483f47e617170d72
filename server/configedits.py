"""What an administrator changes in the configuration document, as pure functions.

Each edit takes the region file's document (``RegionFile``) and returns a new
one; ``liveconfig.LiveConfig.write`` validates it with the region file's own
validator and stores it. Views leave out what no browser needs (password hashes).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any, TypeVar

import msgspec

from direkt.queue.model import Skill, UnitKind
from direkt.server.region import OverflowSpec, RegionFile, StaffSpec, TemplateSpec, UnitSpec

Item = TypeVar("Item", StaffSpec, UnitSpec, TemplateSpec)
_INDEXED = re.compile(r"^(staff|units|templates|overflow)\[(\d+)\]\.?(.*)$")


def put_staff(spec: RegionFile, member: StaffSpec) -> RegionFile:
    """``member`` replaces the staff member with their id, or joins the list."""
    return msgspec.structs.replace(spec, staff=_put(spec.staff, member))


def put_unit(spec: RegionFile, unit: UnitSpec, overflow: Sequence[OverflowSpec]) -> RegionFile:
    """``unit`` replaces the unit with its id (or joins), with ``overflow`` as its rules from it."""
    rules = [r for r in spec.overflow if r.source != unit.id] + list(overflow)
    return msgspec.structs.replace(spec, units=_put(spec.units, unit), overflow=rules)


def remove_unit(spec: RegionFile, unit_id: str) -> RegionFile:
    """Without the unit and its rules from it (staff, rules to it and fallbacks must let go first)."""
    return msgspec.structs.replace(
        spec,
        units=[u for u in spec.units if u.id != unit_id],
        overflow=[r for r in spec.overflow if r.source != unit_id],
    )


def put_template(spec: RegionFile, template: TemplateSpec) -> RegionFile:
    return msgspec.structs.replace(spec, templates=_put(spec.templates, template))


def remove_template(spec: RegionFile, template_id: str) -> RegionFile:
    return msgspec.structs.replace(spec, templates=[t for t in spec.templates if t.id != template_id])


def with_closed_day(spec: RegionFile, unit_id: str, day: dt.date, *, closed: bool) -> RegionFile:
    """The unit closed (or open again) on ``day``; closure days kept sorted and unique."""
    unit = find(spec.units, unit_id)
    assert unit is not None  # callers look the unit up first (404)
    days = set(unit.closed_days) | {day} if closed else set(unit.closed_days) - {day}
    return msgspec.structs.replace(
        spec, units=_put(spec.units, msgspec.structs.replace(unit, closed_days=sorted(days)))
    )


def find(items: Sequence[Item], item_id: str) -> Item | None:
    return next((item for item in items if item.id == item_id), None)


def _put(items: Sequence[Item], item: Item) -> list[Item]:
    out = list(items)
    for index, existing in enumerate(out):
        if existing.id == item.id:
            out[index] = item
            return out
    out.append(item)
    return out


def field_of(key: str, collection: str, item_id: str, spec: RegionFile) -> str:
    """A validator's key (``staff[3].units[0]``) as the edited item's field (``units[0]``), else as is."""
    match = _INDEXED.match(key)
    if match is None or match[1] != collection:
        return key
    items: Sequence[Any] = getattr(spec, collection)
    index = int(match[2])
    if index < len(items) and getattr(items[index], "id", None) == item_id:
        return match[3] or "id"
    return key


# -- views ---------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    return msgspec.to_builtins(value)


def staff_view(member: StaffSpec) -> dict[str, Any]:
    view: dict[str, Any] = _plain(member)
    view.pop("password_hash", None)
    view["has_password"] = member.password_hash is not None
    return view


def unit_view(unit: UnitSpec, spec: RegionFile) -> dict[str, Any]:
    view: dict[str, Any] = _plain(unit)
    view["overflow"] = [_rule_view(r) for r in spec.overflow if r.source == unit.id]
    return view


def _rule_view(rule: OverflowSpec) -> dict[str, Any]:
    view: dict[str, Any] = _plain(rule)
    view.pop("from", None)
    return {k: v for k, v in view.items() if v is not None}


def config_view(spec: RegionFile, version: int) -> dict[str, Any]:
    """The whole configuration an administrator edits, with the version to edit against."""
    return {
        "version": version,
        "regions": {rid: r.name for rid, r in spec.regions.items()},
        "kinds": [k.value for k in UnitKind],
        "skills": [s.value for s in Skill],
        "staff": [staff_view(s) for s in spec.staff],
        "units": [unit_view(u, spec) for u in spec.units],
        "templates": [_plain(t) for t in spec.templates],
    }
