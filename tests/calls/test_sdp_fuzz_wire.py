"""Fuzzed SDP and ICE over the wire, in a live call, against a real ``direkt serve`` (TARGETS 21).

The other fuzzers send ``sdp`` and ``ice`` frames to a case with no call, so
the server refuses them before it looks at the SDP. Here a nurse and a citizen
are in an open chat with a proposed and accepted call, and the party whose
turn it is (the nurse offers, the citizen answers; either trickles
candidates) sends mutations of real aiortc and Chromium descriptions and
candidates, in msgpack and in JSON. What a user would notice, per frame: one
typed answer within two seconds (an error with a documented code, or the
frame relayed to the other party, once), never a closed socket; over the run:
the server does not grow, the chat still carries messages both ways, and the
call still negotiates a real offer and answer (or, once its renegotiations
are spent, is hung up and a new call negotiates).

Each frame's mutations follow from the seed, the codec and the frame's
number, all in every failure message (``DIREKT_FUZZ_SEED`` picks another
seed). The Chromium description is fixed and the aiortc ones are made fresh
(their keys and ports differ), so a failing Chromium-based frame recurs
exactly with the same seed and an aiortc-based one nearly. The server's message rate is raised
(``DIREKT_MESSAGE_RATE``): each fuzzed frame is followed by a ping, hundreds a
second, and the frames' content is under test here, not their rate (a
``rate_limited`` answer fails the test).
"""

from __future__ import annotations

import asyncio
import os
import random
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgpack
import orjson
import pytest
from support import ServerProcess, timeout
from support_hub import FRAME_LIMIT, KNOWN_CODES, open_chat
from unit.test_call_sdp import CHROMIUM_OFFER_LINES, GOOD_CANDIDATES, aiortc_descriptions, mutate

from direkt.loadtests.client import JSON, MSGPACK, Socket
from direkt.server.redis.embedded import EmbeddedRedis
from direkt.signaling.call import Limits
from direkt.signaling.sdp import MAX_CANDIDATE_CHARS, MAX_SDP_CHARS

pytestmark = pytest.mark.slow

SEED = os.environ.get("DIREKT_FUZZ_SEED", "direkt-sdp-wire-19")
FRAMES = 1_500  # per codec: sdp and ice frames together
WARM_UP = 200  # frames before the memory baseline (allocator pools, code paths)
GROWTH_BOUND = 2 * 2**20  # measured: under 0.2 MiB; the frames after the warm-up carry 9 MiB or more
PER_FRAME_S = 2.0  # one answer to each frame within this (scaled by support.timeout)
MAX_RESTARTS = Limits().max_restarts  # the server's: renegotiations per call (protocol §7)

SERVER_ENV = {
    "DIREKT_ICE_HOST_ADDRESSES": "127.0.0.1",
    "DIREKT_MESSAGE_RATE": "100000",  # two frames per fuzzed frame, as fast as the server answers
    "DIREKT_CALL_SETUP_SECONDS": "600",  # no setup timeout ends the call half-way through a slow run
}
SDP_CODES = {"bad_frame", "bad_sdp"}  # the turn's party sending: nothing else may refuse it
ICE_CODES = {"bad_frame", "bad_candidate"}


@pytest.fixture(scope="module")
def server(standalone_redis: EmbeddedRedis) -> Iterator[ServerProcess]:
    process = ServerProcess(standalone_redis.url, **SERVER_ENV)
    yield process
    process.stop()


# --- the corpus: real descriptions and candidates --------------------------------------------------


@dataclass(frozen=True)
class Corpus:
    offers: tuple[str, ...]
    answers: tuple[str, ...]
    candidates: tuple[str, ...]


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    offer, answer = aiortc_descriptions(("audio", "video"), ("audio", "video"))
    chromium = "\r\n".join(CHROMIUM_OFFER_LINES) + "\r\n"
    gathered = [line[2:] for line in (offer + answer).split("\r\n") if line.startswith("a=candidate:")]
    assert gathered, "the aiortc peers gathered no candidates on loopback"
    chromium_answer = chromium.replace("a=setup:actpass", "a=setup:active")
    candidates = tuple(gathered + [p.values[0] for p in GOOD_CANDIDATES])
    return Corpus((offer, chromium), (answer, chromium_answer), candidates)


