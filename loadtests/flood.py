"""The ``flood`` scenario's flooders (docs/protocol.md §1, TARGETS 19).

During the middle third of the measured phase, the citizens of the first
``FLOODERS`` chats of each client process open as many more sockets as the
per-user cap allows and send chat messages on them as fast as they can,
opening them again whenever the server closes or refuses one. The other
chats go on at their pace; the report gives their citizen → nurse latency in
the first third (quiet) and the middle third (flood), and the ratio. The
flooders run in the same client processes as the chats they are compared
with, so the ratio counts the clients' own work too: an upper bound (the
test suite's tests/hub/test_flood_bystander.py floods from a process of its own).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING

from direkt.loadtests.actors import Citizen, Probe
from direkt.loadtests.wire import Frame, Wire

if TYPE_CHECKING:
    from direkt.loadtests.scenarios import World

FLOODERS = 1  # per client process
EXTRA_SOCKETS = 4  # the documented cap of 5 sockets a user, less the chat's own
TEXT = "flood " * 10


async def flood(world: World, start: float, end: float) -> None:
    flooders = [citizen for _, citizen in world.pairs[:FLOODERS]]
    world.probe.flooded.update(c.case for c in flooders)
    await asyncio.sleep(max(0.0, start - time.monotonic()))
    slots = [slot(world, citizen, end) for citizen in flooders for _ in range(EXTRA_SOCKETS)]
    await asyncio.gather(*slots)


async def slot(world: World, citizen: Citizen, end: float) -> None:
    """One socket slot: flood until the server closes it, open it again at once, until ``end``."""
    counters = world.probe.counters
    while time.monotonic() < end:
        assert citizen.session is not None
        try:
            url = await world.http.ticket_url(citizen.session)
            wire = await Wire.open(url, world.http.base_url, lambda frame: count(world.probe, frame))
        except Exception:  # noqa: BLE001 - a refused or failed handshake: count it and try again
            counters["flood_open_failed"] += 1
            await asyncio.sleep(0)
            continue
        counters["flood_sockets"] += 1
        with contextlib.suppress(Exception):
            await wire.send({"t": "join", "case": citizen.case, "after": citizen.cursor[citizen.case][1]})
            n = 0
            while not wire.closed.is_set() and time.monotonic() < end:
                await wire.send({"t": "send", "case": citizen.case, "cid": f"flood{id(wire)}-{n}", "text": TEXT})
                n += 1
                counters["flood_frames"] += 1
                await asyncio.sleep(0)  # let the reader run
        if not wire.closed.is_set():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(wire.close(), 5)
        counters[f"flood_closed_{wire.close_code}"] += 1


def count(probe: Probe, frame: Frame) -> None:
    """What the flooders were answered (none of it is the run's errors)."""
    kind = frame.get("t")
    if kind in ("ack", "welcome"):
        probe.counters[f"flood_{kind}"] += 1
    elif kind == "error":
        probe.counters[f"flood_{frame.get('code')}"] += 1
