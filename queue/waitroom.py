"""The digital waiting room on Redis: the thin I/O shell around the pure core.

Every state change is one Lua script (``scripts.py``); the shell validates
input against the care directory, computes deadlines with the pure core,
follows cases that moved region, and turns replies into values
(``records.py``). ``Waitroom`` puts its concerns together, one module each:

- ``lookup``: the shared client, directory and clock; finding units, queues,
  a case's region and record;
- ``admission``: routing and enqueueing a triaged case (``submit``, ``plan``,
  ``enqueue``);
- ``leases``: staff taking and holding cases (``claim_next``, ``claim``,
  ``heartbeat``, ``release``, ``record_contact``);
- ``moves``: moving a case on or out (``transfer``, ``reprioritise``,
  ``close``, ``abandon``) and finishing moves between regions;
- ``readings``: positions, queue contents, counters and live events;
- here: loading the scripts and the reaper.

Retry safety (what a caller may repeat after a lost reply): ``submit`` and
``enqueue`` (by case id), ``claim_next`` (by request id), ``claim``,
``heartbeat``, ``record_contact``, ``close`` and ``abandon``.
"""

from __future__ import annotations

from direkt.server.errors import DirektError

from .admission import Admission
from .keys import RegionKeys
from .leases import Leases
from .moves import Moves
from .readings import Readings
from .records import ReapReport

REAP_BATCH = 500


class Waitroom(Admission, Leases, Moves, Readings):
    """Waiting-room operations for every region of a directory."""

    async def load_scripts(self) -> None:
        await self.scripts.load()

    async def reap(self) -> ReapReport:
        """Return expired leases, count guarantee breaches, finish stuck moves.

        Safe to run from every server process at once: each step is atomic.
        A region that fails does not stop the others; the first failure is
        raised after all regions were tried.
        """
        total, failure = ReapReport(), None
        for region in self.directory.regions:
            try:
                total = total + await self._reap_region(region, self.clock())
            except DirektError as exc:
                failure = failure or exc
        if failure is not None:
            raise failure
        return total

    async def _reap_region(self, region: str, now: int) -> ReapReport:
        keys = RegionKeys(region)
        expired = int(await self.scripts.call("reap", keys, keys.leases, now, REAP_BATCH))
        sameday, assess = await self.scripts.call("sweep", keys, keys.sameday, now, REAP_BATCH)
        return ReapReport(expired, int(sameday), int(assess), await self._redrive_moves(region, now))