# --- the mutators (seeded) -------------------------------------------------------------------------

ODD = ["\x00", "\t", "\x7f", "\x1b", "\x0b", "é", "ö", "\u200b", "\u202e", "\ufeff", "😀", "٤", "\r", "\n", " "]
WORDS = ["Samtal med sjuksköterska", "𝓿=0", "a=ice-ufrag:😀", "m=vidéo 9", "\u202eevil", "ﬁngerprint"]


def odd_text(rng: random.Random, size: int) -> str:
    return "".join(rng.choice(ODD + list("a=:/ 019xv")) for _ in range(rng.randrange(size + 1)))


def giant(rng: random.Random) -> str:
    return str(rng.choice([2**32, 2**64, 10**30, 2**256])) if rng.random() < 0.5 else "9" * rng.randrange(20, 400)


def lines_of(text: str) -> list[str]:
    return text.replace("\r\n", "\n").split("\n")[:-1] if text.endswith("\n") else text.split("\n")


def crlf(lines: list[str]) -> str:
    return "\r\n".join(lines) + "\r\n"


def m_reuse(rng: random.Random, text: str) -> str:
    """tests/unit/test_call_sdp.py's line mutator, fed seeded mutations."""
    kinds = ["delete", "duplicate", "garble", "swap", "truncate"]
    mutations = [(rng.choice(kinds), rng.randrange(10_000), odd_text(rng, 12)) for _ in range(rng.randint(1, 6))]
    return mutate(lines_of(text), mutations)


def m_drop(rng: random.Random, text: str) -> str:
    lines = lines_of(text)
    for _ in range(rng.randint(1, 10)):
        if lines:
            del lines[rng.randrange(len(lines))]
    return crlf(lines)


def m_duplicate(rng: random.Random, text: str) -> str:
    lines = lines_of(text)
    n = rng.randrange(len(lines))
    lines[n:n] = [lines[n]] * rng.choice([1, 2, 10, 700, 2_000])
    return crlf(lines)


def m_flip(rng: random.Random, text: str) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 12)):
        n = rng.randrange(len(chars))
        chars[n] = chr(ord(chars[n]) ^ (1 << rng.randrange(7))) if rng.random() < 0.6 else rng.choice(ODD)
    return "".join(chars)


def m_huge_attribute(rng: random.Random, text: str) -> str:
    """A very long attribute value: to exactly the SDP limit, one over it, or up to the frame limit."""
    lines = lines_of(text)
    target = rng.choice(
        [MAX_SDP_CHARS, MAX_SDP_CHARS - 1, MAX_SDP_CHARS + 1, rng.randrange(MAX_SDP_CHARS, FRAME_LIMIT)]
    )
    head = rng.choice(["a=x-pad:", "a=ice-ufrag:", "a=fingerprint:sha-256 ", "a=rtpmap:111 ", "s="])
    room = max(1, target - len(crlf(lines)) - len(head) - 2)
    lines.insert(rng.randrange(1, len(lines) + 1), head + rng.choice("pA9:") * room)
    return crlf(lines)


def m_line_endings(rng: random.Random, text: str) -> str:
    ends = ["\r\n", "\n", "\r", "\r\r\n", "\n\r", " \r\n", "\r\n\r\n"]
    return "".join(line + rng.choice(ends) for line in lines_of(text))


