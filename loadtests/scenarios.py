"""The five load scenarios, as run by one client process on its share of the users.

Each scenario has a set-up (not measured: people log in, triage, connect,
and nurses claim) and a measured phase that starts at ``t0``, a time the
coordinator gives every client process so that they start together.

* ``waiting-room``: citizens arrive open-loop at ``arrival_rate``, each logs
  in, triages, asks for a chat and joins its case; the headline latency is
  from a citizen's scheduled arrival to their first ``position``. In the
  measured phase they wait, receiving position updates, while nurses take
  cases at ``claim_rate`` and close them, and the citizens served leave.
* ``chat``: ``nurses`` × ``chats`` open chats; messages go both ways at
  ``rate`` per second in all (open-loop); the headline latency is citizen →
  nurse from each message's scheduled send time to its arrival.
* ``reconnect-storm``: every citizen (chatting or waiting) and nurse drops
  its socket at once in the middle of chat traffic and resumes; the
  headline latency is from the drop to the resumed ``synced``; the ledger
  proves nothing was lost or doubled.
* ``flood``: as ``chat``, and in the middle third of the measured phase one
  citizen per client process floods her chat over four more sockets
  (loadtests/flood.py); the report gives the other chats' citizen → nurse
  latency in the first third and the middle third, and their ratio.
* ``calls``: call set-ups through the signaling relay at ``rate`` per second
  (propose, accept, ICE servers, offer, answer, both report connected, hang
  up), with real aiortc-made SDP; headline: scheduled start → connected.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass, field
from typing import Any

from direkt.loadtests.actors import Citizen, Nurse, Probe, guarded, stream_key
from direkt.loadtests.fleet import adult_numbers
from direkt.loadtests.schedule import paced, spread, ticks
from direkt.loadtests.wire import Http

SCENARIOS = ("waiting-room", "chat", "reconnect-storm", "calls", "flood")
DRAIN_S = 10.0
LEFTOVER_PAUSE_S = 0.25  # between leftovers one nurse closes: three frames, well under the hub's 20 a second


@dataclass
class Spec:
    """One client process's share of a run (JSON-able)."""

    scenario: str
    url: str
    citizens: int  # this process's citizens (for chat and calls: nurses × chats)
    nurses: list[int]  # indices of this process's nurses
    unit: str
    chats: int = 1
    rate: float = 0.0  # messages (chat, storm) or call set-ups (calls) per second, this process's share
    duration: float = 10.0
    size: int = 60
    arrival_rate: float = 0.0
    claim_rate: float = 0.0
    concurrency: int = 200
    pnr_offset: int = 0


@dataclass
class World:
    spec: Spec
    probe: Probe
    http: Http
    citizens: list[Citizen] = field(default_factory=list)
    nurses: list[Nurse] = field(default_factory=list)
    pairs: list[tuple[Nurse, Citizen]] = field(default_factory=list)
    setup: dict[str, Any] = field(default_factory=dict)

    def actors(self) -> list[Citizen | Nurse]:
        return [*self.citizens, *self.nurses]

    def open_sockets(self) -> int:
        return sum(1 for a in self.actors() if a.wire is not None and not a.wire.closed.is_set())


async def bounded(limit: int, jobs: Iterable[Awaitable[Any]]) -> list[Any]:
    """Await ``jobs`` with at most ``limit`` running (a coroutine does nothing until awaited)."""
    gate = asyncio.Semaphore(limit)

    async def one(job: Awaitable[Any]) -> Any:
        async with gate:
            return await job

    return await asyncio.gather(*(one(j) for j in jobs))


# -- set-up ------------------------------------------------------------------------------


