"""The statistics fold (direkt.queue.statistics): events of the log in, figures out, no I/O."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from direkt.queue.hours import instant_ms
from direkt.queue.statistics import Event, Query, bucket, buckets, day_bounds, fold, parse_event, percentile

MIN = 60_000
DAY = dt.date(2026, 11, 23)  # a Monday
START, END = day_bounds(DAY, DAY)


def at(hour: int, minute: int = 0) -> int:
    return instant_ms(DAY, hour * 60 + minute)


def ev(kind: str, case: str, when: int, **fields: Any) -> Event:
    return Event(kind, case, when, {k: str(v) for k, v in fields.items()})


def enqueued(case: str, when: int, unit: str = "vc-a", **f: Any) -> Event:
    profile = {"e": "seek_care", "r": "sore_throat", "l": "within_days", "ur": 5} | f
    return ev("enqueued", case, when, u=unit, k="nurse", sub=when, **profile)


PROFILE = {"e": "seek_care", "r": "sore_throat", "l": "within_days", "ur": 5}


def a_shift() -> list[Event]:
    """Four cases at vc-a, one at vc-b: contacts, a close, a transfer, an abandon, a breach."""
    return [
        enqueued("r.1", at(9)),
        enqueued("r.2", at(9, 30), ur=2, l="chat_now", r="fever"),
        enqueued("r.3", at(10)),
        enqueued("r.4", at(10, 15), e="youth_clinic"),
        enqueued("r.5", at(14), unit="vc-b"),
        ev("claimed", "r.2", at(9, 35), u="vc-a", s="nora"),
        ev("contact", "r.2", at(9, 40), u="vc-a", s="nora", sd=1, w=10 * MIN, **PROFILE | {"ur": 2}),
        ev(
            "closed",
            "r.2",
            at(9, 50),
            u="vc-a",
            s="nora",
            o="self_care_advice",
            sd="",
            **{"as": 1},
            d=15 * MIN,
            **PROFILE | {"ur": 2, "l": "chat_now", "r": "fever"},
        ),
        ev("claimed", "r.1", at(10, 30), u="vc-a", s="olle"),
        ev(
            "closed",
            "r.1",
            at(10, 45),
            u="vc-a",
            s="olle",
            o="visit_booked",
            sd=1,
            **{"as": 1},
            fc=1,
            w=105 * MIN,
            d=15 * MIN,
            **PROFILE,
        ),
        ev("claimed", "r.3", at(11), u="vc-a", s="nora"),
        ev("transferred", "r.3", at(11, 5), fu="vc-a", u="vc-b", s="nora", d=5 * MIN, ur=5),
        ev("abandoned", "r.4", at(11, 30), u="vc-a", bc=1, **PROFILE),
        ev("breach", "r.5", at(23, 59), u="vc-b", g="sameday", ur=5),
        ev("stale_refused", "r.3", at(12), u="vc-a", s="olle"),
        enqueued("r.6", at(12), rt="transfer"),  # moved in from another region: not an arrival here
        enqueued("r.0", START - 1),  # the day before: outside the period
        enqueued("r.9", END),  # the next day: outside
    ]


def test_a_shift_folds_into_the_figures_it_made() -> None:
    out = fold(a_shift(), Query(START, END, by="day"))
    total = out["total"]
    assert total["arrived"] == 5
    assert total["arrived_by"]["entry"] == {"seek_care": 4, "youth_clinic": 1}
    assert total["arrived_by"]["reason"] == {"fever": 1, "sore_throat": 4}
    assert total["arrived_by"]["care"] == {"chat_now": 1, "within_days": 4}
    assert total["contacts"] == 2
    assert total["contacts_by"]["outcome"] == {"self_care_advice": 1, "visit_booked": 1}
    assert total["first_contact"] == {
        "2": {"count": 1, "p50_ms": 10 * MIN, "p90_ms": 10 * MIN},
        "5": {"count": 1, "p50_ms": 105 * MIN, "p90_ms": 105 * MIN},
    }
    assert total["same_day"] == {"met": 2, "breached": 1, "percent": 66.7}
    assert total["assessment"] == {"met": 2, "breached": 0, "percent": 100.0}
    assert (total["abandoned"], total["abandoned_before_contact"], total["transferred"]) == (1, 1, 1)
    assert total["staff"]["nora"] == {
        "chats": 2, "closed": 1, "transferred": 1, "chat_ms_total": 15 * MIN, "chat_ms_p50": 15 * MIN
    }  # fmt: skip
    assert total["staff"]["olle"]["chats"] == 1 and total["staff"]["olle"]["closed"] == 1
    assert total["busiest_hours"][:2] == [{"hour": 9, "arrived": 2}, {"hour": 10, "arrived": 2}]
    assert out["series"] == [{"bucket": "2026-11-23", "arrived": 5, "contacts": 2, "abandoned": 1, "transferred": 1}]


def test_per_unit_figures_and_a_unit_scope() -> None:
    out = fold(a_shift(), Query(START, END))
    assert set(out["units"]) == {"vc-a", "vc-b"}
    assert out["units"]["vc-a"]["transferred"] == 1  # counted where the case left
    assert out["units"]["vc-b"]["same_day"]["breached"] == 1
    only_b = fold(a_shift(), Query(START, END, units=frozenset({"vc-b"})))
    assert set(only_b["units"]) == {"vc-b"}
    assert only_b["total"]["arrived"] == 1 and only_b["total"]["transferred"] == 0


def test_an_hourly_series_covers_every_hour_of_the_period_quiet_ones_as_zero() -> None:
    out = fold(a_shift(), Query(START, END, by="hour"))
    assert [row["bucket"] for row in out["series"]][:2] == ["2026-11-23T00", "2026-11-23T01"]
    assert len(out["series"]) == 24
    nine = next(row for row in out["series"] if row["bucket"] == "2026-11-23T09")
    assert (nine["arrived"], nine["contacts"]) == (2, 1)


def test_a_week_series_and_the_dst_day_has_its_hours() -> None:
    start, end = day_bounds(dt.date(2026, 10, 19), dt.date(2026, 11, 1))
    assert buckets(Query(start, end, by="week")) == ["2026-W43", "2026-W44"]
    start, end = day_bounds(dt.date(2026, 10, 25), dt.date(2026, 10, 25))  # summer time ends: 25 hours
    assert len(buckets(Query(start, end, by="hour"))) == 24  # 02:xx happens twice, one bucket
    assert bucket(start, "day") == "2026-10-25"


def test_an_empty_period_has_no_percentages() -> None:
    total = fold([], Query(START, END))["total"]
    assert total["same_day"]["percent"] is None and total["arrived"] == 0 and total["first_contact"] == {}


def test_bad_bucket_is_refused() -> None:
    with pytest.raises(ValueError, match="hour, day, week"):
        fold([], Query(START, END, by="month"))


def test_a_log_entry_as_the_scripts_write_it_parses() -> None:
    published = {
        "t": "closed",
        "case": "r.1",
        "at": 123,
        "seq": 9,
        "unit": "vc-a",
        "staff": "nora",
        "outcome": "referred",
    }
    extra = {"e": "seek_care", "sd": 1, "as": "", "w": 60_000}
    parsed = parse_event({b"e": msgpack.packb(published), b"x": msgpack.packb(extra)})
    assert parsed == Event(
        "closed", "r.1", 123, {"seq": "9", "u": "vc-a", "s": "nora", "o": "referred", "e": "seek_care", "sd": "1",
                               "as": "", "w": "60000"}
    )  # fmt: skip
    assert parsed.flag("sd") and not parsed.flag("as") and parsed.number("w") == 60_000
    assert parse_event({b"e": msgpack.packb({"t": "claimed", "case": "r.1", "at": 5})}) == Event(
        "claimed", "r.1", 5, {}
    )
    assert parse_event({b"e": b"\xc1"}) is None  # not msgpack
    assert parse_event({b"e": msgpack.packb([1, 2])}) is None


def test_stream_entries_parse_and_junk_is_skipped() -> None:
    parsed = parse_event({b"t": b"closed", b"c": b"r.1", b"at": b"123", b"o": b"referred"})
    assert parsed == Event("closed", "r.1", 123, {"o": "referred"})
    assert parse_event({b"t": b"closed"}) is None
    assert parse_event({"t": "x", "at": "soon"}) is None


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 0.5) is None
    assert percentile([5, 1, 3, 2, 4], 0.5) == 3
    assert percentile(list(range(1, 11)), 0.9) == 9
    assert percentile([7], 0.9) == 7


@given(st.lists(st.tuples(st.sampled_from(["vc-a", "vc-b", "vc-c"]), st.integers(0, 24 * 60 - 1)), max_size=40))
def test_units_add_up_to_the_total(arrivals: list[tuple[str, int]]) -> None:
    events = [enqueued(f"r.{i}", START + minute * MIN, unit) for i, (unit, minute) in enumerate(arrivals)]
    out = fold(events, Query(START, END, by="hour"))
    assert out["total"]["arrived"] == len(arrivals) == sum(u["arrived"] for u in out["units"].values())
    assert sum(row["arrived"] for row in out["series"]) == len(arrivals)