def m_many_lines(rng: random.Random, text: str) -> str:
    lines = lines_of(text)
    filler = rng.choice(["a=x", "a=", "b=AS:1", "a=rtcp-fb:96 nack"])
    count = min(rng.randrange(600, 9_000), (MAX_SDP_CHARS - len(text)) // (len(filler) + 2))
    n = rng.randrange(1, len(lines) + 1)
    lines[n:n] = [filler] * count
    return crlf(lines)


def m_giant_numbers(rng: random.Random, text: str) -> str:
    return re.sub(r"\d+", lambda m: giant(rng) if rng.random() < 0.2 else m[0], text)


def m_no_media(rng: random.Random, text: str) -> str:
    lines = lines_of(text)
    if rng.random() < 0.5:
        return crlf([line for line in lines if not line.startswith("m=")])
    first = next((n for n, line in enumerate(lines) if line.startswith("m=")), len(lines))
    return crlf(lines[:first])


def m_many_sections(rng: random.Random, text: str) -> str:
    lines = lines_of(text)
    first = next((n for n, line in enumerate(lines) if line.startswith("m=")), 0)
    return crlf(lines + lines[first:] * rng.randint(1, 9))


def m_truncate(rng: random.Random, text: str) -> str:
    return text[: rng.randrange(len(text))]


def m_unicode(rng: random.Random, text: str) -> str:
    lines = lines_of(text)
    for _ in range(rng.randint(1, 4)):
        n = rng.randrange(len(lines))
        cut = rng.randrange(len(lines[n]) + 1)
        lines[n] = lines[n][:cut] + rng.choice(WORDS) + lines[n][cut:]
    return crlf(lines)


def m_keep(rng: random.Random, text: str) -> str:
    """Unchanged, or a harmless change (an attribute repeated): frames that should pass and be relayed."""
    if rng.random() < 0.5:
        return text
    lines = lines_of(text)
    repeatable = [n for n, line in enumerate(lines) if line.startswith(("a=rtcp-fb:", "a=extmap-allow-mixed"))]
    if repeatable:
        n = rng.choice(repeatable)
        lines.insert(n, lines[n])
    return crlf(lines)


SDP_MUTATORS: list[tuple[Callable[[random.Random, str], str], int]] = [
    (m_reuse, 6),
    (m_drop, 4),
    (m_duplicate, 3),
    (m_flip, 4),
    (m_huge_attribute, 5),
    (m_line_endings, 3),
    (m_many_lines, 3),
    (m_giant_numbers, 3),
    (m_no_media, 1),
    (m_many_sections, 1),
    (m_truncate, 2),
    (m_unicode, 2),
    (m_keep, 5),
]


def fuzzed_sdp(rng: random.Random, base: str) -> tuple[str, str]:
    """A mutated description and the names of its mutations (for failure messages: never the SDP)."""
    picks = rng.choices([m for m, _ in SDP_MUTATORS], [w for _, w in SDP_MUTATORS], k=rng.choice([1, 1, 2, 3]))
    text = base
    for mutator in picks:
        text = mutator(rng, text)[:FRAME_LIMIT] if text else text  # stacked mutations stay near the limit
    return text, "+".join(m.__name__[2:] for m in picks)


def fuzzed_candidate(rng: random.Random, base: str) -> tuple[str, str]:
    kind = rng.choice(["keep", "keep", "flip", "truncate", "giant", "inject", "long", "digits", "tokens", "noise"])
    text = base
    if kind == "flip" and text:
        text = m_flip(rng, text)
    elif kind == "truncate" and text:
        text = text[: rng.randrange(len(text))]
    elif kind == "giant":
        text = re.sub(r"\d+", lambda m: giant(rng) if rng.random() < 0.3 else m[0], text) or giant(rng)
    elif kind == "inject":
        text += rng.choice(["\r\na=candidate:1 1 udp 1 203.0.113.66 9 typ host", "\na=end-of-candidates", "\r\n"])
    elif kind == "long":
        text = (text or "candidate:1 1 udp 1 192.0.2.1 9 typ host") + " k v" * 300
        text = text[: rng.choice([MAX_CANDIDATE_CHARS, MAX_CANDIDATE_CHARS + 1, rng.randrange(900, 1_500)])]
    elif kind == "digits":
        text = text.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")) if rng.random() < 0.5 else text.upper()
    elif kind == "tokens":
        tokens = text.split(" ")
        n = rng.randrange(len(tokens))
        tokens[n : n + 1] = [] if rng.random() < 0.5 else [tokens[n], tokens[n]]
        text = " ".join(tokens)
    elif kind == "noise":
        text = odd_text(rng, 80)
    return text, kind


# --- frames, encoded (some broken at the codec or the schema) --------------------------------------


def encode(frame: dict[str, Any], codec: str, rng: random.Random) -> tuple[bytes | str, str]:
    """The frame on the wire, under the frame limit; now and then broken below the SDP (``bad_frame``)."""
    field_ = "sdp" if frame["t"] == "sdp" else "candidate"
    text = frame[field_]
    # A frame over the limit closes the socket (1009): stay under it, as long as may be (with room
    # for the breakages below), and relay checks compare with what was sent.
    while len(wire_bytes(_packed({**frame, field_: text}, codec))) > FRAME_LIMIT - 64:
        text = text[: len(text) * 7 // 8]
    frame[field_] = text
    roll = rng.random()
    if roll < 0.04:  # a string that is not UTF-8 (msgpack) or a lone surrogate (JSON)
        if codec == MSGPACK:
            return msgpack.packb({**frame, field_: b"v=0\r\n\xff\xfe\xc3(\xed\xa0\x80"}, use_bin_type=False), "not-utf8"
        broken = orjson.dumps({**frame, field_: "@@"}).decode()
        return broken.replace('"@@"', '"v=0\\r\\n\\ud800\\udc00x\\udfff"'), "not-utf8"
    if roll < 0.08:  # the field of another type, or a field the frame does not have
        odd = rng.choice([{**frame, field_: rng.choice([7, None, ["v=0"], {"v": 0}, 1.5])}, {**frame, "x": 1}])
        return _packed(odd, codec), "schema"
    return _packed(frame, codec), ""


def wire_bytes(data: bytes | str) -> bytes:
    return data.encode() if isinstance(data, str) else data


def _packed(frame: dict[str, Any], codec: str) -> bytes | str:
    return msgpack.packb(frame) if codec == MSGPACK else orjson.dumps(frame).decode()


# --- the parties: every frame kept until it is asked for ------------------------------------------


@dataclass
class Party:
    """One side's socket; frames read while waiting for something else wait in ``seen``."""

    name: str
    sock: Socket
    seen: list[dict[str, Any]] = field(default_factory=list)

    async def next_matching(self, wanted: Callable[[dict[str, Any]], bool], seconds: float) -> dict[str, Any] | None:
        """The first frame (kept or new) that ``wanted`` picks, within ``seconds``; None when none came."""
        for n, frame in enumerate(self.seen):
            if wanted(frame):
                return self.seen.pop(n)
        deadline = _now() + seconds
        while (left := deadline - _now()) > 0 and not self.sock.closed.is_set():
            try:
                frame = await self.sock.recv(left)
            except TimeoutError:
                return None
            if wanted(frame):
                return frame
            self.seen.append(frame)
        return None

    async def answers(self, data: bytes | str | None, ref: str, seconds: float) -> list[dict[str, Any]] | None:
        """Send raw ``data`` (if any), then a ping: the errors that came before the pong (the frame's
        answers), or None when the pong did not come within ``seconds`` (or the socket closed)."""
        if data is not None:
            await self.sock.ws.send(data)
        ping = f"{ref}-ping"
        await self.sock.send({"t": "ping", "n": 1, "ref": ping})
        before = len(self.seen)
        pong = await self.next_matching(lambda f: f.get("t") == "pong" and f.get("ref") == ping, seconds)
        if pong is None:
            return None
        errors = [f for f in self.seen[before:] if f.get("t") == "error"]
        self.seen[before:] = [f for f in self.seen[before:] if f.get("t") != "error"]
        return errors

    async def request(self, frame: dict[str, Any], reply: str) -> dict[str, Any]:
        ref = f"{self.name}-{next(self.sock.refs)}"
        await self.sock.send({**frame, "ref": ref})
        got = await self.next_matching(lambda f: f.get("ref") == ref and f.get("t") in (reply, "error"), timeout(5))
        assert got is not None and got["t"] == reply, (frame["t"], got)
        return got


def _now() -> float:
    return asyncio.get_running_loop().time()


def server_rss(server: ServerProcess) -> int:
    """VmRSS of the server process and its children, from /proc (bytes)."""
    total, pids = 0, [server.process.pid]
    while pids:
        pid = pids.pop()
        status = Path(f"/proc/{pid}/status").read_text()
        total += int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)[1]) * 1024  # type: ignore[index]
        for task in Path(f"/proc/{pid}/task").iterdir():
            pids += [int(child) for child in (task / "children").read_text().split()]
    return total


