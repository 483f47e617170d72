"""Logging: personal identity numbers and message text never reach the logs.

Personal identity numbers here are from the Swedish tax agency's test range
(Tolvan Tolvansson, 19121212-1212) and invented coordination numbers.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import pytest
import structlog

from direkt.queue.ids import new_case_id, ulid
from direkt.server.logs import MASK, configure_logging, drop_personal_data

PNRS = ["19121212-1212", "121212-1212", "191212121212", "1212121212", "121212+1212", "20121212-1212"]


def scrub(**event: Any) -> dict[str, Any]:
    return dict(drop_personal_data(None, "info", event))


# --- drop_personal_data -------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    ["text", "message", "body", "answers", "personnummer", "pnr", "password", "ticket", "sdp", "candidate", "note"],
)
def test_sensitive_keys_are_dropped(key: str) -> None:
    event = scrub(event="chat.message", case_id="a.R1", **{key: "secret value"})
    assert event == {"event": "chat.message", "case_id": "a.R1"}


@pytest.mark.parametrize("key", ["Text", "MESSAGE", "Personnummer", "PNR", "Password", "SDP"])
def test_sensitive_keys_are_dropped_case_insensitively(key: str) -> None:
    assert key not in scrub(event="x", **{key: "secret value"})


def test_sensitive_keys_are_dropped_in_nested_dicts_and_lists() -> None:
    event = scrub(
        event="triage.done",
        triage={"unit": "vc-a", "Answers": {"q1": "ont i magen"}, "steps": [{"text": "hemlig", "step": 2}]},
    )
    assert event["triage"] == {"unit": "vc-a", "steps": [{"step": 2}]}


@pytest.mark.parametrize("pnr", PNRS)
def test_personnummer_is_masked_in_string_values(pnr: str) -> None:
    event = scrub(event="lookup", who=f"patient {pnr}, ring tillbaka", raw=pnr)
    assert event["who"] == f"patient {MASK}, ring tillbaka"
    assert event["raw"] == MASK


def test_personnummer_is_masked_in_the_event_text() -> None:
    assert scrub(event="user 19121212-1212 logged in")["event"] == f"user {MASK} logged in"


def test_personnummer_is_masked_in_nested_lists_and_dicts() -> None:
    event = scrub(
        event="batch",
        cases=[{"id": "a.R1", "who": "121212+1212"}, ("191212121212", 7)],
        meta={"deep": {"deeper": ["19121212-1212 och 121212-1212"]}},
    )
    assert event["cases"] == [{"id": "a.R1", "who": MASK}, [MASK, 7]]
    assert event["meta"] == {"deep": {"deeper": [f"{MASK} och {MASK}"]}}


def test_deeply_nested_sensitive_data_does_not_leak() -> None:
    nested: Any = {"text": "secret message", "who": "19121212-1212"}
    for _ in range(10):
        nested = {"level": nested}
    rendered = orjson.dumps(scrub(event="deep", payload=nested)).decode()
    assert "secret message" not in rendered
    assert "19121212-1212" not in rendered


NOT_PERSONAL = [
    pytest.param("1795424400000", id="epoch-ms"),
    pytest.param("at 1795424400000 ms", id="epoch-ms-in-text"),
    pytest.param("1795424400", id="epoch-seconds-wrong-month"),
    pytest.param(ulid(1795424400000, bytes(range(10))), id="ulid"),
    pytest.param(ulid(1700000000000, b"\xff" * 10), id="ulid-2"),
    pytest.param(new_case_id("vm", 1795424400000, b"\x01" * 10), id="case-id"),
    pytest.param("a.01JDQ4ZP2Y3KX8V7N6M5R4T3S2", id="case-id-literal"),
    pytest.param("1177", id="short-number"),
    pytest.param("ring 112", id="emergency-number"),
    pytest.param("queue depth 12, 3 staff, wait 45 min", id="small-numbers"),
    pytest.param("2026-11-23T10:00:00.123456Z", id="iso-timestamp"),
    pytest.param("2026-11-23 10:00:00+01:00", id="iso-local"),
    pytest.param("dk:{vm}:q:vc-kungsor:nurse", id="redis-key"),
]


@pytest.mark.parametrize("value", NOT_PERSONAL)
def test_other_numbers_and_ids_are_kept(value: str) -> None:
    assert scrub(event=value, value=value, values=[value]) == {"event": value, "value": value, "values": [value]}


def test_non_string_values_are_kept() -> None:
    assert scrub(event="x", at_ms=1795424400000, ok=True, wait=1.5, none=None) == {
        "event": "x",
        "at_ms": 1795424400000,
        "ok": True,
        "wait": 1.5,
        "none": None,
    }


def test_a_personnummer_shaped_digit_run_is_masked_even_inside_an_id() -> None:
    """Deliberate: privacy wins over a readable id. A ULID holds ten digits in a row
    about once in 10^5 ids; such an id is masked rather than risk a real number."""
    case_id = "vm.01KBX0Z3QH" + "A121212121" + "2B34CD"  # 26 Crockford characters
    assert scrub(event="claimed", case_id=case_id)["case_id"] == "vm.01KBX0Z3QHA[personnummer]B34CD"


# --- configure_logging, end to end ----------------------------------------------------

UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


@contextmanager
def _json_logging(level: str) -> Iterator[io.BytesIO]:
    """configure_logging into a buffer, then put structlog and stdlib logging back.

    Used inside the test body (not across fixture setup/teardown) so the root
    logger's handler list is restored within the same pytest phase in which
    it was saved: pytest adds and removes its own capture handlers per phase.
    """
    root = logging.getLogger()
    saved_root = (root.handlers[:], root.level)
    named = {name: logging.getLogger(name) for name in UVICORN_LOGGERS}
    saved_named = {name: (lg.handlers[:], lg.propagate, lg.filters[:]) for name, lg in named.items()}
    stream = io.BytesIO()
    try:
        configure_logging(level, stream=stream)
        yield stream
    finally:
        structlog.reset_defaults()
        root.handlers, level_before = saved_root
        root.setLevel(level_before)
        for name, (handlers, propagate, filters) in saved_named.items():
            named[name].handlers = handlers
            named[name].propagate = propagate
            named[name].filters = filters


@pytest.fixture
def json_logs() -> Iterator[Callable[[str], Any]]:
    """A context manager factory; structlog is reset again after the test in any case."""
    yield _json_logging
    structlog.reset_defaults()


def lines(stream: io.BytesIO) -> list[dict[str, Any]]:
    raw = stream.getvalue().splitlines()
    assert raw, "nothing was logged"
    return [orjson.loads(line) for line in raw]


def assert_timestamp(event: dict[str, Any]) -> None:
    stamp = dt.datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00"))
    assert event["timestamp"].endswith("Z")
    assert stamp.utcoffset() == dt.timedelta(0)
    assert abs(dt.datetime.now(dt.UTC) - stamp) < dt.timedelta(minutes=5)


def test_log_lines_are_json_without_personal_data(json_logs: Callable[[str], Any]) -> None:
    with json_logs("info") as stream:
        log = structlog.get_logger()  # after configuring: loggers are cached on first use
        log.info(
            "chat.message",
            text="secret message",
            pnr="19121212-1212",
            note="journal note about 121212-1212",
            case_id="a.R1",
            detail={"who": "121212+1212", "answers": ["ont i magen"]},
        )
        logging.getLogger("uvicorn.error").warning("user 19121212-1212 said hi")
        logging.getLogger("websockets.server").info(
            "frame from %s", "191212121212", extra={"body": "secret message", "conn_id": "c1"}
        )

    output = stream.getvalue().decode()
    for forbidden in ("19121212-1212", "121212-1212", "121212+1212", "191212121212", "secret message", "ont i magen"):
        assert forbidden not in output
    first, second, third = lines(stream)

    assert first["event"] == "chat.message"
    assert first["case_id"] == "a.R1"
    assert first["detail"] == {"who": MASK}
    assert not {"text", "pnr", "note"} & first.keys()
    assert first["level"] == "info"
    assert_timestamp(first)

    assert second["event"] == f"user {MASK} said hi"
    assert second["level"] == "warning"
    assert_timestamp(second)

    assert third["event"] == f"frame from {MASK}"
    assert third["conn_id"] == "c1"
    assert "body" not in third
    assert third["level"] == "info"


def test_exceptions_are_logged_without_personal_data(json_logs: Callable[[str], Any]) -> None:
    def fail() -> None:
        raise ValueError("no patient 19121212-1212")

    with json_logs("info") as stream:
        log = structlog.get_logger()
        try:
            fail()
        except ValueError:
            log.exception("lookup.failed", case_id="a.R2")
            logging.getLogger("uvicorn.error").exception("Exception in ASGI application")

    assert "19121212-1212" not in stream.getvalue().decode()
    ours, theirs = lines(stream)
    assert ours["level"] == "error"
    assert ours["case_id"] == "a.R2"
    assert f"ValueError: no patient {MASK}" in ours["exception"]
    assert theirs["event"] == "Exception in ASGI application"
    assert f"ValueError: no patient {MASK}" in theirs["exception"]


def test_level_filters_both_structlog_and_stdlib(json_logs: Callable[[str], Any]) -> None:
    with json_logs("warning") as stream:
        log = structlog.get_logger()
        log.info("structlog.info")
        log.warning("structlog.warning")
        logging.getLogger("uvicorn.access").info("stdlib.info")
        logging.getLogger("redis").error("stdlib.error")

    assert [(e["event"], e["level"]) for e in lines(stream)] == [
        ("structlog.warning", "warning"),
        ("stdlib.error", "error"),
    ]


@pytest.mark.parametrize(("level", "kept"), [("info", 3), ("debug", 6)])
def test_the_servers_lines_for_every_socket_are_dropped_above_debug(
    json_logs: Callable[[str], Any], level: str, kept: int
) -> None:
    with json_logs(level) as stream:
        server = logging.getLogger("uvicorn.error")
        server.info('%s - "WebSocket %s" [accepted]', "127.0.0.1:5000", "/ws?ticket=[secret]")
        server.info("connection open")
        server.info("connection closed")
        server.info("Application startup complete.")
        server.warning("connection closed")  # a warning is never dropped
        structlog.get_logger().info("ws_open")  # the hub's own line per socket
    events = [e["event"] for e in lines(stream)]
    assert len(events) == kept
    assert events[-3:] == ["Application startup complete.", "connection closed", "ws_open"]


def test_context_variables_are_bound_to_every_line(json_logs: Callable[[str], Any]) -> None:
    with json_logs("info") as stream:
        structlog.contextvars.bind_contextvars(conn_id="c9", role="staff", pnr="19121212-1212")
        try:
            structlog.get_logger().info("claim")
        finally:
            structlog.contextvars.clear_contextvars()

    (event,) = lines(stream)
    assert (event["conn_id"], event["role"]) == ("c9", "staff")
    assert "pnr" not in event


def test_secrets_in_logged_urls_are_masked() -> None:
    line = '127.0.0.1:1 - "WebSocket /ws?ticket=hDnZvasRHY8wSJ1F" [accepted]'
    event = drop_personal_data(None, "info", {"event": line, "url": "/auth/oidc/callback?code=abc&state=xyz"})
    assert "hDnZvasRHY8wSJ1F" not in event["event"] and "ticket=[secret]" in event["event"]
    assert event["url"] == "/auth/oidc/callback?code=[secret]&state=[secret]"
