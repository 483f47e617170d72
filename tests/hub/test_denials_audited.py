"""Refusals are in the access log like accesses (TARGETS 10 and 16): a citizen reaching for
another citizen's case and a guardian for a child of 13, over the socket and over HTTP, and a
nurse's lease heartbeat refused for a stale fencing token. Records are compared as lists:
one refusal, one record."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest
from support import ServerProcess, timeout
from support_hub import ERIK, GUARDIAN, LOVA, citizen, refused, staff, waiting_case

from direkt.loadtests.client import Client
from direkt.queue.scripts import RedisClient
from direkt.server.care.audit import AuditLog, AuditRecord
from direkt.server.redis.embedded import EmbeddedRedis


@pytest.fixture(scope="module")
def server(standalone_redis: EmbeddedRedis) -> Iterator[ServerProcess]:
    """Leases of 6 s: the keepalive heartbeats every 2 s."""
    process = ServerProcess(standalone_redis.url, DIREKT_LEASE_SECONDS="6")
    yield process
    process.stop()


async def refused_everywhere(client: Client, case: str) -> None:
    """Join over the socket and read the transcript over HTTP: both answer "no such case"."""
    sock = await client.socket()
    try:
        reply = await sock.request({"t": "join", "case": case}, "case")
        assert (reply["t"], reply["code"]) == ("error", "not_found")
    finally:
        await sock.close()
    await refused(client.call("GET", f"/api/cases/{case}/transcript"), 404, "not_found")


def denials(records: list[AuditRecord]) -> list[tuple[str, str, str, str, str, str]]:
    return [(r.actor, r.role, r.action, r.case_id, r.outcome, r.detail) for r in records]


async def test_another_citizens_case_and_a_child_of_13_are_refused_and_each_refusal_audited_once(
    server: ServerProcess, redis: RedisClient
) -> None:
    erik, maja, lova = [await citizen(server.base, pnr) for pnr in (ERIK, GUARDIAN, LOVA)]
    try:
        eriks = await waiting_case(erik)
        lovas = await waiting_case(lova)  # 13: she logs in herself
        await refused_everywhere(maja, eriks)  # another citizen's case
        await refused_everywhere(maja, lovas)  # her daughter's, who is 13
        await refused_everywhere(erik, lovas)
        log, maja_uid, erik_uid = AuditLog(redis, None), maja.me["uid"], erik.me["uid"]
        assert denials(await log.for_patient(ERIK)) == [
            (maja_uid, "citizen", "transcript.read", eriks, "denied", "not_found"),  # the join
            (maja_uid, "citizen", "transcript.read", eriks, "denied", "not_found"),  # the HTTP read
        ]
        assert denials(await log.for_patient(LOVA)) == [
            (maja_uid, "guardian", "transcript.read", lovas, "denied", "not_found"),
            (maja_uid, "guardian", "transcript.read", lovas, "denied", "not_found"),
            (erik_uid, "citizen", "transcript.read", lovas, "denied", "not_found"),
            (erik_uid, "citizen", "transcript.read", lovas, "denied", "not_found"),
        ]
        assert await log.for_patient(GUARDIAN) == []  # her own attempts are not about her
    finally:
        for client in (erik, maja, lova):
            await client.aclose()


async def test_a_heartbeat_with_a_stale_token_is_refused_and_audited(
    server: ServerProcess, standalone_redis: EmbeddedRedis, redis: RedisClient
) -> None:
    """Nora releases the case from a tab on another server while hers has lost its subscription
    (frozen, its pub/sub connection dropped): it never hears of the release, and its next lease
    heartbeat is refused for the stale token, audited, and the tab told the case is lost.

    (A tab that does hear of the release lets go of the case at once: no heartbeat, no record.)
    """
    other = ServerProcess(standalone_redis.url, DIREKT_LEASE_SECONDS="6")
    erik, nora, nora_elsewhere = (
        await citizen(server.base),
        await staff(server.base, "nurse-1"),
        await staff(other.base, "nurse-1"),
    )
    try:
        case = await waiting_case(erik)
        first = await nora.socket()
        assert (await first.request({"t": "claim_next", "rid": "r1"}, "claimed"))["case"] == case
        second = await nora_elsewhere.socket()
        await second.expect("queue")
        os.kill(server.process.pid, signal.SIGSTOP)
        try:
            await redis.execute_command("CLIENT", "KILL", "TYPE", "pubsub")  # the release is published to no one there
            assert (await second.request({"t": "release", "case": case}, "done"))["state"] == "released"
        finally:
            os.kill(server.process.pid, signal.SIGCONT)
        await first.expect("done", timeout(15), case=case, state="lost")  # the next keepalive round
        records = await AuditLog(redis, None).for_patient(ERIK)
        assert [(r.actor, r.action, r.outcome, r.detail) for r in records] == [
            ("nurse-1", "case.claim", "ok", ""),
            ("nurse-1", "case.release", "ok", ""),
            ("nurse-1", "case.heartbeat", "denied", "stale_token"),
        ]
        assert records[-1].unit == "vc-t" and records[-1].role == "nurse"
        await first.close()
        await second.close()
    finally:
        for client in (erik, nora, nora_elsewhere):
            await client.aclose()
        other.stop()


async def test_a_tab_that_hears_of_the_release_lets_the_case_go_at_once(
    server: ServerProcess, redis: RedisClient
) -> None:
    """The release's queue event reaches Nora's other tab: `done` (released) from the event, not `lost`
    from a refused heartbeat, and no refusal in the log."""
    erik, nora = await citizen(server.base), await staff(server.base, "nurse-1")
    try:
        case = await waiting_case(erik)
        first = await nora.socket()
        assert (await first.request({"t": "claim_next", "rid": "r1"}, "claimed"))["case"] == case
        second = await nora.socket()
        await second.expect("queue")
        assert (await second.request({"t": "release", "case": case}, "done"))["state"] == "released"
        assert (await first.expect("done", timeout(5), case=case))["state"] == "released"
        await first.request({"t": "watch"}, "queue", timeout(10))
        records = await AuditLog(redis, None).for_patient(ERIK)
        assert [(r.actor, r.action, r.outcome) for r in records] == [
            ("nurse-1", "case.claim", "ok"),
            ("nurse-1", "case.release", "ok"),
        ]
        await first.close()
        await second.close()
    finally:
        await erik.aclose()
        await nora.aclose()