# --- the run ---------------------------------------------------------------------------------------


@dataclass
class Run:
    """The call as the protocol says it stands after each accepted frame (docs/protocol.md §7)."""

    case: str
    nurse: Party
    citizen: Party
    call: str = ""
    offer_pending: bool = False
    negotiated: bool = False  # an offer was accepted on this call: the next one is a renegotiation
    restarts: int = 0
    calls: int = 0
    codes: Counter[str] = field(default_factory=Counter)
    relayed: Counter[str] = field(default_factory=Counter)

    async def new_call(self) -> None:
        """Propose (the nurse) and accept (the citizen): a live call that SDP and ICE may reach."""
        proposed = await self.nurse.request({"t": "call_propose", "case": self.case, "media": "video"}, "call")
        self.call = proposed["call"]
        accepted = await self.citizen.request({"t": "call_accept", "case": self.case, "call": self.call}, "call")
        assert accepted["state"] == "accepted", accepted
        self.offer_pending, self.negotiated, self.restarts, self.calls = False, False, 0, self.calls + 1

    async def hang_up(self) -> None:
        ended = await self.nurse.request({"t": "call_hangup", "case": self.case, "call": self.call}, "call")
        assert (ended["state"], ended["reason"]) == ("ended", "hung_up"), ended

    def accepted(self, kind: str) -> None:
        if kind == "offer":
            self.restarts += self.negotiated
            self.negotiated, self.offer_pending = True, True
        elif kind == "answer":
            self.offer_pending = False

    async def send(self, sender: Party, frame: dict[str, Any], data: bytes | str, where: str) -> str:
        """One fuzzed frame: exactly one typed answer in time, and an accepted frame relayed once."""
        other = self.citizen if sender is self.nurse else self.nurse
        answers = await sender.answers(data, frame["ref"], timeout(PER_FRAME_S))
        assert not sender.sock.closed.is_set(), f"{where}: the socket was closed ({sender.sock.close_code})"
        assert answers is not None, f"{where}: no answer within {timeout(PER_FRAME_S)} s (the server hung on it)"
        assert len(answers) <= 1, f"{where}: {len(answers)} answers to one frame: {[a['code'] for a in answers]}"
        if answers:
            [error] = answers
            allowed = SDP_CODES if frame["t"] == "sdp" else ICE_CODES
            assert error["code"] in KNOWN_CODES and error["code"] in allowed, f"{where}: {error}"
            assert error["message"] and error.get("ref", frame["ref"]) == frame["ref"], f"{where}: {error}"
            self.codes[f"{frame['t']}:{error['code']}"] += 1
            return str(error["code"])
        keys = ("call", "kind", "sdp") if frame["t"] == "sdp" else ("call", "candidate", "mid", "mline")
        relay = await other.next_matching(
            lambda f: f.get("t") == frame["t"] and all(f.get(k) == frame[k] for k in keys), timeout(PER_FRAME_S)
        )
        assert relay is not None, f"{where}: accepted (no error) but never relayed to the other party"
        assert documented(frame), f"{where}: relayed, but not what protocol §7 says the server relays"
        self.relayed[frame["t"]] += 1
        return "relayed"


