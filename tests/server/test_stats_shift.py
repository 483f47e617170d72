"""The statistics of a scripted shift match the shift's own ledger exactly (issue 22, "Proof").

On a real ``direkt serve`` and the embedded Redis: three citizens arrive through triage (one a
guardian for her child), a fourth case has waited since four days ago (entered straight into the
waiting room, as a case left over from an outage would be) and breaches both care guarantees
when the reaper sweeps; Nora and Olle claim and chat; Olle transfers the child's case to 1177,
where Nora takes it and closes it; Lova leaves the queue before anyone contacts her; Nora closes
the old case without a word in the chat (its close is its first contact). The test counts what
it did (the ledger) and compares it with ``GET /api/stats`` (a supervisor's units and an
administrator's whole region) and with ``direkt stats --json`` and ``--csv``: the counts are
equal, the waits and chat times lie within the windows the test measured around each step.
``direkt stats`` refuses bad input with exit status 2.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import math
import os
import subprocess
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from support import DIREKT_SERVE, HUB_CONFIG, ServerProcess, timeout
from support_hub import ELSA, ERIK, GUARDIAN, LOVA, SORE_THROAT, citizen, frames_until, staff

from direkt.loadtests.client import Client, Socket
from direkt.queue.ids import ulid
from direkt.queue.model import Skill
from direkt.queue.records import CaseRequest
from direkt.queue.urgency import DAY_MS, Urgency
from direkt.queue.waitroom import Waitroom
from direkt.server.care.casefile import CaseFiles
from direkt.server.demo import demo_file
from direkt.server.redis.connect import connect
from direkt.server.redis.embedded import EmbeddedRedis
from direkt.server.region import load_region_config

pytestmark = pytest.mark.slow

STOCKHOLM = ZoneInfo("Europe/Stockholm")
CHILD_FEVER = {"fever": True, "temperature": 38.5, "fever_days": 1}
LATE = {"entry": "seek_care", "reason": "cough_cold", "care": "within_days"}  # the case left from four days ago


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class Ledger:
    """What the shift did, counted by the test."""

    arrived: Counter[str] = field(default_factory=Counter)  # "entry:…", "reason:…", "care:…", "urgency:…"
    arrived_at: dict[str, tuple[int, int]] = field(default_factory=dict)  # case -> window of its submission
    entered: dict[str, tuple[int, int]] = field(default_factory=dict)  # case -> window it entered the queue in
    unit_arrived: Counter[str] = field(default_factory=Counter)
    urgency: dict[str, str] = field(default_factory=dict)
    closes: Counter[str] = field(default_factory=Counter)  # by outcome
    first_contacts: dict[str, tuple[int, int]] = field(default_factory=dict)  # case -> bounds of its wait
    chats: Counter[str] = field(default_factory=Counter)  # claims by staff
    closed_by: Counter[str] = field(default_factory=Counter)
    transfers_by: Counter[str] = field(default_factory=Counter)
    claimed_at: dict[str, tuple[int, int]] = field(default_factory=dict)
    chat_time: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # staff -> bounds of each closed chat

    def arrive(
        self, case: str, unit: str, window: tuple[int, int], result: dict[str, Any], entered: tuple[int, int]
    ) -> None:
        urgency = str(result["urgency"])
        self.entered[case] = entered
        self.arrived.update([f"entry:{result['entry']}", f"reason:{result['reason']}", f"care:{result['care']}",
                             f"urgency:{urgency}"])  # fmt: skip
        self.arrived_at[case], self.urgency[case] = window, urgency
        self.unit_arrived[unit] += 1

    def contact(self, case: str, window: tuple[int, int]) -> None:
        submitted = self.arrived_at[case]
        self.first_contacts[case] = (window[0] - submitted[1], window[1] - submitted[0])

    def claim(self, who: str, case: str, window: tuple[int, int]) -> None:
        self.chats[who] += 1
        self.claimed_at[case] = window

    def close(self, who: str, case: str, outcome: str, window: tuple[int, int]) -> None:
        self.closes[outcome] += 1
        self.closed_by[who] += 1
        claimed = self.claimed_at[case]
        self.chat_time.setdefault(who, []).append((window[0] - claimed[1], window[1] - claimed[0]))


async def timed(call: Any) -> tuple[Any, tuple[int, int]]:
    started = now_ms()
    result = await call
    return result, (started, now_ms())


@pytest.fixture
def server(standalone_redis: EmbeddedRedis) -> Iterator[ServerProcess]:
    import redis

    client = redis.Redis.from_url(standalone_redis.url)
    client.flushall()
    client.close()
    process = ServerProcess(standalone_redis.url, DIREKT_REAP_INTERVAL_SECONDS="0.2")
    yield process
    process.stop()


@dataclass
class Crew:
    erik: Client
    maja: Client
    lova: Client
    nora: Client  # nurse-1: vc-t and 1177-t
    olle: Client  # nurse-2: vc-t
    chef: Client  # stats-chef: supervisor of vc-t and 1177-t
    admin: Client  # stats-admin


@pytest.fixture
async def crew(server: ServerProcess) -> AsyncIterator[Crew]:
    base = server.base
    clients = [await citizen(base, ERIK), await citizen(base, GUARDIAN), await citizen(base, LOVA)]
    clients += [await staff(base, who) for who in ("nurse-1", "nurse-2", "stats-chef", "stats-admin")]
    yield Crew(*clients)
    for client in clients:
        await client.aclose()


async def triaged(client: Client, view: dict[str, Any], ledger: Ledger, *, chat_anyway: bool = False) -> str:
    submitted, window = await timed(client.submit(view["id"], chat_anyway=chat_anyway))
    result = view["result"]
    profile = {"entry": "seek_care", "reason": result["reason"]["code"], "care": result["care_level"]}
    profile["urgency"] = result["urgency"] or 5
    ledger.arrive(str(submitted["case"]), str(submitted["queue"]["unit"]), window, profile, window)
    return str(submitted["case"])


async def request_ok(sock: Socket, frame: dict[str, Any], reply: str) -> dict[str, Any]:
    got = await sock.request(frame, reply, timeout(10))
    assert got["t"] == reply, got
    return got


async def chat(sock: Socket, case: str, cid: str) -> None:
    await request_ok(sock, {"t": "send", "case": case, "cid": cid, "text": f"Meddelande {cid}"}, "ack")


async def late_case(redis_url: str, ledger: Ledger) -> str:
    """A case submitted four days ago, straight into 1177-t's queue (with a case file, as the demo
    seeding writes one): both guarantees have passed."""
    client = await connect(redis_url)
    try:
        room = Waitroom(client, load_region_config(HUB_CONFIG).directory)
        now = room.clock()
        request = CaseRequest(
            ulid(now, os.urandom(10)), "1177-t", Skill.NURSE, Urgency.DAYS, now - 4 * DAY_MS, meta=LATE
        )
        started = now_ms()
        planned = await room.plan(request)
        await CaseFiles(client).create(demo_file(planned.case_id, request, "Gunnel Ström"))
        await room.enqueue(
            planned.case_id, planned.unit, request.skill, request.urgency, request.submitted_ms, meta=LATE
        )
        window = (started, now_ms())
    finally:
        await client.aclose()
    # It enters the queue now; its wait counts from its submission four days ago.
    ledger.arrive(planned.case_id, planned.unit, (now - 4 * DAY_MS, now - 4 * DAY_MS), LATE | {"urgency": 5}, window)
    return planned.case_id


def period() -> dict[str, str]:
    """Yesterday to tomorrow (local): the shift is inside it even when it runs over midnight."""
    today = dt.datetime.now(STOCKHOLM).date()
    return {"from": (today - dt.timedelta(days=1)).isoformat(), "to": (today + dt.timedelta(days=1)).isoformat()}


async def stats_of(client: Client, **params: str) -> dict[str, Any]:
    response = await client.http.get("/api/stats", params=period() | params)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def until_breached(client: Client) -> None:
    """The reaper has swept the old case's two guarantees (it runs every 0.2 s)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout(15)
    while True:
        total = (await stats_of(client))["total"]
        if (total["same_day"]["breached"], total["assessment"]["breached"]) == (1, 1):
            return
        assert loop.time() < deadline, total
        await asyncio.sleep(0.1)  # polls the statistics until the sweep is in the log


