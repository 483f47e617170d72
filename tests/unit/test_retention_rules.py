"""Retention rules (``[retention]`` in the region file): the documented defaults, a region's own
longer rules, and every rule below its legal floor refused at start as a ``ConfigError`` naming
the key (Patientdatalagen 3 kap. 17 §: the record ten years; HSLF-FS 2016:40: the audit five)."""

from __future__ import annotations

from pathlib import Path

import msgpack
import pytest

from direkt.queue.ids import new_case_id, ulid, ulid_ms
from direkt.server.care.bookingdata import booking_time, link_target, split_key
from direkt.server.care.photos import photo_key_id, photo_time
from direkt.server.care.retention import case_created_ms, file_time, photo_key_time, queue_record_time, stream_time
from direkt.server.errors import ConfigError
from direkt.server.redis import keys
from direkt.server.region import DEMO_CONFIG, load_region_config, parse_region_config
from direkt.server.retentionrules import DAY_MS, FLOORS, KINDS, RetentionRules

SOURCE = "regions/retention.toml"
BASE = """\
default_home_unit = "vc-a"

[regions.a]
name = "Region A"

[[units]]
id = "vc-a"
region = "a"
name = "Vardcentral A"
kind = "primary_care"
skills = ["nurse"]
hours = { daily = "00:00-24:00" }
"""


def rules(table: str) -> RetentionRules:
    return parse_region_config((BASE + "\n[retention]\n" + table).encode(), SOURCE).retention


def test_a_file_without_retention_gets_the_documented_defaults() -> None:
    config = parse_region_config(BASE.encode(), SOURCE)
    assert config.retention == RetentionRules()
    assert {kind: config.retention.days(kind) for kind in KINDS} == {
        "transcripts": 3653, "case_files": 3653, "photos": 3653, "bookings": 3653, "queue_records": 90,
        "triage_sessions": 1, "event_log": 400, "audit": 1827,
    }  # fmt: skip


def test_the_demo_region_states_its_rules() -> None:
    config = load_region_config(DEMO_CONFIG)
    assert config.retention.audit >= 1827 and config.retention.transcripts >= 3653


def test_a_region_may_keep_longer_and_the_rest_keep_their_defaults() -> None:
    got = rules("audit = 3653\ntranscripts = 7305\nqueue_records = 30\n")
    assert (got.audit, got.transcripts, got.queue_records, got.case_files) == (3653, 7305, 30, 3653)


@pytest.mark.parametrize(
    ("table", "key", "problem"),
    [
        ("audit = 1826", "retention.audit", "at least 1827 days (HSLF-FS 2016:40"),
        ("transcripts = 90", "retention.transcripts", "at least 3653 days (Patientdatalagen 3 kap. 17 §)"),
        ("case_files = 3652", "retention.case_files", "at least 3653 days (Patientdatalagen"),
        ("photos = 1", "retention.photos", "at least 3653 days"),
        ("bookings = 3652", "retention.bookings", "at least 3653 days (Patientdatalagen 3 kap. 17 §)"),
        ("triage_sessions = 0", "retention.triage_sessions", "at least 1 days"),
        ("event_log = -5", "retention.event_log", "at least 1 days"),
        ("queue_records = 99999", "retention.queue_records", "at most 36525 days"),
        ("chats = 30", "retention", "unknown field `chats`"),
        ("audit = 1827.5", "retention.audit", "expected `int`"),
        ('audit = "five years"', "retention.audit", "expected `int`"),
    ],
)
def test_a_rule_below_its_floor_or_malformed_is_refused_naming_the_key(table: str, key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        rules(table + "\n")
    assert info.value.key == key
    assert problem in info.value.problem


def test_every_floor_is_a_rule_default_or_below() -> None:
    defaults = RetentionRules()
    assert all(FLOORS[kind] <= defaults.days(kind) for kind in KINDS)


def test_the_cutoff_counts_whole_days_back_from_now() -> None:
    now = 2_000_000_000_000
    assert RetentionRules().cutoff_ms("audit", now) == now - 1827 * DAY_MS


def test_config_check_reports_a_short_audit_rule(tmp_path: Path) -> None:
    path = tmp_path / "region.toml"
    path.write_text(BASE + "\n[retention]\naudit = 365\n")
    with pytest.raises(ConfigError) as info:
        load_region_config(path)
    assert str(info.value).startswith(f"{path}: retention.audit: must be at least 1827 days")


# How the job dates each item (server/care/retention.py, server/care/photos.py): pure helpers.


def test_a_ulid_gives_back_the_time_it_was_made_with() -> None:
    for ms in (0, 1, 1_790_000_000_123, (1 << 48) - 1):
        assert ulid_ms(ulid(ms, bytes(10))) == ms
    for bad in ("", "0" * 25, "U" * 26):  # too short; U is not Crockford base 32
        with pytest.raises(ValueError):
            ulid_ms(bad)


def test_a_photo_is_dated_by_its_id_or_else_by_its_case() -> None:
    case = new_case_id("a", 1_700_000_000_000, bytes(10))
    assert photo_time(photo_key_id(1_790_000_000_000, bytes(10))) == 1_790_000_000_000
    assert photo_time("p3f9a0c1d2b4e5f60") is None  # an older id, without a time
    assert photo_key_time(f"dk:photo:{{{case}}}:p3f9a0c1d2b4e5f60") == 1_700_000_000_000
    assert case_created_ms("not-a-case") == 0


def test_a_queue_record_is_dated_when_it_ended_and_a_live_one_never() -> None:
    assert queue_record_time(b"closed", b"500", b"100", b"50") == 500
    for live in (b"waiting", b"claimed", b"moving", b"moved"):  # "moved": the pointer to where the case now is
        assert queue_record_time(live, b"", b"100", b"50") is None


def test_a_case_file_is_dated_by_its_last_change_and_an_unreadable_one_by_its_id() -> None:
    case = new_case_id("a", 1_700_000_000_000, bytes(10))
    packed = msgpack.packb({"created_ms": 10, "ready_ms": 30, "joined_ms": 40, "closed_ms": 0})
    assert file_time(packed, case) == 40
    assert file_time(b"\xc1", case) == 1_700_000_000_000
    assert stream_time(b"1790000000000-3") == 1_790_000_000_000


def test_a_booking_is_dated_by_its_latest_time_and_one_without_any_by_zero() -> None:
    assert booking_time([b"1790000000000", b"1700000000000", None]) == 1_790_000_000_000  # the visit's end
    assert booking_time([b"100", b"50", b"900"]) == 900  # cancelled after its time (a late record)
    assert booking_time([None, b"", b"soon"]) == 0  # nothing readable: never kept for ever


def test_a_booking_key_names_its_unit_and_id_and_a_link_its_booking() -> None:
    assert split_key(keys.booking("vc-a1", "vc-a1.AbC123")) == ("vc-a1", "vc-a1.AbC123")
    assert split_key(keys.booking_slots("vc-a1")) is None
    assert split_key("dk:{bk:}:b:x") is None
    assert link_target(b"vc-a1.AbC123 vc-a1 1790000000000") == ("vc-a1.AbC123", "vc-a1", 1_790_000_000_000)
    assert link_target(b"garbled") is None and link_target(None) is None