def documented(frame: dict[str, Any]) -> bool:
    """What docs/protocol.md §7 says a relayed SDP or candidate is, as far as a client can tell."""
    if frame["t"] == "ice":
        text = frame["candidate"]
        return len(text) <= MAX_CANDIDATE_CHARS and text.isascii() and (text == "" or " typ " in text.lower())
    lines = [line for line in frame["sdp"].replace("\r\n", "\n").split("\n") if line]
    ports = [int(line.split()[1].split("/")[0]) for line in lines if line.startswith("m=")]
    return (
        len(frame["sdp"]) <= MAX_SDP_CHARS
        and lines[0] == "v=0"
        and all(line.isascii() and line.isprintable() for line in lines)
        and 1 <= len(ports) <= 8
        and (not any(ports) or any(line.startswith("a=fingerprint:") for line in lines))
    )


FrameMaker = Callable[[Run, random.Random], tuple[Party, dict[str, Any], str]]


def sdp_frame(corpus: Corpus) -> FrameMaker:
    def make(run: Run, rng: random.Random) -> tuple[Party, dict[str, Any], str]:
        sender, kind, bases = (
            (run.citizen, "answer", corpus.answers) if run.offer_pending else (run.nurse, "offer", corpus.offers)
        )
        n = rng.randrange(len(bases))
        sdp, how = fuzzed_sdp(rng, bases[n])
        frame = {"t": "sdp", "case": run.case, "call": run.call, "kind": kind, "sdp": sdp}
        return sender, frame, f"{('aiortc', 'Chromium')[n]} {kind}, {how}"

    return make


