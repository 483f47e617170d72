"""The metric families in process (no multiprocess directory): bounded labels and the scraper's token."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client.parser import text_string_to_metric_families

from direkt.server.errors import NotFound, Unauthenticated
from direkt.server.metrics import FLUSH_EVERY_S, MAX_FRAME_TYPES, OTHER, Metrics, QueueCount, check_scraper


def shown(metrics: Metrics, name: str, label: str) -> set[str]:
    text = metrics.exposition({("vc-t", "nurse", "days"): QueueCount(1, 0)}, 0).decode()
    return {s.labels[label] for f in text_string_to_metric_families(text) for s in f.samples if s.name == name}


def test_frame_types_are_capped_and_odd_ones_are_other() -> None:
    metrics = Metrics()
    for n in range(3 * MAX_FRAME_TYPES):
        metrics.frame_out(f"t{n}")
    metrics.frame_out(["not", "a", "type"])
    metrics.frame_in(None)
    assert len(shown(metrics, "direkt_ws_frames_sent_total", "type")) == MAX_FRAME_TYPES + 1
    assert OTHER in shown(metrics, "direkt_ws_frames_sent_total", "type")
    assert shown(metrics, "direkt_ws_frames_received_total", "type") == {OTHER}


def test_two_apps_in_one_process_count_apart() -> None:
    first, second = Metrics(), Metrics()
    first.error("bad_frame", "ws")
    assert shown(first, "direkt_errors_total", "code") == {"bad_frame"}
    assert shown(second, "direkt_errors_total", "code") == set()


@pytest.mark.parametrize(
    ("header", "token", "refusal"),
    [
        ("Bearer s3cret", "", NotFound),  # no token set: the path is not there, whatever is sent
        ("", "", NotFound),
        ("", "s3cret", Unauthenticated),
        ("Bearer wrong", "s3cret", Unauthenticated),
        ("s3cret", "s3cret", Unauthenticated),
        ("Basic s3cret", "s3cret", Unauthenticated),
        ("Bearer s3cret", "s3cret", None),
        ("bearer  s3cret", "s3cret", None),
    ],
)
def test_the_scraper_token(header: str, token: str, refusal: type[Exception] | None) -> None:
    if refusal is None:
        check_scraper(header, token)
    else:
        with pytest.raises(refusal):
            check_scraper(header, token)


async def test_frames_counted_under_a_loop_reach_the_families_by_the_flush() -> None:
    """Counted in plain ints first; a scrape of this process flushes them, and a timer does within the bound."""
    metrics = Metrics()
    for _ in range(3):
        metrics.frame_out("msg")
    metrics.frame_in("send")
    assert metrics.frames_out.labels("msg")._value.get() == 0  # not yet in the (shared) counter
    timer = metrics._flush_at
    assert timer is not None
    assert timer.when() - asyncio.get_running_loop().time() <= FLUSH_EVERY_S
    text = metrics.exposition({}, 0).decode()
    assert 'direkt_ws_frames_sent_total{type="msg"} 3.0' in text
    assert 'direkt_ws_frames_received_total{type="send"} 1.0' in text
    assert metrics._flush_at is None and timer.cancelled()  # the scrape's flush took the timer's place
    metrics.frame_out("msg")
    metrics.process_ended()  # a stopping worker flushes what it counted
    assert metrics.frames_out.labels("msg")._value.get() == 4
