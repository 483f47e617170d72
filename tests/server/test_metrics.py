"""``GET /metrics`` of real ``direkt serve`` processes on one real Redis, read with prometheus_client's own parser.

A scripted shift (a citizen triages and submits, a nurse claims and chats, a
refused frame, a transfer, a second nurse claims and closes) moves exactly the
families it should, on one worker and on two; the output never holds a
personal identity number, a case id, a user id, message text or the token;
the token guards the path (401), and with no token set the path is not there
(404).
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families
from support import HUB_CONFIG, ServerProcess, reseeded, short_tmpdir, timeout
from support_hub import ERIK, ask, citizen, open_chat, staff

from direkt.loadtests.client import Client, Socket
from direkt.queue.ids import ulid
from direkt.queue.model import Skill
from direkt.queue.records import CaseRequest
from direkt.queue.urgency import DAY_MS, Urgency
from direkt.queue.waitroom import Waitroom
from direkt.server.metrics import UNSCANNED, Metrics, family_names
from direkt.server.redis.connect import connect
from direkt.server.redis.embedded import EmbeddedRedis
from direkt.server.region import load_region_config
from direkt.triage.model import Level

pytestmark = pytest.mark.slow

TOKEN = "scrape-token-0123456789abcdef"
NURSE_TEXT = "Hej Erik, hur länge har du haft ont i halsen?"
CITIZEN_TEXT = "Sedan i måndags, ungefär tio dagar."
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

# Every label a family may carry, and the closed sets its values come from (bounded cardinality).
LABEL_NAMES = {"role", "type", "unit", "skill", "urgency", "outcome", "guarantee", "code", "via", "level", "le"}
UNITS = {"1177-t", "vc-t", "vc-other", "bvc-t"}
SKILLS = {"nurse", "doctor", "administrator"}
URGENCIES = {"immediate", "urgent", "soon", "today", "days", UNSCANNED}
LEVELS = {level.name.lower() for level in Level}


@pytest.fixture(autouse=True)
async def clean_redis(standalone_redis: EmbeddedRedis) -> AsyncIterator[None]:
    client = await connect(standalone_redis.url)
    await client.flushall()
    await client.aclose()
    await asyncio.to_thread(reseeded, standalone_redis.url)
    yield


@pytest.fixture(scope="module")
def server(standalone_redis: EmbeddedRedis) -> Iterator[ServerProcess]:
    process = ServerProcess(standalone_redis.url, DIREKT_METRICS_TOKEN=TOKEN)
    yield process
    process.stop()


async def scrape_text(server: ServerProcess, headers: dict[str, str] | None = None) -> httpx.Response:
    async with httpx.AsyncClient(trust_env=False) as http:
        return await http.get(server.url("/metrics"), headers=headers or {"Authorization": f"Bearer {TOKEN}"})


async def scrape(server: ServerProcess) -> Samples:
    """Every sample of one scrape, by sample name and labels (parsed by prometheus_client)."""
    response = await scrape_text(server)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return samples_of(response.text)


def samples_of(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum over every series of ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


async def until(server: ServerProcess, check: Any, seconds: float = 10.0) -> Samples:
    """Scrape until ``check(samples)`` holds (state that settles after a reply, such as a socket's unregistering)."""
    deadline = time.monotonic() + timeout(seconds)
    while True:
        samples = await scrape(server)
        if check(samples):
            return samples
        assert time.monotonic() < deadline, "the metrics did not reach the expected values in time"
        await asyncio.sleep(0.05)  # polling interval of a deadline-bounded wait, not synchronisation


async def shift(base: str) -> dict[str, str]:
    """The scripted shift; returns what must never show in /metrics (identities, ids, texts)."""
    async with open_chat(base) as chat:  # Erik triages and submits, joins; nurse-1 claims and joins
        sent = await chat.ns.request({"t": "send", "case": chat.case, "cid": "n-1", "text": NURSE_TEXT}, "ack")
        assert sent["t"] == "ack", sent
        sent = await chat.cs.request({"t": "send", "case": chat.case, "cid": "c-1", "text": CITIZEN_TEXT}, "ack")
        assert sent["t"] == "ack", sent
        refused, _ = await ask(chat.cs, {"t": "send", "case": chat.case}, "ack")  # no cid: not a frame
        assert (refused["t"], refused["code"]) == ("error", "bad_frame"), refused
        moved = {"t": "transfer", "case": chat.case, "unit": "vc-other", "skill": "nurse", "note": "till VC"}
        assert (await chat.ns.request(moved, "done"))["t"] == "done"
        other = await staff(base, "nurse-other")
        try:
            sock = await other.socket()
            try:
                claimed = await sock.request({"t": "claim_next", "rid": "shift-2"}, "claimed")
                assert claimed["case"] == chat.case, claimed
                closing = {"t": "close", "case": chat.case, "outcome": "self_care_advice", "note": "egenvård"}
                assert (await sock.request(closing, "done"))["t"] == "done"
            finally:
                await sock.close()
        finally:
            await other.aclose()
        return {"pnr": ERIK, "case": chat.case, "case_tail": chat.case.split(".")[1], "uid": chat.citizen.me["uid"],
                "nurse": NURSE_TEXT, "citizen": CITIZEN_TEXT, "note": "till VC", "token": TOKEN}  # fmt: skip


def assert_shift_counted(before: Samples, after: Samples) -> None:
    def delta(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    assert delta("direkt_claims_total", skill="nurse") == 2  # nurse-1, then nurse-other after the transfer
    assert delta("direkt_claims_total", unit="vc-other", skill="nurse") == 1
    assert delta("direkt_claim_wait_seconds_count") == 1  # the wait is observed at the first claim only
    assert delta("direkt_claim_wait_seconds_count", urgency="days") == 1  # a sore throat for ten days
    assert delta("direkt_transfers_total", unit="vc-other", skill="nurse") == 1
    assert delta("direkt_closes_total", unit="vc-other", outcome="self_care_advice") == 1
    assert delta("direkt_errors_total", code="bad_frame", via="ws") == 1
    assert delta("direkt_triage_outcomes_total") == 1
    assert delta("direkt_ws_frames_received_total", type="send") == 2
    assert delta("direkt_ws_frames_received_total", type="claim_next") == 2
    assert delta("direkt_ws_frames_received_total", type="unread") == 1  # the refused frame
    assert delta("direkt_ws_frames_sent_total", type="ack") == 2
    assert delta("direkt_ws_frames_sent_total", type="msg") >= 4  # each message reaches both sides
    assert delta("direkt_redis_command_seconds_count") > 0
    assert total(after, "direkt_queue_depth") == 0  # the case is closed


def shift_counted(before: Samples, after: Samples) -> bool:
    try:
        assert_shift_counted(before, after)
    except AssertionError:
        return False
    return True


def assert_nothing_personal(text: str, secrets: dict[str, str]) -> None:
    for what, secret in secrets.items():
        assert secret not in text, f"/metrics shows the {what}"
    names_and_labels = "\n".join(line.rpartition(" ")[0] for line in text.splitlines() if not line.startswith("#"))
    assert not re.search(r"\d{10}", names_and_labels), "a run of 10 digits (a personnummer?) in a name or label"
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            assert set(sample.labels) <= LABEL_NAMES, sample
            assert sample.labels.get("unit", "vc-t") in UNITS, sample
            assert sample.labels.get("skill", "nurse") in SKILLS, sample
            assert sample.labels.get("urgency", "days") in URGENCIES, sample
            assert sample.labels.get("level", "days") in LEVELS, sample


async def test_every_family_is_shown_and_a_shift_moves_them(server: ServerProcess) -> None:
    before = await scrape(server)
    assert {name for name, _ in before} >= {"direkt_queue_depth", "direkt_queue_oldest_wait_seconds"}
    secrets = await shift(server.base)
    after = await until(server, lambda s: total(s, "direkt_ws_open_sockets") == 0)
    assert_shift_counted(before, after)
    shown = {family.name for family in text_string_to_metric_families((await scrape_text(server)).text)}
    # Under serve, a family shows once counted: no guarantee is breached here (the next test breaches one).
    assert shown >= set(family_names(Metrics())) - {"direkt_guarantee_breaches"}, shown
    assert_nothing_personal((await scrape_text(server)).text, secrets)


async def test_a_waiting_case_shows_in_its_queue_with_its_wait(server: ServerProcess) -> None:
    erik = await citizen(server.base)
    try:
        view = await erik.triage("seek_care", [("screen.now", ["none"]), ("reason", "sore_throat"),
                                               ("screen.risk", ["none"]), ("sore_throat.danger", ["none"]),
                                               ("sore_throat.medicines", ["none"]), ("sore_throat.fever", "no"),
                                               ("sore_throat.centor", ["cough"]), ("sore_throat.ill", "no"),
                                               ("sore_throat.days", 10), ("sore_throat.photo", "skip")])  # fmt: skip
        submitted = await erik.submit(view["id"])
        samples = await scrape(server)
        unit = submitted["queue"]["unit"]
        assert value(samples, "direkt_queue_depth", unit=unit, skill="nurse", urgency="days") == 1
        assert total(samples, "direkt_queue_depth") == 1
        assert value(samples, "direkt_queue_oldest_wait_seconds", unit=unit, skill="nurse", urgency="days") >= 0
        assert (("direkt_queue_oldest_wait_seconds", frozenset({("unit", unit), ("skill", "nurse"),
                                                                ("urgency", "days")})) in samples)  # fmt: skip
    finally:
        await erik.aclose()


async def test_a_breach_is_counted_and_the_oldest_wait_shows(
    server: ServerProcess, standalone_redis: EmbeddedRedis
) -> None:
    before = await scrape(server)
    client = await connect(standalone_redis.url)
    try:
        room = Waitroom(client, load_region_config(HUB_CONFIG).directory)
        now = room.clock()
        request = CaseRequest(ulid(now, os.urandom(10)), "1177-t", Skill.NURSE, Urgency.DAYS, now - 4 * DAY_MS)
        queued = await room.submit(request)  # submitted four days ago: both guarantees have passed
    finally:
        await client.aclose()

    def breaches(samples: Samples, guarantee: str) -> float:
        return total(samples, "direkt_guarantee_breaches_total", guarantee=guarantee) - total(
            before, "direkt_guarantee_breaches_total", guarantee=guarantee
        )

    after = await until(server, lambda s: breaches(s, "same_day") + breaches(s, "assessment") >= 2)
    assert (breaches(after, "same_day"), breaches(after, "assessment")) == (1, 1)  # the reaper counts each once
    labels = {"unit": queued.unit, "skill": "nurse", "urgency": "days"}
    assert value(after, "direkt_queue_depth", **labels) == 1
    assert 4 * 86400 - 60 <= value(after, "direkt_queue_oldest_wait_seconds", **labels) <= 4 * 86400 + 60


async def test_open_sockets_by_role(server: ServerProcess) -> None:
    erik, nurse = await citizen(server.base), await staff(server.base, "nurse-2")
    socks: list[Socket] = []
    try:
        socks = [await erik.socket(), await erik.socket(), await nurse.socket()]
        await until(server, lambda s: (value(s, "direkt_ws_open_sockets", role="citizen"),
                                       value(s, "direkt_ws_open_sockets", role="staff")) == (2, 1))  # fmt: skip
    finally:
        for sock in socks:
            await sock.close()
        await erik.aclose()
        await nurse.aclose()
    await until(server, lambda s: total(s, "direkt_ws_open_sockets") == 0)


async def test_no_token_or_a_wrong_one_is_refused(server: ServerProcess) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}, {"Authorization": "Basic x"}):
        response = await scrape_text(server, headers or {"X-None": "1"})
        assert response.status_code == 401, headers
        assert response.json()["error"]["code"] == "unauthenticated"
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert TOKEN not in response.text
    assert total(await scrape(server), "direkt_errors_total", code="unauthenticated", via="http") >= 4