def ice_frame(corpus: Corpus) -> FrameMaker:
    def make(run: Run, rng: random.Random) -> tuple[Party, dict[str, Any], str]:
        n = rng.randrange(len(corpus.candidates))
        candidate, how = fuzzed_candidate(rng, corpus.candidates[n])
        mid = rng.choice(["0", "1", "audio", ""]) if rng.random() < 0.85 else odd_text(rng, 40)
        mline = rng.choice([0, 1]) if rng.random() < 0.85 else rng.choice([-1, 63, 64, 2**31, 2**63 - 1, -(2**63)])
        frame = {"t": "ice", "case": run.case, "call": run.call, "candidate": candidate, "mid": mid, "mline": mline}
        return rng.choice([run.nurse, run.citizen]), frame, f"candidate {n}, {how}"

    return make


@pytest.mark.parametrize("codec", [MSGPACK, JSON], ids=["msgpack", "json"])
async def test_fuzzed_sdp_and_ice_in_a_live_call_get_typed_answers_and_the_chat_and_call_carry_on(
    server: ServerProcess, corpus: Corpus, codec: str
) -> None:
    makers = [sdp_frame(corpus), ice_frame(corpus)]
    async with open_chat(server.base, subprotocol=codec) as chat:
        run = Run(chat.case, Party("nurse", chat.ns), Party("citizen", chat.cs))
        await run.new_call()
        before = sent = 0
        for i in range(FRAMES):
            if i == WARM_UP:
                before = server_rss(server)
            if run.restarts >= MAX_RESTARTS and not run.offer_pending:
                await run.hang_up()  # the documented end of a call with its renegotiations spent
                await run.new_call()
            rng = random.Random(f"{SEED}-{codec}-{i}")  # frame i's mutations, whatever came before it
            sender, frame, how = rng.choices(makers, [3, 2])[0](run, rng)
            frame["ref"] = f"f{i}"
            data, broken = encode(frame, codec, rng)
            where = f"seed {SEED!r} {codec} frame {i} ({frame['t']} from the {sender.name}: {broken or how})"
            outcome = await run.send(sender, frame, data, where)
            sent += len(wire_bytes(data)) if i >= WARM_UP else 0
            if outcome == "relayed" and frame["t"] == "sdp":
                run.accepted(frame["kind"])
        grown = server_rss(server) - before
        summary = f"seed {SEED!r} {codec}: {dict(run.codes)}, relayed {dict(run.relayed)}, {run.calls} calls"

        # Nothing else reached either party: no refused frame was relayed, none twice, and no
        # frame told either of them the case or the call had gone.
        for party in (run.nurse, run.citizen):
            assert not party.sock.closed.is_set(), f"{summary}: the {party.name}'s socket closed"
            assert await party.answers(None, "end", timeout(5)) == [], f"{summary}: {party.name}"
            stray = [f["t"] for f in party.seen if f.get("t") not in ("call", "pong") and not call_event(f)]
            assert not stray, f"{summary}: the {party.name} got {Counter(stray)}"
        # The server keeps less than a third of what it was sent, whatever it kept it for.
        assert sent >= 3 * GROWTH_BOUND, f"{summary}: only {sent} bytes sent after the warm-up"
        assert grown < GROWTH_BOUND, f"{summary}: the server grew by {grown / 2**20:.1f} MiB ({sent} bytes sent)"
        # The fuzzing did reach the SDP and candidate checks, some frames passed them, and calls
        # whose renegotiations were spent were hung up and followed by new ones.
        assert run.codes["sdp:bad_sdp"] >= FRAMES // 5 and run.codes["ice:bad_candidate"] >= FRAMES // 8, summary
        assert run.relayed["sdp"] >= 50 and run.relayed["ice"] >= 50 and run.calls >= 3, summary

        await the_call_still_negotiates(run, corpus)
        await the_chat_still_works(run)
    assert server.process.poll() is None
    output = server.output()
    assert "Traceback" not in output and "a=ice-pwd" not in output and "typ host" not in output


