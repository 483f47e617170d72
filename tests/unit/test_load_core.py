"""The load tests' pure parts: delivery ledger, open-loop schedule, histograms, message format."""

from __future__ import annotations

import asyncio

import pytest

from direkt.loadtests.actors import later_id, message_text, parse_text
from direkt.loadtests.hist import Latency, Timeline
from direkt.loadtests.ledger import Ledger
from direkt.loadtests.schedule import paced, spread, ticks


def test_ledger_counts_lost_only_for_acknowledged_messages() -> None:
    ledger = Ledger()
    for _ in range(4):
        ledger.sent("a:c")
    ledger.acked("a:c", 0)
    ledger.acked("a:c", 1)
    ledger.received("a:c", 0)
    t = ledger.totals()
    assert (t.sent, t.acked, t.delivered, t.lost, t.unacked) == (4, 2, 1, 1, 2)


def test_ledger_sees_duplicates_and_reordering() -> None:
    ledger = Ledger()
    for seq in range(3):
        ledger.sent("a:n")
        ledger.acked("a:n", seq)
    assert ledger.received("a:n", 1) is True
    assert ledger.received("a:n", 0) is True  # arrived after 1: out of order
    assert ledger.received("a:n", 1) is False  # a second copy
    ledger.received("a:n", 2)
    t = ledger.totals()
    assert (t.delivered, t.duplicated, t.out_of_order, t.lost) == (3, 1, 1, 0)


def test_a_message_received_but_never_acked_is_neither_lost_nor_unacked() -> None:
    ledger = Ledger()
    ledger.sent("b:c")  # the ack died with the socket; the message got through
    ledger.received("b:c", 0)
    t = ledger.totals()
    assert (t.lost, t.unacked, t.delivered) == (0, 0, 1)


def test_ticks_are_evenly_spaced_and_stop_at_the_duration() -> None:
    times = list(ticks(4, 100.0, 2.0))
    assert times == [100.0 + i * 0.25 for i in range(8)]
    assert list(ticks(0, 0.0, 5.0)) == []
    assert spread(3, 0, 7.0) == [7.0, 7.0, 7.0]
    assert spread(3, 2, 7.0) == [7.0, 7.5, 8.0]


async def test_paced_yields_late_times_at_once_and_never_skips_them() -> None:
    loop = asyncio.get_running_loop()
    start = loop.time() - 1.0  # one second behind already
    got = [at async for at in paced(iter([start, start + 0.5, loop.time() + 0.05]), loop.time)]
    assert got[:2] == [start, start + 0.5]
    assert loop.time() >= got[2] - 0.002


def test_latency_summary_and_merge_across_processes() -> None:
    a, b = Latency(), Latency()
    for ms in range(1, 101):
        a.record_s(ms / 1000)
    b.record_s(5.0)
    merged = Latency.decode(a.encode())
    merged.add(Latency.decode(b.encode()))
    s = merged.summary()
    assert merged.count == 101
    assert s["p50"] == pytest.approx(51, rel=0.01)
    assert s["max"] == pytest.approx(5000, rel=0.001)
    assert Latency().summary()["p99"] == 0.0


def test_latency_beyond_the_range_is_clamped_and_counted() -> None:
    lat = Latency()
    lat.record_s(10_000.0)
    assert lat.clamped == 1 and lat.count == 1


def test_timeline_rows_per_second() -> None:
    t = Timeline(10.0)
    t.record(10.2, 0.001)
    t.record(10.9, 0.003)
    t.record(12.1, 0.002)
    other = Timeline(10.0)
    other.merge(t.encode())
    rows = other.rows()
    assert [r["t"] for r in rows] == [0, 2]
    assert rows[0]["messages"] == 2


def test_message_text_round_trip_and_padding() -> None:
    text = message_text(42, 1234.5, 60)
    assert len(text) == 60
    assert parse_text(text) == (42, 1234.5)
    assert parse_text("Hej! Jag har ont.") is None
    assert parse_text("Lx y") is None


def test_later_id_compares_stream_ids_numerically() -> None:
    assert later_id("", "5-0") == "5-0"
    assert later_id("10-0", "9-5") == "10-0"
    assert later_id("10-2", "10-10") == "10-10"
