"""Delivery accounting: every message sent is received exactly once, in order.

Pure: the scenarios feed it what they sent, what the server acknowledged and
what the other side received; ``totals`` says what was lost, duplicated or
out of order. A message counts as lost only if the server acknowledged it
(the server promised it) and the other side never got it; a send that was
never acknowledged is an error of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Stream:
    """One direction of one conversation (say: citizen 17 → their nurse)."""

    sent: int = 0
    acked: set[int] = field(default_factory=set)
    received: dict[int, int] = field(default_factory=dict)  # seq -> times received
    last_received: int = -1
    out_of_order: int = 0

    def on_received(self, seq: int) -> bool:
        """Count a delivery; returns False for a duplicate."""
        times = self.received.get(seq, 0)
        self.received[seq] = times + 1
        if times:
            return False
        if seq < self.last_received:
            self.out_of_order += 1
        self.last_received = max(self.last_received, seq)
        return True


@dataclass
class Totals:
    sent: int = 0
    acked: int = 0
    delivered: int = 0
    lost: int = 0
    duplicated: int = 0
    unacked: int = 0
    out_of_order: int = 0

    def add(self, other: Totals) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


class Ledger:
    def __init__(self) -> None:
        self.streams: dict[str, Stream] = {}

    def stream(self, key: str) -> Stream:
        found = self.streams.get(key)
        if found is None:
            found = self.streams[key] = Stream()
        return found

    def sent(self, key: str) -> int:
        """Count a new message on ``key``; returns its sequence number (0, 1, …)."""
        s = self.stream(key)
        s.sent += 1
        return s.sent - 1

    def acked(self, key: str, seq: int) -> None:
        self.stream(key).acked.add(seq)

    def received(self, key: str, seq: int) -> bool:
        return self.stream(key).on_received(seq)

    def totals(self) -> Totals:
        t = Totals()
        for s in self.streams.values():
            got = set(s.received)
            t.sent += s.sent
            t.acked += len(s.acked)
            t.delivered += len(got)
            t.lost += len(s.acked - got)
            t.duplicated += sum(n - 1 for n in s.received.values())
            t.unacked += sum(1 for seq in range(s.sent) if seq not in s.acked and seq not in got)
            t.out_of_order += s.out_of_order
        return t
