"""Read a py-spy profile of the hub: self and inclusive shares per function, and shares per phase of the work.

    python -m direkt.loadtests.profiles FILE [--top 30] [--phases storm|relay]

FILE is py-spy's "raw" collapsed-stack output (``py-spy record -f raw``),
gzipped or not: one stack per line, ``frame;frame;… count``. A frame is
``function (file:line)``; lines are dropped here, so a function's samples
add up over its lines.

Phases answer "what does a resume (or a relayed message) spend its CPU on":
each stack goes to the first phase one of whose anchors occurs in it, so the
more specific phases come first. py-spy's non-blocking samples often hold only
the coroutine's own chain, without the event loop under it: the anchors are
frames of our code and of the libraries, not of the loop.
"""

from __future__ import annotations

import argparse
import gzip
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

_LINE = re.compile(r"^(.*) \(([^()]*?)(?::\d+)?\)$")  # "function (file:line)" -> function, file

Phases = Sequence[tuple[str, tuple[str, ...]]]

STORM_PHASES: Phases = (
    ("start-up", ("LifespanOn.main", "_find_and_load")),
    ("ticket request: HTTP through Starlette, session read, ticket write",
     ("RequestResponseCycle", "starlette/middleware", "starlette/routing", "get_with_ticket", "identity/auth.py")),
    ("join: case file, subscription, replay, first position, console snapshot",
     ("Chat.on_join", "StaffDesk.start", "CaseFiles.get", "WaitroomLookup", "Transcripts.since", "Fanout._subscribe",
      "Follow.", "SessionStore", "queue_snapshot")),
    ("socket register and unregister: slots, log lines, session ends",
     ("Connection._register", "Connection._unregister")),
    ("HTTP heads: httptools, head guard", ("HttpToolsProtocol.data_received",)),
    ("closing the old sockets", ("handle_close", "connection_lost", "on_close")),
    ("chat traffic meanwhile", ("Chat.on_send", "Fanout._on_push")),
    ("position updates", ("PositionFeed",)),
    ("frames in: parse, decode, dispatch", ("SansioReader", "Connection._handle", "Connection._receive_loop")),
    ("frames out: outbox, socket writes", ("Outlet.", "SansioWriter")),
    ("WebSocket upgrade and accept: websockets' handshake, Starlette's accept",
     ("websockets/", "WebSocket.accept", "Hub._handshake", "connection_made", "create_protocol", "HubFirst",
      "Hub.endpoint")),
    ("Redis client: commands, replies, writes", ("_Wire", "Commands.call", "_parsed", "LeanPipeline", "redis/")),
    ("threads: the audit file's writes and fsyncs (waiting, mostly)", ("Thread._bootstrap",)),
)  # fmt: skip

RELAY_PHASES: Phases = (
    ("start-up and set-up", ("LifespanOn.main", "_find_and_load", "RequestResponseCycle", "Chat.on_join", "walk")),
    ("send: validate, store in the stream (Lua), ack", ("Chat.on_send", "Chat.fenced", "Transcripts.append")),
    ("fan-out: pub/sub read, decode once, frame per follower", ("Fanout.", "Follow.", "Published")),
    ("frames in: parse, decode, dispatch", ("SansioReader", "Connection._handle", "Connection._receive_loop")),
    ("frames out: outbox, socket writes", ("Outlet.", "SansioWriter", "frame_header")),
    ("Redis client: commands, replies, writes", ("_Wire", "Commands.", "_pack", "redis/")),
    ("metrics", ("metrics.py", "prometheus_client")),
)  # fmt: skip

PHASE_TABLES = {"storm": STORM_PHASES, "relay": RELAY_PHASES}
OTHER = "other: the event loop's own work (polling, socket reads, callbacks), GC"


@dataclass(frozen=True)
class Profile:
    stacks: Counter[tuple[str, ...]]

    @property
    def total(self) -> int:
        return sum(self.stacks.values())

    def self_shares(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for stack, n in self.stacks.items():
            if stack:
                counts[stack[-1]] += n
        return counts

    def inclusive_shares(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for stack, n in self.stacks.items():
            for frame in set(stack):
                counts[frame] += n
        return counts

    def phases(self, table: Phases) -> Counter[str]:
        counts: Counter[str] = Counter()
        for stack, n in self.stacks.items():
            joined = ";".join(stack)
            counts[next((name for name, anchors in table if any(a in joined for a in anchors)), OTHER)] += n
        return counts


def parse(lines: Iterable[str]) -> Profile:
    """A profile from collapsed-stack lines; lines that are not ``stack count`` are skipped."""
    stacks: Counter[tuple[str, ...]] = Counter()
    for line in lines:
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if not stack or not count.isdigit():
            continue
        stacks[tuple(_frame(f) for f in stack.split(";"))] += int(count)
    return Profile(stacks)


def _frame(text: str) -> str:
    match = _LINE.match(text)
    return f"{match[1]} ({match[2]})" if match else text


def load(path: Path) -> Profile:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as lines:
        return parse(lines)


def table(title: str, counts: Counter[str], total: int, top: int) -> str:
    rows = [f"{100 * n / total:6.1f} %  {name}" for name, n in counts.most_common(top)]
    return "\n".join([f"== {title}", *rows])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m direkt.loadtests.profiles", description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--phases", choices=sorted(PHASE_TABLES))
    args = parser.parse_args(argv)
    try:
        profile = load(args.file)
    except OSError as exc:
        parser.error(f"{args.file}: {exc.strerror or exc}")
    if not profile.total:
        parser.error(f"{args.file}: no samples")
    print(f"{args.file}: {profile.total} samples")
    if args.phases:
        print(table(f"phases ({args.phases})", profile.phases(PHASE_TABLES[args.phases]), profile.total, 50))
    print(table("self", profile.self_shares(), profile.total, args.top))
    print(table("inclusive", profile.inclusive_shares(), profile.total, args.top))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