def cli(*args: str, redis_url: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DIREKT_") and k != "REDIS_URL"}
    environ |= {"PYTHONSAFEPATH": "1", "REDIS_URL": redis_url, "DIREKT_REGION_CONFIG": str(HUB_CONFIG)}
    return subprocess.run(
        [*DIREKT_SERVE[:-1], "stats", *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout(60),
        check=False,
    )


def within(value: int | None, bounds: tuple[int, int]) -> bool:
    return value is not None and bounds[0] <= value <= bounds[1]


async def test_the_statistics_of_a_scripted_shift_match_its_ledger(
    server: ServerProcess, standalone_redis: EmbeddedRedis, crew: Crew
) -> None:
    ledger = Ledger()

    # -- the morning: three citizens triage and submit; an old case is found in 1177's queue
    eriks = await triaged(crew.erik, await crew.erik.triage("seek_care", [tuple(a) for a in SORE_THROAT]), ledger)  # type: ignore[misc]
    view = await crew.maja.triage_as("seek_care", "child_fever", CHILD_FEVER, child=ELSA)
    elsas = await triaged(crew.maja, view, ledger, chat_anyway=True)
    lovas = await triaged(crew.lova, await crew.lova.triage("seek_care", [tuple(a) for a in SORE_THROAT]), ledger)  # type: ignore[misc]
    old = await late_case(standalone_redis.url, ledger)
    await until_breached(crew.chef)

    es, ms, n1, n2 = [await c.socket() for c in (crew.erik, crew.maja, crew.nora, crew.olle)]
    try:
        await request_ok(es, {"t": "join", "case": eriks}, "case")
        await request_ok(ms, {"t": "join", "case": elsas}, "case")

        # -- Nora takes Erik's case, writes (the first contact) and closes it with advice
        _, window = await timed(request_ok(n1, {"t": "claim", "case": eriks}, "claimed"))
        ledger.claim("nurse-1", eriks, window)
        await request_ok(n1, {"t": "join", "case": eriks}, "case")
        await frames_until(es, "case", 10, case=eriks, state="joined")
        _, window = await timed(chat(n1, eriks, "n-1"))
        await chat(es, eriks, "e-1")
        _, closing = await timed(request_ok(n1, {"t": "close", "case": eriks, "outcome": "self_care_advice"}, "done"))
        ledger.contact(eriks, (window[0], closing[1]))  # recorded after the ack, before the next frame's reply
        ledger.close("nurse-1", eriks, "self_care_advice", closing)

        # -- Nora takes the next case in deadline order, the old one, and closes it with a referral
        # without a word in the chat: that close is its first contact
        claimed, window = await timed(request_ok(n1, {"t": "claim_next", "rid": "old"}, "claimed"))
        assert claimed["case"] == old
        ledger.claim("nurse-1", old, window)
        _, closing = await timed(request_ok(n1, {"t": "close", "case": old, "outcome": "referred"}, "done"))
        ledger.contact(old, closing)
        ledger.close("nurse-1", old, "referred", closing)

        # -- Olle takes Elsa's case, writes to Maja, then sends it to 1177
        _, window = await timed(request_ok(n2, {"t": "claim", "case": elsas}, "claimed"))
        ledger.claim("nurse-2", elsas, window)
        await request_ok(n2, {"t": "join", "case": elsas}, "case")
        _, window = await timed(chat(n2, elsas, "o-1"))
        transfer = {"t": "transfer", "case": elsas, "unit": "1177-t", "skill": "nurse"}
        _, moving = await timed(request_ok(n2, transfer, "done"))
        ledger.contact(elsas, (window[0], moving[1]))
        ledger.transfers_by["nurse-2"] += 1

        # -- Lova gives up before anyone writes to her
        await crew.lova.call("POST", f"/api/cases/{lovas}/abandon")

        # -- at 1177, Nora takes Elsa's case (the only one left) and books a visit
        claimed, window = await timed(request_ok(n1, {"t": "claim_next", "rid": "elsa"}, "claimed"))
        assert claimed["case"] == elsas
        ledger.claim("nurse-1", elsas, window)
        _, closing = await timed(request_ok(n1, {"t": "close", "case": elsas, "outcome": "visit_booked"}, "done"))
        ledger.close("nurse-1", elsas, "visit_booked", closing)
    finally:
        for sock in (es, ms, n1, n2):
            await sock.close()

    # -- the end of the shift: the statistics are the ledger
    body = await stats_of(crew.chef)
    assert body["scope"] == ["1177-t", "vc-t"] and body["complete"] is True
    assert body["staff_names"] == {"nurse-1": "Nora Nilsson", "nurse-2": "Olle Ek"}
    assert set(body["reason_labels"]) == {"sore_throat", "child_fever", "cough_cold"}
    assert body["reason_labels"]["sore_throat"]["sv"] == "Ont i halsen"
    check_total(body["total"], ledger)
    assert body["units"]["vc-t"]["arrived"] == ledger.unit_arrived["vc-t"] == 3
    assert body["units"]["1177-t"]["arrived"] == ledger.unit_arrived["1177-t"] == 1
    assert body["units"]["vc-t"]["transferred"] == 1 and body["units"]["1177-t"]["transferred"] == 0
    assert body["units"]["1177-t"]["contacts"] == 2 and body["units"]["vc-t"]["contacts"] == 1
    region = await stats_of(crew.admin)
    assert region["total"] == body["total"] and region["scope"] == []
    assert sum(row["arrived"] for row in region["series"]) == 4
    assert sum(row["contacts"] for row in region["series"]) == 3

    # -- the same figures from the command line
    done = cli(
        "--region", "t", "--from", period()["from"], "--to", period()["to"], "--json", redis_url=standalone_redis.url
    )
    assert done.returncode == 0, done.stderr
    page_only = ("choices", "staff_names", "reason_labels")  # what the page shows besides the figures
    assert orjson.loads(done.stdout) == {k: v for k, v in region.items() if k not in page_only}
    done = cli(
        "--unit", "vc-t", "--from", period()["from"], "--to", period()["to"], "--csv", redis_url=standalone_redis.url
    )
    assert done.returncode == 0, done.stderr
    rows = {(r["scope"], r["figure"]): r["value"] for r in csv.DictReader(io.StringIO(done.stdout))}
    assert rows[("total", "arrived")] == "3" and rows[("total", "abandoned_before_contact")] == "1"
    assert rows[("total", "staff.nurse-2.transferred")] == "1"
    text = cli("--from", period()["from"], "--to", period()["to"], redis_url=standalone_redis.url)
    assert text.returncode == 0 and "same-day contact: 66.7 % (2 met, 1 breached)" in text.stdout, text


def check_total(total: dict[str, Any], ledger: Ledger) -> None:
    assert total["arrived"] == 4
    arrived_by = {f"{dim}:{k}": v for dim, counts in total["arrived_by"].items() for k, v in counts.items()}
    assert arrived_by == dict(ledger.arrived)
    assert total["contacts"] == sum(ledger.closes.values()) == 3
    assert total["contacts_by"]["outcome"] == dict(ledger.closes)
    by_urgency: dict[str, list[str]] = {}
    for case in ledger.first_contacts:
        by_urgency.setdefault(ledger.urgency[case], []).append(case)
    assert {u: f["count"] for u, f in total["first_contact"].items()} == {u: len(c) for u, c in by_urgency.items()}
    for urgency, cases in by_urgency.items():
        # Each wait lies within its bounds, so each order statistic (a nearest-rank percentile) lies
        # between the same order statistics of the lower and of the upper bounds.
        lows = sorted(ledger.first_contacts[c][0] for c in cases)
        highs = sorted(ledger.first_contacts[c][1] for c in cases)
        for name, q in (("p50_ms", 0.5), ("p90_ms", 0.9)):
            k = max(0, math.ceil(q * len(cases)) - 1)
            assert within(total["first_contact"][urgency][name], (lows[k], highs[k])), (urgency, name, lows, highs)
    # Erik's and Elsa's contacts kept the same-day guarantee; the old case broke both; Erik's and
    # Elsa's closes kept the assessment one. Lova left: she is owed nothing.
    assert total["same_day"] == {"met": 2, "breached": 1, "percent": 66.7}
    assert total["assessment"] == {"met": 2, "breached": 1, "percent": 66.7}
    assert (total["abandoned"], total["abandoned_before_contact"]) == (1, 1)
    assert (total["transferred"], total["moved_out"]) == (1, 0)
    assert set(total["staff"]) == {"nurse-1", "nurse-2"}
    for who, figures in total["staff"].items():
        assert figures["chats"] == ledger.chats[who]
        assert figures["closed"] == ledger.closed_by[who]
        assert figures["transferred"] == ledger.transfers_by[who]
        spans = ledger.chat_time.get(who, [])
        assert within(figures["chat_ms_total"], (sum(a for a, _ in spans), sum(b for _, b in spans))), (who, figures)
    hours = Counter(dt.datetime.fromtimestamp(w[1] / 1000, STOCKHOLM).hour for w in ledger.entered.values())
    starts = Counter(dt.datetime.fromtimestamp(w[0] / 1000, STOCKHOLM).hour for w in ledger.entered.values())
    if hours == starts:  # (no arrival straddled the turn of an hour)
        assert {h["hour"]: h["arrived"] for h in total["busiest_hours"]} == dict(hours.most_common(3))


def test_direkt_stats_refuses_bad_input_with_status_2(standalone_redis: EmbeddedRedis) -> None:
    for args, words in [
        (("--from", "2026-02-30"), "from must be a date"),
        (("--from", "2026-12-07", "--to", "2026-12-01"), "from must not be after to"),
        (("--from", "2026-01-01", "--to", "2026-12-31"), "too long"),
        (("--unit", "vc-nowhere", "--from", "2026-12-01"), "no unit 'vc-nowhere'"),
        (("--region", "nowhere", "--from", "2026-12-01"), "no region 'nowhere'"),
    ]:
        done = cli(*args, redis_url=standalone_redis.url)
        assert (done.returncode, done.stdout) == (2, ""), (args, done)
        assert done.stderr.startswith("direkt stats: ") and words in done.stderr, (args, done.stderr)
    done = cli("--from", "2026-12-01", "--json", "--csv", redis_url=standalone_redis.url)
    assert done.returncode == 2 and "not allowed with" in done.stderr
