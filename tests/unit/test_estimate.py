"""Wait estimates shown to a waiting citizen, and the queue wait routing uses."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import at

from direkt.queue.estimate import SERVICE_WINDOW_MS, ServiceRate, estimate_wait_ms, queue_wait_ms

MINUTE = 60_000
NOW = at("2026-11-23 10:00")
SIX_PER_HALF_HOUR = ServiceRate(served=6)  # one case every 5 minutes
NOTHING_SERVED = ServiceRate(served=0)


def test_service_window_is_half_an_hour() -> None:
    assert SERVICE_WINDOW_MS == 30 * MINUTE
    assert SIX_PER_HALF_HOUR.ms_per_case == 5 * MINUTE
    assert NOTHING_SERVED.ms_per_case is None


@pytest.mark.parametrize(
    ("position", "rate", "opens", "expected_min"),
    [
        pytest.param(1, SIX_PER_HALF_HOUR, NOW, 5, id="next-in-line"),
        pytest.param(3, SIX_PER_HALF_HOUR, NOW, 15, id="third-waits-three-times-as-long"),
        pytest.param(10, SIX_PER_HALF_HOUR, NOW, 50, id="tenth"),
        pytest.param(2, ServiceRate(served=1), NOW, 60, id="slow-queue"),
        pytest.param(2, ServiceRate(served=4, window_ms=60 * MINUTE), NOW, 30, id="custom-window"),
        pytest.param(1, SIX_PER_HALF_HOUR, at("2026-11-23 12:00"), 125, id="closed-adds-time-until-opening"),
        pytest.param(3, SIX_PER_HALF_HOUR, at("2026-11-24 08:00"), 22 * 60 + 15, id="closed-until-tomorrow"),
        pytest.param(1, SIX_PER_HALF_HOUR, NOW - 10 * MINUTE, 5, id="stale-opening-in-the-past-counts-as-now"),
    ],
)
def test_estimate_from_position_rate_and_opening(
    position: int, rate: ServiceRate, opens: int, expected_min: int
) -> None:
    assert estimate_wait_ms(position, rate, NOW, opens) == expected_min * MINUTE


@pytest.mark.parametrize(
    ("position", "rate", "opens"),
    [
        pytest.param(1, NOTHING_SERVED, NOW, id="no-service-observed"),
        pytest.param(5, NOTHING_SERVED, at("2026-11-24 08:00"), id="no-service-closed"),
        pytest.param(1, SIX_PER_HALF_HOUR, None, id="never-opens-within-horizon"),
        pytest.param(0, SIX_PER_HALF_HOUR, NOW, id="position-zero"),
        pytest.param(-1, SIX_PER_HALF_HOUR, NOW, id="negative-position"),
    ],
)
def test_no_estimate_without_a_basis(position: int, rate: ServiceRate, opens: int | None) -> None:
    assert estimate_wait_ms(position, rate, NOW, opens) is None


@settings(max_examples=100)
@given(
    position=st.integers(min_value=1, max_value=500),
    served=st.integers(min_value=1, max_value=200),
    closed_ms=st.integers(min_value=0, max_value=3 * 24 * 60 * MINUTE),
)
def test_estimate_grows_with_position_and_never_undercuts_the_opening(
    position: int, served: int, closed_ms: int
) -> None:
    rate = ServiceRate(served=served)
    here = estimate_wait_ms(position, rate, NOW, NOW + closed_ms)
    behind = estimate_wait_ms(position + 1, rate, NOW, NOW + closed_ms)
    assert here is not None
    assert behind is not None
    assert closed_ms < here < behind


@pytest.mark.parametrize(
    ("depth", "rate", "expected_min"),
    [
        pytest.param(0, NOTHING_SERVED, 0, id="empty-no-service"),
        pytest.param(40, NOTHING_SERVED, 0, id="deep-no-service-is-unknown-not-long"),
        pytest.param(0, SIX_PER_HALF_HOUR, 5, id="empty-queue-one-service-time"),
        pytest.param(2, SIX_PER_HALF_HOUR, 15, id="two-waiting"),
        pytest.param(11, SIX_PER_HALF_HOUR, 60, id="eleven-waiting-an-hour"),
    ],
)
def test_queue_wait_for_routing(depth: int, rate: ServiceRate, expected_min: int) -> None:
    assert queue_wait_ms(depth, rate) == expected_min * MINUTE


@settings(max_examples=100)
@given(depth=st.integers(min_value=0, max_value=500), served=st.integers(min_value=1, max_value=200))
def test_queue_wait_grows_with_depth_and_matches_the_last_place_estimate(depth: int, served: int) -> None:
    rate = ServiceRate(served=served)
    assert queue_wait_ms(depth, rate) < queue_wait_ms(depth + 1, rate)
    assert queue_wait_ms(depth, rate) == estimate_wait_ms(depth + 1, rate, NOW, NOW)
