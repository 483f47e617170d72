"""Refusals are in the access log like accesses (TARGETS 16): a citizen reaching for another
citizen's case and a guardian for a child of 13, over the socket and over HTTP. Records are
compared as lists: one refusal, one record."""

from __future__ import annotations

from support import ServerProcess
from support_hub import ERIK, GUARDIAN, LOVA, citizen, refused, waiting_case

from direkt.loadtests.client import Client
from direkt.queue.scripts import RedisClient
from direkt.server.audit import AuditLog, AuditRecord


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
