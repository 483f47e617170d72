"""Session ends: one process-wide timer closes each socket within a second after its session's end, never before."""

from __future__ import annotations

import asyncio

from hypothesis import given
from hypothesis import strategies as st
from support import timeout

from direkt.server.ws.sessionend import GRAIN_MS, Deadlines, SessionEnds


def test_a_member_is_due_in_the_second_after_its_deadline_never_before() -> None:
    deadlines: Deadlines[str] = Deadlines()
    deadlines.add("a", 10_001)
    deadlines.add("b", 10_999)
    deadlines.add("c", 11_000)
    assert deadlines.due(10_000) == []
    assert deadlines.due(10_999) == []
    assert sorted(deadlines.due(11_000)) == ["a", "b", "c"]
    assert deadlines.due(99_000) == []  # each once
    assert len(deadlines) == 0


def test_a_removed_member_is_never_due_and_its_empty_bucket_is_dropped() -> None:
    deadlines: Deadlines[str] = Deadlines()
    deadlines.add("a", 5_000)
    deadlines.add("b", 5_000)
    deadlines.remove("a", 5_000)
    deadlines.remove("b", 5_000)
    deadlines.remove("never added", 7_000)
    assert len(deadlines) == 0
    assert deadlines.next_ms() is None  # nothing to wait for: the timer stops
    deadlines.add("a", 5_000)  # the same second again (a reconnect of the same session)
    assert deadlines.due(5_000) == ["a"]


@given(st.lists(st.tuples(st.integers(0, 20_000), st.booleans()), max_size=60), st.integers(0, 25_000))
def test_due_is_exactly_the_members_kept_whose_bucket_has_begun(entries: list[tuple[int, bool]], now: int) -> None:
    deadlines: Deadlines[int] = Deadlines()
    for i, (at, _) in enumerate(entries):
        deadlines.add(i, at)
    for i, (at, kept) in enumerate(entries):
        if not kept:
            deadlines.remove(i, at)
    due = deadlines.due(now)
    kept = [i for i, (at, k) in enumerate(entries) if k]
    assert sorted(due) == [i for i in kept if -(-entries[i][0] // GRAIN_MS) * GRAIN_MS <= now]
    assert all(entries[i][0] <= now for i in due)  # never before its deadline
    assert len(deadlines) == len(kept) - len(due)


class Socket:
    def __init__(self, ended: asyncio.Event) -> None:
        self.ended_at: int | None = None
        self.ended = ended

    def session_ended(self) -> None:
        self.ended_at = clock_ms()
        self.ended.set()


def clock_ms() -> int:
    return round(asyncio.get_running_loop().time() * 1000)


async def test_each_socket_ends_once_within_a_second_of_its_deadline_and_a_removed_one_never() -> None:
    ends, ended = SessionEnds(clock_ms), asyncio.Event()
    now = clock_ms()
    sockets = {delay: Socket(ended) for delay in (-5_000, 0, 150, 400, 1_300)}
    for delay, sock in sockets.items():
        ends.add(sock, now + delay)
    gone = Socket(ended)
    ends.add(gone, now + 100)
    ends.remove(gone, now + 100)
    async with asyncio.timeout(timeout(5)):
        while any(sock.ended_at is None for sock in sockets.values()):
            ended.clear()
            await ended.wait()
    for delay, sock in sockets.items():
        assert sock.ended_at is not None
        assert now + delay <= sock.ended_at < now + max(delay, 0) + GRAIN_MS + 250  # 250 ms: a busy machine
    assert gone.ended_at is None
    assert len(ends) == 0
    ends.stop()


class Failing(Socket):
    def session_ended(self) -> None:
        super().session_ended()
        raise RuntimeError("a socket that cannot be closed")


async def test_a_socket_that_fails_to_end_leaves_the_others_of_its_second_and_the_later_ones_ended() -> None:
    ends, ended = SessionEnds(clock_ms), asyncio.Event()
    now = clock_ms()
    failing, same_second, later = Failing(ended), Socket(ended), Socket(ended)
    ends.add(failing, now)
    ends.add(same_second, now)  # due in the same tick as the failing one: skipped before
    ends.add(later, now + 1_500)  # the next timer was never set
    async with asyncio.timeout(timeout(5)):
        while same_second.ended_at is None or later.ended_at is None:
            ended.clear()
            await ended.wait()
    assert failing.ended_at is not None and len(ends) == 0
    ends.stop()
