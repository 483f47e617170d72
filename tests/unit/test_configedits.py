"""The administrator's edits of the configuration document, as pure functions (server/configedits.py),
and the export's TOML (server/configcli.py)."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest
from support import HUB_CONFIG

from direkt.server.configcli import to_toml
from direkt.server.configedits import (
    config_view,
    field_of,
    find,
    put_staff,
    put_unit,
    remove_template,
    remove_unit,
    staff_view,
    with_closed_day,
)
from direkt.server.errors import ConfigError
from direkt.server.region import (
    DEMO_CONFIG,
    OverflowSpec,
    RegionFile,
    build_region_config,
    load_region_config,
    parse_region_config,
)

HUB = load_region_config(HUB_CONFIG).spec
DEMO = load_region_config(DEMO_CONFIG).spec
assert HUB is not None and DEMO is not None


def test_a_staff_member_is_replaced_in_place_or_added_at_the_end() -> None:
    olle = find(HUB.staff, "nurse-2")
    assert olle is not None
    edited = put_staff(HUB, msgspec.structs.replace(olle, max_chats=3))
    assert [s.id for s in edited.staff] == [s.id for s in HUB.staff]
    assert find(edited.staff, "nurse-2").max_chats == 3  # type: ignore[union-attr]
    added = put_staff(HUB, msgspec.structs.replace(olle, id="nurse-9"))
    assert [s.id for s in added.staff] == [*(s.id for s in HUB.staff), "nurse-9"]
    assert HUB.staff[1].max_chats == 2  # the document itself never changes


def test_a_units_rules_are_replaced_with_the_unit_and_go_with_it() -> None:
    unit = find(DEMO.units, "1177-vm")
    assert unit is not None
    rule = OverflowSpec("1177-vm", "1177-up", "always")  # type: ignore[arg-type]
    edited = put_unit(DEMO, unit, [rule])
    assert [r for r in edited.overflow if r.source == "1177-vm"] == [rule]
    assert len(edited.overflow) == len(DEMO.overflow)  # its one rule replaced, the others kept
    gone = remove_unit(edited, "vc-sala")
    assert find(gone.units, "vc-sala") is None
    with pytest.raises(ConfigError) as refused:  # staff still serve it
        build_region_config(remove_unit(DEMO, "vc-sala"), "test")
    assert refused.value.key.startswith("staff[")


def test_closure_days_stay_sorted_and_unique_and_come_off_again() -> None:
    later, sooner = dt.date(2031, 3, 1), dt.date(2031, 1, 2)
    spec = with_closed_day(with_closed_day(HUB, "vc-t", later, closed=True), "vc-t", sooner, closed=True)
    spec = with_closed_day(spec, "vc-t", later, closed=True)
    assert find(spec.units, "vc-t").closed_days == [sooner, later]  # type: ignore[union-attr]
    spec = with_closed_day(spec, "vc-t", sooner, closed=False)
    assert find(spec.units, "vc-t").closed_days == [later]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("key", "collection", "item", "field"),
    [
        ("staff[1].units[0]", "staff", "nurse-2", "units[0]"),
        ("staff[1].max_chats", "staff", "nurse-2", "max_chats"),
        ("staff[1]", "staff", "nurse-2", "id"),
        ("staff[0].units[0]", "staff", "nurse-2", "staff[0].units[0]"),  # another member: the whole key
        ("units[1].hours.mon-fri", "units", "vc-t", "hours.mon-fri"),
        ("overflow[0].to", "units", "vc-t", "overflow[0].to"),
        ("default_home_unit", "units", "vc-t", "default_home_unit"),
    ],
)
def test_a_validator_key_becomes_the_edited_items_field(key: str, collection: str, item: str, field: str) -> None:
    assert field_of(key, collection, item, HUB) == field


def test_views_leave_out_password_hashes() -> None:
    view = config_view(HUB, 4)
    assert view["version"] == 4 and "1177" in view["kinds"] and "nurse" in view["skills"]
    assert all("password_hash" not in s and s["has_password"] for s in view["staff"])
    assert staff_view(HUB.staff[0])["units"] == ["vc-t", "1177-t"]
    assert [t["id"] for t in config_view(remove_template(HUB, "greeting"), 4)["templates"]] == ["other-unit"]


@pytest.mark.parametrize("spec", [HUB, DEMO], ids=["hub", "demo"])
def test_the_exported_toml_reads_back_as_the_same_document(spec: RegionFile) -> None:
    text = to_toml(spec)
    assert "null" not in text and "None" not in text
    assert parse_region_config(text.encode(), "exported").spec == spec
