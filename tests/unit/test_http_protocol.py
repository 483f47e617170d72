"""The door of the HTTP protocol: connections still sending a request head, counted per address."""

from __future__ import annotations

from direkt.server.http.headguard import HEAD_TOO_LARGE, HEAD_TOO_SLOW, TOO_MANY_WAITING, Door


def test_the_door_admits_up_to_the_cap_per_address_and_frees_a_place_when_one_leaves() -> None:
    door = Door(per_address=2)
    assert [door.admit("10.0.0.1") for _ in range(3)] == [True, True, False]
    assert door.admit("10.0.0.2")  # another address has its own places
    door.leave("10.0.0.1")
    assert door.admit("10.0.0.1")
    assert not door.admit("10.0.0.1")


def test_a_kept_alive_connection_back_at_the_door_is_counted_past_the_cap() -> None:
    door = Door(per_address=1)
    assert door.admit("10.0.0.1")
    door.count("10.0.0.1")  # in already: never refused, but it keeps new ones out
    assert door.waiting("10.0.0.1") == 2
    door.leave("10.0.0.1")
    assert not door.admit("10.0.0.1")
    door.leave("10.0.0.1")
    assert door.waiting("10.0.0.1") == 0 and door.admit("10.0.0.1")


def test_the_refusals_are_whole_http_answers_with_a_typed_error() -> None:
    for answer, status, code in (
        (TOO_MANY_WAITING, b"429", b"rate_limited"),
        (HEAD_TOO_SLOW, b"408", b"request_timeout"),
        (HEAD_TOO_LARGE, b"431", b"head_too_large"),
    ):
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 " + status + b" ") and b"connection: close" in head
        assert b"content-length: %d" % len(body) in head
        assert body.startswith(b'{"error":{"code":"' + code + b'"')