def test_without_a_token_the_path_is_not_there(standalone_redis: EmbeddedRedis) -> None:
    process = ServerProcess(standalone_redis.url)
    try:
        with httpx.Client(trust_env=False) as http:
            for headers in ({}, {"Authorization": f"Bearer {TOKEN}"}, {"Authorization": "Bearer"}):
                response = http.get(process.url("/metrics"), headers=headers)
                assert response.status_code == 404, headers
                assert response.json() == http.get(process.url("/no-such-path")).json()
    finally:
        process.stop()


# -- two workers -----------------------------------------------------------------------------------


def sockets_by_worker(directory: Path) -> dict[str, float]:
    """Open sockets each worker wrote to its own file (``gauge_livesum_<pid>.db``), by pid."""
    found = {}
    for path in directory.glob("gauge_livesum_*.db"):
        values = MmapedDict.read_all_values_from_file(str(path))
        found[path.stem.rsplit("_", 1)[1]] = sum(v for key, v, *_ in values if "direkt_ws_open_sockets" in key)
    return found


async def test_two_workers_are_summed(standalone_redis: EmbeddedRedis) -> None:
    directory = short_tmpdir("dk-metrics-")
    stale = directory / "counter_999999.db"
    stale.write_bytes(b"an earlier run's file")
    process = ServerProcess(
        standalone_redis.url, workers=2, DIREKT_METRICS_TOKEN=TOKEN, DIREKT_MAX_SOCKETS_PER_USER="64",
        PROMETHEUS_MULTIPROC_DIR=str(directory),
    )  # fmt: skip
    clients: list[Client] = []
    socks: list[Socket] = []
    try:
        assert not stale.exists()  # emptied at start
        before = await scrape(process)
        secrets = await shift(process.base)
        # The other worker's frame counts reach the shared files within metrics.FLUSH_EVERY_S.
        after = await until(process, lambda s: total(s, "direkt_ws_open_sockets") == 0 and shift_counted(before, s))
        assert_shift_counted(before, after)
        assert_nothing_personal((await scrape_text(process)).text, secrets)
        # Sockets until both workers hold some (the kernel picks the worker), then every scrape sums both.
        clients.append(await citizen(process.base))
        while len([n for n in sockets_by_worker(directory).values() if n > 0]) < 2:
            assert len(socks) < 60, f"every socket went to one worker: {sockets_by_worker(directory)}"
            socks.append(await clients[0].socket())
            await socks[-1].expect("welcome", timeout(5))
        for _ in range(8):  # scrapes land on either worker: each shows the sum of both
            samples = await scrape(process)
            assert value(samples, "direkt_ws_open_sockets", role="citizen") == len(socks)
    finally:
        for sock in socks:
            await sock.close()
        for client in clients:
            await client.aclose()
        process.stop()
    assert not list(directory.glob("gauge_livesum_*.db"))  # each worker marked itself dead on the way out