async def arrive(world: World, count: int, rate: float) -> list[Citizen]:
    """``count`` citizens arrive at ``rate`` per second (open-loop); each waits for their first position."""
    spec, probe = world.spec, world.probe
    numbers = adult_numbers()
    start = time.monotonic()
    gate = asyncio.Semaphore(spec.concurrency if rate <= 0 else 1_000_000)

    async def one(i: int, at: float) -> Citizen | None:
        await asyncio.sleep(max(0.0, at - time.monotonic()))
        async with gate:
            citizen = Citizen(probe, world.http)
            pnr = numbers[(spec.pnr_offset + i) % len(numbers)]
            if await guarded(probe, "enter", citizen.enter(pnr, spec.unit)) is None and not citizen.case:
                return None
            if await guarded(probe, "connect", citizen.connect()) is None and citizen.wire is None:
                return None
            world.citizens.append(citizen)
            if await guarded(probe, "position", asyncio.wait_for(citizen.first_position.wait(), 60)) is None:
                return citizen
            if spec.scenario == "waiting-room":
                probe.headline(time.monotonic() - at)
            else:
                probe.other("arrival").record_s(time.monotonic() - at)
            return citizen

    found = await asyncio.gather(*(one(i, at) for i, at in enumerate(spread(count, rate, start))))
    world.setup["arrive_s"] = round(time.monotonic() - start, 2)
    return [c for c in found if c is not None]


async def staff_up(world: World) -> None:
    async def one(index: int) -> None:
        nurse = Nurse(world.probe, world.http, index)
        await nurse.log_in()
        await nurse.connect()
        world.nurses.append(nurse)

    await bounded(world.spec.concurrency, [guarded(world.probe, "nurse", one(i)) for i in world.spec.nurses])


async def open_chats(world: World) -> None:
    """Each nurse claims ``chats`` of this run's cases with claim_next.

    A case that is not this run's (a citizen of an earlier run against the same
    server, ``--runs`` with ``--url``, still waiting in the unit's queue) is
    closed as a leftover and the nurse claims again, until the queue is empty.
    """
    by_case = {c.case: c for c in world.citizens}

    async def one(nurse: Nurse) -> None:
        claims, chats = 0, 0
        while chats < world.spec.chats:
            case = await guarded(world.probe, "claim", nurse.claim(f"load-{nurse.index}-{claims}"))
            claims += 1
            if not case:
                return
            citizen = by_case.get(case)
            if citizen is None:
                await leftover(world, nurse, case)
                continue
            chats += 1
            world.pairs.append((nurse, citizen))
            await asyncio.wait_for(nurse.synced[case].wait(), 30)
            await asyncio.wait_for(citizen.ready.wait(), 30)

    started = time.monotonic()
    await bounded(world.spec.concurrency, [guarded(world.probe, "chat", one(n)) for n in world.nurses])
    world.setup["claim_s"] = round(time.monotonic() - started, 2)
    world.setup["chats"] = len(world.pairs)


async def leftover(world: World, nurse: Nurse, case: str) -> None:
    """Close a case an earlier run left waiting (counted in ``leftovers_closed``).

    Paced: a claim, a join and a close are three frames, and the hub's rate limit
    (``DIREKT_MESSAGE_RATE``, 20 a second) refused a nurse closing many at once.
    """
    if await guarded(world.probe, "leftover", nurse.close_case(case, "no_contact")):
        world.probe.counters["leftovers_closed"] += 1
    await asyncio.sleep(LEFTOVER_PAUSE_S)


# -- measured phases ---------------------------------------------------------------------


