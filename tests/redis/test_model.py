"""Stateful property test: the waiting room against a model (TARGETS, queue 7).

Hypothesis drives random sequences of enqueue, claim-next, claim, heartbeat,
release, transfer (within and between regions), re-prioritise, abandon,
close, stale-token use, nurse crashes and clock jumps with reaping, against a
real Redis (embedded and cluster). After every step the invariants are
checked against what Redis actually holds:

- no case lost: every open case is in exactly one queue or leased, where the
  model says;
- never two holders: a claimed case has exactly the model's holder and sits in
  that holder's set only;
- fencing tokens increase, and a stale token is refused;
- order is by deadline: claim-next returns the earliest deadline;
- positions never move backwards unless a more urgent case arrives.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from redis.asyncio import RedisCluster
from support import FakeClock, at, make_directory

from direkt.queue.keys import RegionKeys
from direkt.queue.model import Skill, Staff
from direkt.queue.urgency import Urgency, deadline_ms
from direkt.queue.waitroom import Waitroom
from direkt.server.errors import AtCapacity, StaleToken
from direkt.server.redis.connect import connect

DIRECTORY = make_directory()
LEASE_MS = 60_000
# The queues the model uses, and who serves them.
QUEUES = [("vc-a1", Skill.NURSE), ("vc-a2", Skill.NURSE), ("vc-a1", Skill.DOCTOR), ("1177-a", Skill.NURSE)]
TRANSFER_TARGETS = [*QUEUES, ("1177-b", Skill.NURSE)]
STAFF = [DIRECTORY.staff[s] for s in ("nurse-a1", "nurse-a12", "doc-a", "nurse-ab", "nurse-b")]
UNIT_REGION = {u.id: u.region for u in DIRECTORY.units.values()}


@dataclass
class ModelCase:
    case_id: str
    unit: str
    skill: Skill
    urgency: Urgency
    submitted: int
    deadline: int
    state: str = "waiting"
    holder: str = ""
    token: int = 0
    lease_until: int = 0

    @property
    def region(self) -> str:
        return UNIT_REGION[self.unit]


def serves(staff: Staff, case: ModelCase) -> bool:
    return case.unit in staff.units and case.skill in staff.skills


class WaitroomMachine(RuleBasedStateMachine):
    url = ""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.clock = FakeClock(at("2026-11-23 10:00"))
        self.cases: dict[str, ModelCase] = {}
        self.old_tokens: list[tuple[str, str, int]] = []  # (case, staff, token) no longer valid
        self.max_token: dict[str, int] = {}  # per region: the fence counter only grows
        self.counter = 0
        self.snapshot: dict[str, dict[str, float]] = {}
        self.newcomers: set[str] = set()  # entered or moved up in a queue during the last step

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    @initialize()
    def connect(self) -> None:
        self.client = self.run(connect(self.url))
        if isinstance(self.client, RedisCluster):
            self.run(self.client.flushall(target_nodes=RedisCluster.PRIMARIES))
        else:
            self.run(self.client.flushall())
        self.room = Waitroom(self.client, DIRECTORY, clock=self.clock, lease_ms=LEASE_MS)
        self.run(self.room.load_scripts())

    def teardown(self) -> None:
        if hasattr(self, "client"):
            self.run(self.client.aclose())
        self.loop.close()

    # -- helpers -----------------------------------------------------------------------

    def open_cases(self, state: str) -> list[ModelCase]:
        return [c for c in self.cases.values() if c.state == state]

    def held_by(self, staff: Staff) -> int:
        return sum(1 for c in self.cases.values() if c.state == "claimed" and c.holder == staff.id)

    def take(self, case: ModelCase, staff: Staff, token: int) -> None:
        assert token > self.max_token.get(case.region, 0), "fencing tokens must increase in a region"
        assert token > case.token, "a case's fencing tokens must increase, also across regions"
        self.max_token[case.region] = token
        case.state, case.holder, case.token = "claimed", staff.id, token
        case.lease_until = self.clock() + LEASE_MS

    def drop_holder(self, case: ModelCase) -> None:
        self.old_tokens.append((case.case_id, case.holder, case.token))
        case.holder, case.lease_until = "", 0

    def note_newcomer(self, case: ModelCase) -> None:
        self.newcomers.add(case.case_id)

    # -- rules -------------------------------------------------------------------------

    @rule(queue=st.sampled_from(QUEUES), urgency=st.sampled_from(Urgency), back_min=st.integers(0, 600))
    def enqueue(self, queue: tuple[str, Skill], urgency: Urgency, back_min: int) -> None:
        unit, skill = queue
        self.counter += 1
        case_id = f"{UNIT_REGION[unit]}.C{self.counter:05d}"
        submitted = self.clock() - back_min * 60_000
        queued = self.run(self.room.enqueue(case_id, unit, skill, urgency, submitted))
        assert queued.created and queued.deadline_ms == deadline_ms(submitted, urgency)
        self.cases[case_id] = ModelCase(case_id, unit, skill, urgency, submitted, queued.deadline_ms)
        self.note_newcomer(self.cases[case_id])

    @precondition(lambda self: self.cases)
    @rule(data=st.data())
    def enqueue_again(self, data: st.DataObject) -> None:
        """A retried submission with the same case id changes nothing."""
        case = data.draw(st.sampled_from(sorted(self.cases.values(), key=lambda c: c.case_id)))
        queued = self.run(self.room.enqueue(case.case_id, "vc-a1", Skill.NURSE, Urgency.IMMEDIATE, self.clock()))
        assert not queued.created

    @rule(staff=st.sampled_from(STAFF))
    def claim_next(self, staff: Staff) -> None:
        eligible = [c for c in self.open_cases("waiting") if serves(staff, c)]
        if self.held_by(staff) >= staff.max_chats:
            with pytest.raises(AtCapacity):
                self.run(self.room.claim_next(staff))
            return
        lease = self.run(self.room.claim_next(staff))
        if not eligible:
            assert lease is None
            return
        assert lease is not None
        earliest = min(c.deadline for c in eligible)
        case = self.cases[lease.case_id]
        assert case in eligible and case.deadline == earliest, "claim-next must take the earliest deadline"
        self.take(case, staff, lease.token)

    @precondition(lambda self: self.cases)
    @rule(data=st.data(), staff=st.sampled_from(STAFF))
    def claim_specific(self, data: st.DataObject, staff: Staff) -> None:
        case = data.draw(st.sampled_from(sorted(self.cases.values(), key=lambda c: c.case_id)))
        if not serves(staff, case) or case.state != "waiting" or self.held_by(staff) >= staff.max_chats:
            return
        lease = self.run(self.room.claim(case.case_id, staff))
        self.take(case, staff, lease.token)

    @precondition(lambda self: any(c.state == "claimed" for c in self.cases.values()))
    @rule(data=st.data())
    def heartbeat(self, data: st.DataObject) -> None:
        case = data.draw(st.sampled_from(self.open_cases("claimed")))
        expiry = self.run(self.room.heartbeat(case.case_id, case.holder, case.token))
        case.lease_until = expiry
        assert expiry == self.clock() + LEASE_MS

    @precondition(lambda self: any(c.state == "claimed" for c in self.cases.values()))
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        case = data.draw(st.sampled_from(self.open_cases("claimed")))
        self.run(self.room.release(case.case_id, case.holder, case.token))
        self.drop_holder(case)
        case.state = "waiting"
        self.note_newcomer(case)

    @precondition(lambda self: any(c.state == "claimed" for c in self.cases.values()))
    @rule(data=st.data(), to=st.sampled_from(TRANSFER_TARGETS), retriage=st.none() | st.sampled_from(Urgency))
    def transfer(self, data: st.DataObject, to: tuple[str, Skill], retriage: Urgency | None) -> None:
        case = data.draw(st.sampled_from(self.open_cases("claimed")))
        unit, skill = to
        queued = self.run(self.room.transfer(case.case_id, case.holder, case.token, unit, skill, retriage))
        if retriage is not None:
            case.urgency, case.deadline = retriage, deadline_ms(case.submitted, retriage)
        assert queued.deadline_ms == case.deadline
        self.drop_holder(case)
        case.state, case.unit, case.skill = "waiting", unit, skill
        self.note_newcomer(case)

    @precondition(lambda self: any(c.state == "waiting" for c in self.cases.values()))
    @rule(data=st.data(), urgency=st.sampled_from(Urgency))
    def reprioritise(self, data: st.DataObject, urgency: Urgency) -> None:
        case = data.draw(st.sampled_from(self.open_cases("waiting")))
        new_deadline = self.run(self.room.reprioritise(case.case_id, urgency))
        assert new_deadline == deadline_ms(case.submitted, urgency)
        if new_deadline < case.deadline:
            self.note_newcomer(case)
        else:
            self.snapshot.pop(case.case_id, None)  # it moved back by its own re-triage
        case.urgency, case.deadline = urgency, new_deadline

    @precondition(lambda self: any(c.state in ("waiting", "claimed") for c in self.cases.values()))
    @rule(data=st.data())
    def abandon(self, data: st.DataObject) -> None:
        case = data.draw(st.sampled_from(self.open_cases("waiting") + self.open_cases("claimed")))
        assert self.run(self.room.abandon(case.case_id))
        if case.holder:
            self.drop_holder(case)
        case.state = "abandoned"

    @precondition(lambda self: any(c.state == "claimed" for c in self.cases.values()))
    @rule(data=st.data(), assessed=st.booleans())
    def close(self, data: st.DataObject, assessed: bool) -> None:
        case = data.draw(st.sampled_from(self.open_cases("claimed")))
        assert self.run(self.room.close(case.case_id, case.holder, case.token, "self_care", assessed=assessed))
        self.old_tokens.append((case.case_id, "", case.token))
        case.state = "closed"

    @precondition(lambda self: self.old_tokens)
    @rule(data=st.data())
    def stale_holder_acts(self, data: st.DataObject) -> None:
        case_id, staff_id, token = data.draw(st.sampled_from(self.old_tokens))
        case = self.cases[case_id]
        if not staff_id or (case.state == "claimed" and case.holder == staff_id and case.token == token):
            return
        with pytest.raises(StaleToken):
            self.run(self.room.heartbeat(case_id, staff_id, token))
        with pytest.raises(StaleToken):
            self.run(self.room.release(case_id, staff_id, token))

    @rule(ms=st.integers(1_000, 150_000))
    def time_passes_and_the_reaper_runs(self, ms: int) -> None:
        """Covers a crashed console: its leases simply stop being renewed."""
        now = self.clock.advance(ms)
        report = self.run(self.room.reap())
        expired = [c for c in self.open_cases("claimed") if c.lease_until <= now]
        assert report.expired == len(expired)
        for case in expired:
            self.drop_holder(case)
            case.state = "waiting"
            self.note_newcomer(case)

    # -- invariants --------------------------------------------------------------------

    @invariant()
    def redis_agrees_with_the_model(self) -> None:
        if not hasattr(self, "room"):
            return
        queues, leased, held = self.run(self.read_redis())
        in_queues = [case_id for members in queues.values() for case_id in members]
        assert len(in_queues) == len(set(in_queues)), "a case sits in two queues"
        for case in self.cases.values():
            where = [q for q, members in queues.items() if case.case_id in members]
            if case.state == "waiting":
                assert where == [(case.unit, case.skill)], f"{case.case_id} lost or misplaced: {where}"
                assert queues[(case.unit, case.skill)][case.case_id] == case.deadline
                assert case.case_id not in leased
            elif case.state == "claimed":
                assert not where and case.case_id in leased
                holders = [s for s, cases in held.items() if case.case_id in cases]
                assert holders == [case.holder], f"{case.case_id} held by {holders}"
            else:
                assert not where and case.case_id not in leased
        self.check_positions(queues)

    def check_positions(self, queues: dict[tuple[str, Skill], dict[str, float]]) -> None:
        ahead: dict[str, dict[str, float]] = {}
        for members in queues.values():
            for case_id, score in members.items():
                ahead[case_id] = {other: s for other, s in members.items() if (s, other) < (score, case_id)}
        for case_id, before in self.snapshot.items():
            if case_id not in ahead or case_id in self.newcomers:
                continue
            for other in ahead[case_id].keys() - before.keys():
                assert other in self.newcomers, f"{case_id} moved back behind {other}, which did not just arrive"
        self.snapshot, self.newcomers = ahead, set()

    async def read_redis(self) -> tuple[dict[tuple[str, Skill], dict[str, float]], set[str], dict[str, set[str]]]:
        queues: dict[tuple[str, Skill], dict[str, float]] = {}
        for unit, skill in TRANSFER_TARGETS:
            members = await self.client.zrange(RegionKeys(UNIT_REGION[unit]).queue(unit, skill), 0, -1, withscores=True)
            queues[(unit, skill)] = {m.decode(): s for m, s in members}
        leased: set[str] = set()
        held: dict[str, set[str]] = {}
        for region in ("a", "b"):
            keys = RegionKeys(region)
            leased |= {m.decode() for m in await self.client.zrange(keys.leases, 0, -1)}
            for staff in STAFF:
                held.setdefault(staff.id, set()).update(
                    m.decode() for m in await self.client.smembers(keys.held(staff.id))
                )
        return queues, leased, held


@pytest.mark.slow
def test_waitroom_matches_its_model(redis_url: str) -> None:
    machine = type("Machine", (WaitroomMachine,), {"url": redis_url})
    machine.TestCase.settings = settings(
        max_examples=40,
        stateful_step_count=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    machine.TestCase().runTest()
