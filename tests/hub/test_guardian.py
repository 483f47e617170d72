"""A guardian acting for a child: the case is the child's, the guardian writes as guardian,
and the staff view and the audit log name both."""

from __future__ import annotations

from support import ServerProcess
from support_hub import ELSA, GUARDIAN, citizen, staff

from direkt.server.care.audit import AuditLog
from direkt.server.redis.connect import connect
from direkt.server.redis.embedded import EmbeddedRedis

CHILD_FEVER = {"fever": True, "temperature": 38.5, "fever_days": 1}


async def test_a_guardian_chats_for_their_child_and_both_are_recorded(
    server: ServerProcess, standalone_redis: EmbeddedRedis
) -> None:
    guardian = await citizen(server.base, GUARDIAN)
    nurse = await staff(server.base, "nurse-1")
    try:
        view = await guardian.triage_as("seek_care", "child_fever", CHILD_FEVER, child=ELSA)
        assert view["patient"]["age"] == 8 and view["patient"]["for_child"] is True
        assert view["patient"]["name"] == "Elsa" and view["patient"]["respondent"] == "guardian"
        assert "Elsa" in view["result"]["headline"]["sv"]  # the guardian reads about the child by name
        case = (await guardian.submit(view["id"], chat_anyway=True))["case"]
        nsock = await nurse.socket()
        claimed = await nsock.request({"t": "claim_next", "rid": "g1"}, "claimed")
        assert claimed["case"] == case
        assert claimed["file"]["patient"]["pnr"] == ELSA and claimed["file"]["guardian"] == GUARDIAN
        await nsock.request({"t": "join", "case": case}, "case")
        gsock = await guardian.socket()
        await gsock.request({"t": "join", "case": case}, "case")
        await gsock.request({"t": "send", "case": case, "cid": "g-1", "text": "Hon har feber sedan i går."}, "ack")
        msg = await nsock.expect("msg", k="text")
        assert (msg["role"], msg["name"]) == ("guardian", "Maja Andersson")
        await gsock.close()
        await nsock.close()
        client = await connect(standalone_redis.url)
        try:
            records = await AuditLog(client, None).for_patient(ELSA)
        finally:
            await client.aclose()
        assert records and all(r.patient == ELSA and r.guardian == GUARDIAN for r in records)
        # a list, not a set: each access is one record, and a duplicate would be a wrong log extract
        assert [(r.action, r.actor, r.outcome) for r in records] == [
            ("case.claim", "nurse-1", "ok"),
            ("transcript.read", "nurse-1", "ok"),
        ]
    finally:
        await guardian.aclose()
        await nurse.aclose()