def call_event(frame: dict[str, Any]) -> bool:
    """The transcript's system message of a call step (proposed, accepted, ended: protocol §7)."""
    return frame.get("t") == "msg" and frame.get("k") == "system" and str(frame.get("code")).startswith("call_")


async def the_call_still_negotiates(run: Run, corpus: Corpus) -> None:
    """The call is live in the state the protocol says, and a real answer and offer pass and are
    relayed; a call whose renegotiations are spent refuses an offer with ``call_state``, is hung up,
    and a new call negotiates."""
    run.nurse.seen = [f for f in run.nurse.seen if f.get("t") != "call"]
    assert (await run.nurse.request({"t": "join", "case": run.case}, "case"))["t"] == "case"
    assert await run.nurse.answers(None, "joined", timeout(5)) == []
    views = [f for f in run.nurse.seen if f.get("t") == "call" and f.get("call") == run.call]
    assert views, "a fresh join reports no live call"
    live = max(views, key=lambda f: int(f["v"]))
    expected = "negotiating" if run.negotiated else "accepted"
    assert (live["state"], live["restarts"]) == (expected, run.restarts), (live, run.restarts)

    async def real(sender: Party, kind: str) -> str:
        sdp = corpus.offers[0] if kind == "offer" else corpus.answers[0]
        frame = {"t": "sdp", "case": run.case, "call": run.call, "kind": kind, "sdp": sdp}
        frame["ref"] = f"real-{kind}-{next(sender.sock.refs)}"
        codec = MSGPACK if sender.sock.binary else JSON
        return await run.send(sender, frame, _packed(frame, codec), f"seed {SEED!r}: a real {kind}")

    if run.offer_pending:
        assert await real(run.citizen, "answer") == "relayed"
        run.accepted("answer")
    if run.restarts >= MAX_RESTARTS:
        offer = {"t": "sdp", "case": run.case, "call": run.call, "kind": "offer", "sdp": corpus.offers[0]}
        assert (await run.nurse.request(offer, "error"))["code"] == "call_state"
        await run.hang_up()
        await run.new_call()
    assert await real(run.nurse, "offer") == "relayed"
    assert await real(run.citizen, "answer") == "relayed"


async def the_chat_still_works(run: Run) -> None:
    for sender, reader, cid in ((run.citizen, run.nurse, "after-c"), (run.nurse, run.citizen, "after-n")):
        ack = await sender.request({"t": "send", "case": run.case, "cid": cid, "text": "Hörs vi?"}, "ack")
        assert ack["t"] == "ack"
        got = await reader.next_matching(lambda f, cid=cid: f.get("t") == "msg" and f.get("cid") == cid, timeout(5))
        assert got is not None and got["text"] == "Hörs vi?", f"the {reader.name} never got the message"
