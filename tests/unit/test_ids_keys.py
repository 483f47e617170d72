"""Case ids (``<region>.<ULID>``) and the Redis key layout of a region."""

from __future__ import annotations

import inspect

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from redis.crc import key_slot

from direkt.queue.ids import new_case_id, ulid
from direkt.queue.keys import ID_PATTERN, RegionKeys, case_region, events_channel

CROCKFORD = set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
MAX_MS = (1 << 48) - 1

TIMES = st.integers(min_value=0, max_value=MAX_MS)
ENTROPY = st.binary(min_size=10, max_size=10)
REGIONS = st.from_regex(r"[a-z0-9][a-z0-9-]{0,62}", fullmatch=True)
NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-._:", min_size=1, max_size=20)


# --- ULIDs and case ids ----------------------------------------------------------


def test_ulid_known_values() -> None:
    # the timestamp of the ULID specification's example, 01ARYZ6S41…
    assert ulid(1469918176385, bytes(10)) == "01ARYZ6S41" + "0" * 16
    assert ulid(0, bytes(10)) == "0" * 26
    assert ulid(MAX_MS, b"\xff" * 10) == "7" + "Z" * 25
    assert ulid(0, bytes(9) + b"\x01") == "0" * 25 + "1"


@given(now_ms=TIMES, entropy=ENTROPY)
def test_ulid_is_26_crockford_characters(now_ms: int, entropy: bytes) -> None:
    value = ulid(now_ms, entropy)
    assert len(value) == 26
    assert set(value) <= CROCKFORD


@given(t1=TIMES, t2=TIMES, e1=ENTROPY, e2=ENTROPY)
def test_ulids_sort_by_time(t1: int, t2: int, e1: bytes, e2: bytes) -> None:
    assume(t1 != t2)
    (t1, e1), (t2, e2) = sorted([(t1, e1), (t2, e2)], key=lambda pair: pair[0])
    assert ulid(t1, e1) < ulid(t2, e2)


@given(now_ms=TIMES, e1=ENTROPY, e2=ENTROPY)
def test_ulids_of_the_same_millisecond_sort_by_entropy(now_ms: int, e1: bytes, e2: bytes) -> None:
    assert (ulid(now_ms, e1) < ulid(now_ms, e2)) == (e1 < e2)
    assert (ulid(now_ms, e1) == ulid(now_ms, e2)) == (e1 == e2)


@pytest.mark.parametrize("size", [0, 9, 11, 16])
def test_ulid_rejects_entropy_of_the_wrong_length(size: int) -> None:
    with pytest.raises(ValueError, match="10 bytes"):
        ulid(1795424400000, bytes(size))


@given(region=REGIONS, now_ms=TIMES, entropy=ENTROPY)
def test_case_id_round_trip(region: str, now_ms: int, entropy: bytes) -> None:
    assert ID_PATTERN.match(region)  # a region id the configuration accepts
    case_id = new_case_id(region, now_ms, entropy)
    assert case_id == f"{region}.{ulid(now_ms, entropy)}"
    assert case_region(case_id) == region


@given(region=REGIONS, t1=TIMES, t2=TIMES, entropy=ENTROPY)
def test_case_ids_of_a_region_sort_by_submission(region: str, t1: int, t2: int, entropy: bytes) -> None:
    assume(t1 != t2)
    earlier, later = sorted([t1, t2])
    assert new_case_id(region, earlier, entropy) < new_case_id(region, later, entropy)


@pytest.mark.parametrize(
    "case_id",
    [
        "",
        "vm",
        "vm.",
        ".01ARYZ6S41TSV4RRFFQ69G5FAV",
        "VM.01ARYZ6S41TSV4RRFFQ69G5FAV",
        "-vm.01ARYZ6S41TSV4RRFFQ69G5FAV",
        "v_m.01ARYZ6S41TSV4RRFFQ69G5FAV",
        "vm 01ARYZ6S41TSV4RRFFQ69G5FAV",
        "vm:01ARYZ6S41TSV4RRFFQ69G5FAV",
        "vm.01ARYZ6S41.TSV4RRFFQ69G5FAV",
        "vm.01ARYZ6S41-TSV4RRFFQ69G5FAV",
        "vm.01ARYZ6S41TSV4RRFFQ69G5FAV ",
        " vm.01ARYZ6S41TSV4RRFFQ69G5FAV",
        "{vm}.01ARYZ6S41TSV4RRFFQ69G5FAV",
        "a" * 64 + ".01ARYZ6S41TSV4RRFFQ69G5FAV",
        "vm." + "A" * 41,
    ],
)
def test_case_region_rejects_malformed_ids(case_id: str) -> None:
    with pytest.raises(ValueError, match="not a case id"):
        case_region(case_id)


def test_case_region_rejects_a_trailing_newline() -> None:
    with pytest.raises(ValueError):
        case_region("vm.01ARYZ6S41TSV4RRFFQ69G5FAV\n")


def test_case_region_of_a_demo_style_id() -> None:
    assert case_region("vm.01ARYZ6S41TSV4RRFFQ69G5FAV") == "vm"
    assert case_region("1177-up.01ARYZ6S41TSV4RRFFQ69G5FAV") == "1177-up"


# --- Redis keys ---------------------------------------------------------------------


def all_keys(keys: RegionKeys, *names: str) -> list[str]:
    """Every Redis key the builder makes (not the pub/sub channel), found by introspection
    so that a key added later is covered too."""
    out = []
    for attr, member in vars(RegionKeys).items():
        if attr.startswith("_") or attr in {"channel", "region"}:
            continue
        if isinstance(member, property):
            out.append(getattr(keys, attr))
        elif inspect.isfunction(member):
            arity = len(inspect.signature(member).parameters) - 1
            out.append(getattr(keys, attr)(*names[:arity]))
    return out


def test_key_builder_covers_the_layout() -> None:
    keys = all_keys(RegionKeys("vm"), "vc-kungsor", "nurse")
    assert len(keys) >= 11
    assert "dk:{vm}:q:vc-kungsor:nurse" in keys
    assert "dk:{vm}:case:vc-kungsor" in keys
    assert "dk:{vm}:leases" in keys
    assert "dk:{vm}:fence" in keys


def test_every_key_of_a_region_carries_its_hash_tag() -> None:
    keys = all_keys(RegionKeys("vm"), "vc-kungsor", "nurse")
    for key in keys:
        assert "{vm}" in key, key
        assert key.startswith("dk:{vm}:"), key
    # one cluster slot for the whole region: every Lua script stays in one slot
    assert len({key_slot(key.encode()) for key in keys}) == 1


@given(region=REGIONS, a=NAMES, b=NAMES)
def test_all_keys_of_a_region_hash_to_one_slot(region: str, a: str, b: str) -> None:
    keys = all_keys(RegionKeys(region), a, b)
    assert {key_slot(key.encode()) for key in keys} == {key_slot(f"{{{region}}}".encode())}


@given(r1=REGIONS, r2=REGIONS, a=NAMES, b=NAMES, c=NAMES, d=NAMES)
def test_two_regions_never_share_a_key(r1: str, r2: str, a: str, b: str, c: str, d: str) -> None:
    assume(r1 != r2)
    assert not set(all_keys(RegionKeys(r1), a, b)) & set(all_keys(RegionKeys(r2), c, d))
    assert RegionKeys(r1).channel != RegionKeys(r2).channel


def test_events_channel() -> None:
    assert RegionKeys("vm").channel == events_channel("vm") == "dk:events:vm"