async def converse(world: World, start: float, duration: float) -> None:
    """Chat traffic, open-loop: message i goes to pair i//2, citizen → nurse when i is even."""
    spec, probe, pairs = world.spec, world.probe, world.pairs
    if not pairs:
        return
    tasks: set[asyncio.Task[None]] = set()
    i = 0
    async for at in paced(ticks(spec.rate, start, duration)):
        nurse, citizen = pairs[(i // 2) % len(pairs)]
        actor = citizen if i % 2 == 0 else nurse
        seq = probe.ledger.sent(stream_key(citizen.case, actor.side))
        template = "load-advice" if actor is nurse and seq % 10 == 9 else ""
        task = asyncio.create_task(actor.send(citizen.case, seq, at, spec.size, template))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        i += 1
    if tasks:
        await asyncio.gather(*tasks)


async def drain(world: World) -> None:
    """Wait until every acknowledged message has arrived (or ``DRAIN_S`` passes)."""
    deadline = time.monotonic() + DRAIN_S
    while time.monotonic() < deadline:
        totals = world.probe.ledger.totals()
        if totals.delivered >= totals.acked:
            return
        await asyncio.sleep(0.1)


async def serve_queue(world: World, start: float, duration: float) -> None:
    """Nurses take cases at ``claim_rate`` and close them at once; the citizen served leaves."""
    by_case = {c.case: c for c in world.citizens}
    if not world.nurses:
        return
    tasks = []
    i = 0
    async for _ in paced(ticks(world.spec.claim_rate, start, duration)):
        nurse = world.nurses[i % len(world.nurses)]
        tasks.append(asyncio.create_task(take_one(world, nurse, by_case, f"wr-{nurse.index}-{i}")))
        i += 1
    await asyncio.gather(*tasks)


async def take_one(world: World, nurse: Nurse, by_case: dict[str, Citizen], rid: str) -> None:
    case = await guarded(world.probe, "claim", nurse.claim(rid))
    if not case:
        return
    await guarded(world.probe, "close", nurse.close_case(case, "no_contact"))
    citizen = by_case.get(case)
    if citizen is not None:
        await guarded(world.probe, "leave", asyncio.wait_for(citizen.case_closed.wait(), 30))
        await citizen.close()
        world.probe.counters["served"] += 1


async def storm(world: World, at: float) -> None:
    """Every socket drops at ``at`` and resumes at once."""
    await asyncio.sleep(max(0.0, at - time.monotonic()))
    dropped, cpu = time.monotonic(), time.process_time()
    actors = [a for a in world.actors() if a.wire is not None and not a.leaving]
    for actor in actors:
        actor.drop()

    async def resume(actor: Citizen | Nurse) -> None:
        await actor.connect()
        await asyncio.gather(*(asyncio.wait_for(e.wait(), 60) for e in actor.synced.values()))
        world.probe.headline(time.monotonic() - dropped)

    await asyncio.gather(*(guarded(world.probe, "resume", resume(a)) for a in actors))
    world.setup["storm_clients"] = len(actors)
    world.setup["storm_s"] = round(time.monotonic() - dropped, 3)
    # this client process's CPU from the drop to the last resume (its chat traffic too, which is small beside
    # it): summed over the processes, divided by storm_clients it is the load client's CPU per resume
    world.setup["storm_client_cpu_ms"] = round(1000 * (time.process_time() - cpu))


# -- scenarios ---------------------------------------------------------------------------


async def set_up(world: World) -> None:
    spec = world.spec
    if spec.scenario == "waiting-room":
        await staff_up(world)
        await arrive(world, spec.citizens, spec.arrival_rate)
        return
    await arrive(world, spec.citizens, spec.arrival_rate)
    await staff_up(world)
    await open_chats(world)
    if spec.scenario == "calls":
        from direkt.loadtests.call_load import prepare

        await prepare(world)


async def measure(world: World, t0: float) -> None:
    spec, probe = world.spec, world.probe
    if spec.scenario == "waiting-room":
        before = probe.counters["positions"]
        await asyncio.gather(
            serve_queue(world, t0, spec.duration), asyncio.sleep(max(0, t0 + spec.duration - time.monotonic()))
        )
        probe.counters["positions_in_phase"] = probe.counters["positions"] - before
    elif spec.scenario == "chat":
        await converse(world, t0, spec.duration)
        await drain(world)
    elif spec.scenario == "flood":
        from direkt.loadtests.flood import flood

        third = spec.duration / 3
        probe.windows = [("quiet", t0, t0 + third), ("flood", t0 + third, t0 + 2 * third)]
        await asyncio.gather(converse(world, t0, spec.duration), flood(world, t0 + third, t0 + 2 * third))
        await drain(world)
    elif spec.scenario == "reconnect-storm":
        drop_at = t0 + min(2.0, spec.duration / 3)
        await asyncio.gather(converse(world, t0, spec.duration), storm(world, drop_at))
        await drain(world)
    else:
        from direkt.loadtests.call_load import calls

        await calls(world, t0, spec.duration)


async def tear_down(world: World) -> None:
    async def finish(nurse: Nurse) -> None:
        for case in list(nurse.cases):
            await nurse.close_case(case)

    await bounded(world.spec.concurrency, [guarded(world.probe, "close", finish(n)) for n in world.nurses])
    await bounded(world.spec.concurrency, [a.close() for a in world.actors()])
