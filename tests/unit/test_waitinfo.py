"""What the waiting room tells a waiting citizen: a smoothed estimate shown as a
range, and which queues someone answers now: logged in and not away (direkt.queue.waitinfo)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import make_directory

from direkt.queue.model import Skill
from direkt.queue.waitinfo import (
    MAX_SPREAD,
    SMOOTHING_MS,
    Smoothed,
    WaitRange,
    shown_range,
    smooth,
    spread,
    staffed_queues,
    wait_range,
)
from direkt.server.care.availability import attending

MINUTE = 60_000
NOW = 1_795_000_000_000


def minutes(ms: float) -> float:
    return ms / MINUTE


# -- smoothing ------------------------------------------------------------------------------------


def test_the_jump_users_saw_is_a_small_step() -> None:
    """1 h 30 min, then a raw 10 min twelve seconds later (one claim more in the window): the
    estimate moves by minutes, not by an hour."""
    first = smooth(None, 90 * MINUTE, NOW)
    later = smooth(first, 10 * MINUTE, NOW + 12_000)
    assert first == Smoothed(90 * MINUTE, NOW)
    assert later is not None and 83 < minutes(later.wait_ms) < 90
    shown = [wait_range(s.wait_ms, 3, 2) for s in (first, later)]
    assert shown[0].high_ms >= shown[1].low_ms and shown[1].high_ms >= shown[0].low_ms, shown  # overlapping


def test_a_steady_queue_counts_down_with_the_clock() -> None:
    running = smooth(None, 30 * MINUTE, NOW)
    for step in range(1, 11):  # the raw figure agrees: one minute less each minute
        running = smooth(running, (30 - step) * MINUTE, NOW + step * MINUTE)
    assert running is not None and minutes(running.wait_ms) == pytest.approx(20)


def test_a_lasting_change_is_followed_within_minutes() -> None:
    """The queue really did get faster: from 90 min the raw figure drops to 40 and counts down from there."""
    running = smooth(None, 90 * MINUTE, NOW)
    for second in range(5, 15 * 60 + 1, 5):  # the feed's 5-second passes for a quarter of an hour
        running = smooth(running, 40 * MINUTE - second * 1000, NOW + second * 1000)
    assert running is not None and minutes(running.wait_ms) == pytest.approx(25, abs=1)


def test_a_queue_that_stands_still_is_shown_at_most_the_time_constant_too_short() -> None:
    running = smooth(None, 10 * MINUTE, NOW)
    for second in range(5, 60 * 60 + 1, 5):
        running = smooth(running, 10 * MINUTE, NOW + second * 1000)
    assert running is not None
    assert 10 * MINUTE - SMOOTHING_MS - MINUTE <= running.wait_ms <= 10 * MINUTE


@pytest.mark.parametrize(
    ("previous", "fresh", "now", "expected"),
    [
        pytest.param(None, None, NOW, None, id="no-basis-no-estimate"),
        pytest.param(Smoothed(20 * MINUTE, NOW), None, NOW + MINUTE, None, id="basis-lost-estimate-dropped"),
        pytest.param(None, 7 * MINUTE, NOW, Smoothed(7 * MINUTE, NOW), id="first-is-the-raw-figure"),
        pytest.param(
            Smoothed(20 * MINUTE, NOW), 5 * MINUTE, NOW - 1, Smoothed(5 * MINUTE, NOW - 1), id="clock-went-back"
        ),
        pytest.param(Smoothed(20 * MINUTE, NOW), 5 * MINUTE, NOW, Smoothed(20 * MINUTE, NOW), id="no-time-no-change"),
        pytest.param(Smoothed(MINUTE, NOW), 0, NOW + 5 * MINUTE, Smoothed(0.0, NOW + 5 * MINUTE), id="never-below-0"),
    ],
)
def test_smoothing_edges(previous: Smoothed | None, fresh: int | None, now: int, expected: Smoothed | None) -> None:
    assert smooth(previous, fresh, now) == expected


@settings(max_examples=200, deadline=None)
@given(
    start=st.integers(0, 300 * MINUTE),
    fresh=st.integers(0, 300 * MINUTE),
    first=st.integers(1, 10 * MINUTE),
    second=st.integers(1, 10 * MINUTE),
)
def test_how_often_the_feed_looks_does_not_change_the_estimate(start: int, fresh: int, first: int, second: int) -> None:
    """A raw figure that counts down with the clock, looked at twice, ends where one look over the
    whole time ends, as long as the countdown does not reach zero (where it stops)."""
    begin = Smoothed(float(start), NOW)
    once = smooth(begin, fresh, NOW + first + second)
    twice = smooth(smooth(begin, fresh + second, NOW + first), fresh, NOW + first + second)
    assert once is not None and twice is not None
    if min(start, fresh) > first + second:
        assert twice.wait_ms == pytest.approx(once.wait_ms, rel=1e-9, abs=1e-6)


@settings(max_examples=200, deadline=None)
@given(start=st.integers(0, 300 * MINUTE), fresh=st.integers(0, 300 * MINUTE), elapsed=st.integers(0, 60 * MINUTE))
def test_the_estimate_stays_between_the_countdown_and_the_raw_figure(start: int, fresh: int, elapsed: int) -> None:
    got = smooth(Smoothed(float(start), NOW), fresh, NOW + elapsed)
    assert got is not None
    predicted = max(0, start - elapsed)
    assert min(predicted, fresh) - 1e-6 <= got.wait_ms <= max(predicted, fresh) + 1e-6


def test_the_time_constant_is_minutes() -> None:
    assert 2 * MINUTE <= SMOOTHING_MS <= 10 * MINUTE


# -- ranges ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wait_min", "position", "served", "expected"),
    [
        pytest.param(0, 1, 6, (0, 5), id="now-under-5-min"),
        pytest.param(12, 2, 12, (5, 20), id="short-wait"),
        pytest.param(90, 3, 2, (45, 135), id="few-claims-seen-wide"),
        pytest.param(90, 30, 60, (75, 105), id="many-claims-seen-narrow"),
        pytest.param(40, 4, 0, (15, 75), id="no-claims-widest"),
    ],
)
def test_ranges(wait_min: int, position: int, served: int, expected: tuple[int, int]) -> None:
    got = wait_range(wait_min * MINUTE, position, served)
    assert (minutes(got.low_ms), minutes(got.high_ms)) == expected


@settings(max_examples=300, deadline=None)
@given(wait=st.floats(0, 600 * MINUTE), position=st.integers(0, 500), served=st.integers(0, 500))
def test_a_range_holds_the_estimate_in_round_minutes(wait: float, position: int, served: int) -> None:
    got = wait_range(wait, position, served)
    assert isinstance(got, WaitRange)
    assert 0 <= got.low_ms <= wait <= got.high_ms
    assert got.high_ms > got.low_ms
    assert got.low_ms % (5 * MINUTE) == 0 and got.high_ms % (5 * MINUTE) == 0
    assert got.high_ms <= max(wait * (1 + MAX_SPREAD) + 15 * MINUTE, 5 * MINUTE)


def test_more_claims_seen_narrow_the_range() -> None:
    widths = [spread(5, served) for served in (1, 2, 5, 20, 100)]
    assert widths == sorted(widths, reverse=True)
    assert spread(0, 10) == spread(10, 0) == MAX_SPREAD


@pytest.mark.parametrize(
    ("wait", "open_now", "staffed", "shown"),
    [
        pytest.param(20 * MINUTE, True, True, True, id="open-and-staffed"),
        pytest.param(20 * MINUTE, True, None, True, id="staffing-not-known-yet"),
        pytest.param(20 * MINUTE, True, False, False, id="no-one-to-answer"),
        pytest.param(20 * MINUTE, False, True, False, id="closed-says-when-it-opens-instead"),
        pytest.param(None, True, True, False, id="no-basis"),
    ],
)
def test_a_range_is_shown_only_when_it_means_something(
    wait: int | None, open_now: bool, staffed: bool | None, shown: bool
) -> None:
    got = shown_range(wait, 3, 6, open_now=open_now, staffed=staffed)
    assert (got is not None) == shown
    if got is not None:
        assert got == wait_range(20 * MINUTE, 3, 6)


# -- who is there to answer -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("set_to", "there"),
    [
        pytest.param({}, {"nurse-a1", "doc-a"}, id="never-set-is-available"),
        pytest.param({"nurse-a1": "paused"}, {"nurse-a1", "doc-a"}, id="a-pause-is-there-busy"),
        pytest.param({"nurse-a1": "away"}, {"doc-a"}, id="away-is-not-there"),
        pytest.param({"nurse-a1": "away", "doc-a": "away"}, set(), id="all-away"),
        pytest.param({"nurse-b": "available"}, {"nurse-a1", "doc-a"}, id="available-but-offline"),
    ],
)
def test_staff_online_attend_unless_away(set_to: dict[str, str], there: set[str]) -> None:
    assert attending(["nurse-a1", "doc-a"], set_to) == there


def test_a_queue_whose_only_online_staff_are_away_is_not_staffed() -> None:
    directory = make_directory()
    assert staffed_queues(directory, attending(["nurse-a1"], {"nurse-a1": "away"})) == frozenset()
    assert staffed_queues(directory, attending(["nurse-a1"], {"nurse-a1": "paused"})) == {("vc-a1", Skill.NURSE)}


def test_a_queue_is_staffed_by_anyone_logged_in_who_serves_it() -> None:
    directory = make_directory()
    assert staffed_queues(directory, []) == frozenset()
    assert staffed_queues(directory, ["nurse-a1"]) == {("vc-a1", Skill.NURSE)}
    both = staffed_queues(directory, ["nurse-a12", "doc-a"])
    assert both == {
        ("vc-a1", Skill.NURSE),
        ("vc-a2", Skill.NURSE),
        ("vc-a1", Skill.DOCTOR),
        ("vc-a2", Skill.DOCTOR),
    }
    assert staffed_queues(directory, ["gone-since", "nurse-b"]) == {("vc-b1", Skill.NURSE), ("1177-b", Skill.NURSE)}
