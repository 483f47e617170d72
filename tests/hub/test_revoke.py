"""An assignment revoked by an operator (``direkt staff revoke``, or a unit taken in the live configuration)
closes that staff member's sockets at once."""

from __future__ import annotations

import asyncio

import msgspec
from support import HUB_CONFIG, ServerProcess, timeout
from support_hub import ERIK, GUARDIAN, citizen, kinds, not_logged_in, refused, staff, waiting_case

from direkt.queue.scripts import RedisClient
from direkt.server.care.audit import AuditLog
from direkt.server.cli import main
from direkt.server.liveconfig import ConfigStore, LiveConfig
from direkt.server.redis.embedded import EmbeddedRedis
from direkt.server.region import load_region_config


async def test_revoking_a_staff_member_closes_their_sockets_and_ends_their_sessions(
    server: ServerProcess, standalone_redis: EmbeddedRedis, capsys: object
) -> None:
    nurse = await staff(server.base, "nurse-1")
    other = await staff(server.base, "nurse-2")
    try:
        sock = await nurse.socket()
        bystander = await other.socket()
        await sock.expect("welcome")
        code = await asyncio.to_thread(main, ["staff", "revoke", "nurse-1", "--redis-url", standalone_redis.url])
        assert code == 0
        await asyncio.wait_for(sock.closed.wait(), timeout(5))
        assert sock.close_code == 4001
        assert await not_logged_in(nurse.http)
        assert not bystander.closed.is_set()
        pong = await bystander.request({"t": "ping", "n": 1}, "pong")
        assert pong["n"] == 1
        await bystander.close()
    finally:
        await nurse.aclose()
        await other.aclose()


async def test_a_logout_racing_a_new_socket_still_closes_it(server: ServerProcess) -> None:
    """The revocation may be published before the new socket listens for it: it must close anyway."""
    for _ in range(10):
        nurse = await staff(server.base, "nurse-2")
        try:
            sock = await nurse.socket()
            await nurse.call("POST", "/auth/logout")  # at once, without waiting for welcome
            await asyncio.wait_for(sock.closed.wait(), timeout(5))
            assert sock.close_code == 4001
        finally:
            await nurse.aclose()


# -- a unit taken from a nurse ---------------------------------------------------------------------


async def without_unit(redis: RedisClient, staff_id: str, unit: str) -> None:
    """An administrator takes ``unit`` from ``staff_id`` in the live configuration (server/liveconfig.py)."""
    live = LiveConfig(load_region_config(HUB_CONFIG), ConfigStore(redis), lambda: 0)
    await live.refresh()
    assert live.stamp is not None
    staff = [
        msgspec.structs.replace(s, units=[u for u in s.units if u != unit]) if s.id == staff_id else s
        for s in live.spec.staff
    ]
    await live.write(live.stamp.version, msgspec.structs.replace(live.spec, staff=staff), "admin")


async def test_a_unit_taken_from_a_nurse_ends_her_hold_on_its_cases_on_every_process_at_once(
    standalone_redis: EmbeddedRedis, redis: RedisClient
) -> None:
    """Staff and their units live in the configuration in Redis: taking a unit from Nora applies on
    every process within seconds. Her sockets on both close (4002) and reconnect; her console is told
    the case she held in that unit is lost, the case is back in its queue for the unit's nurses, and
    her joins, reads, close and claims there are refused (and audited) on both processes."""
    server = ServerProcess(standalone_redis.url)
    other = ServerProcess(standalone_redis.url)  # a second process on the same Redis
    nora_there = await staff(other.base, "nurse-1")
    erik, maja, nora, olle = (
        await citizen(server.base), await citizen(server.base, GUARDIAN),
        await staff(server.base, "nurse-1"), await staff(server.base, "nurse-2"),
    )  # fmt: skip
    try:
        case = await waiting_case(erik)  # at vc-t, one of Nora's two units
        majas = await waiting_case(maja)
        ns = await nora.socket()
        assert (await ns.request({"t": "claim", "case": case}, "claimed"))["case"] == case
        await ns.request({"t": "join", "case": case}, "case")
        assert (await ns.request({"t": "send", "case": case, "cid": "n1", "text": "Hej!"}, "ack"))["t"] == "ack"
        there = await nora_there.socket()  # her second tab, on the other process
        await there.request({"t": "join", "case": case}, "case")

        await without_unit(redis, "nurse-1", "vc-t")  # no restart
        for sock in (ns, there):
            await asyncio.wait_for(sock.closed.wait(), timeout(5))
            assert sock.close_code == 4002  # her rights changed: reconnect

        ns = await nora.socket()  # her console reconnects with the same login
        gone = await ns.expect("done", timeout(10), case=case)
        assert gone["state"] == "lost"
        snapshot = kinds(ns.skipped, "queue")[-1]
        assert snapshot["held"] == [] and {row["unit"] for row in snapshot["cases"]} <= {"1177-t"}
        there = await nora_there.socket()  # and her other tab, on the other process
        elsewhere = await there.request({"t": "join", "case": case}, "case")
        assert (elsewhere["t"], elsewhere["code"]) == ("error", "forbidden")
        rejoin = await ns.request({"t": "join", "case": case}, "case")
        assert (rejoin["t"], rejoin["code"]) == ("error", "forbidden")
        late = await ns.request({"t": "send", "case": case, "cid": "n2", "text": "Är du kvar?"}, "ack")
        assert (late["t"], late["code"]) == ("error", "conflict")  # not following the case: nothing written
        await refused(nora.call("GET", f"/api/staff/cases/{case}"), 403, "forbidden")
        await refused(nora.call("POST", f"/api/staff/cases/{case}/close", {"outcome": "no_contact"}), 403, "forbidden")
        claim = await ns.request({"t": "claim", "case": majas}, "claimed")
        assert (claim["t"], claim["code"]) == ("error", "not_allowed")
        assert (await ns.request({"t": "claim_next", "rid": "after"}, "claimed"))["case"] is None

        os_ = await olle.socket()  # the unit's other nurse takes the case over
        assert (await os_.request({"t": "claim", "case": case}, "claimed"))["case"] == case
        texts = [m.get("text") for m in (await erik.call("GET", f"/api/cases/{case}/transcript"))["messages"]]
        assert "Hej!" in texts and "Är du kvar?" not in texts
        records = [(r.actor, r.action, r.outcome, r.detail) for r in await AuditLog(redis, None).for_patient(ERIK)]
        assert records == [
            ("nurse-1", "case.claim", "ok", ""),
            ("nurse-1", "transcript.read", "ok", ""),
            ("nurse-1", "transcript.read", "ok", ""),  # her second tab
            ("system", "case.release", "ok", "unassigned"),
            ("nurse-1", "transcript.read", "denied", ""),  # her second tab, on the other process
            ("nurse-1", "transcript.read", "denied", ""),
            ("nurse-1", "case.read", "denied", ""),
            ("nurse-1", "case.close", "denied", "no_contact"),
            ("nurse-2", "case.claim", "ok", ""),
        ]
        for sock in (ns, there, os_):
            await sock.close()
    finally:
        for client in (erik, maja, nora, olle, nora_there):
            await client.aclose()
        server.stop()
        other.stop()
