"""Every Redis key and channel name of the waiting room, built in one place.

All keys of a region share the hash tag ``{<region>}`` so that every Lua script
touches one cluster slot only (DESIGN: "every Lua script touches keys of one
hash tag only"). A case's queue record lives in the slot of the region whose
queue holds it; a case id starts with that region so that any process can find
it without a look-up (``vm.01JD…``), and a tombstone follows a case that moved
to another region.

    dk:{r}:q:<unit>:<skill>       zset  waiting cases, score = contact deadline (ms)
    dk:{r}:case:<id>              hash  the case's queue record (state, holder, token, …)
    dk:{r}:leases                 zset  claimed cases, score = lease expiry (ms)
    dk:{r}:fence                  int   fencing-token counter (only ever increases)
    dk:{r}:seq                    int   event sequence number for live consoles
    dk:{r}:held:<staff>           set   cases a staff member holds in this region
    dk:{r}:served:<unit>:<skill>  zset  recent claims, score = claim time (service rate)
    dk:{r}:g:sameday              zset  open same-day-contact guarantees, score = deadline
    dk:{r}:g:assess               zset  open 3-day medical-assessment guarantees
    dk:{r}:outbox                 zset  cases moving to another region, score = start
    dk:{r}:req:<request id>       str   reply of an idempotent claim request (short TTL)
    dk:{r}:route:<ref>            str   "<case id>|<unit>" chosen for a submission (1 day)
    dk:{r}:stats                  hash  counters (enqueued, claimed, breaches, …)
    dk:events:<r>                 channel  live queue events (msgpack maps)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ROOT = "dk"
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
CASE_ID_PATTERN = re.compile(r"^([a-z0-9][a-z0-9-]{0,62})\.([0-9A-Za-z]{1,40})$")


@dataclass(frozen=True)
class RegionKeys:
    """Key builder for one region's slot."""

    region: str

    @property
    def prefix(self) -> str:
        return f"{ROOT}:{{{self.region}}}:"

    @property
    def channel(self) -> str:
        return events_channel(self.region)

    def queue(self, unit: str, skill: str) -> str:
        return f"{self.prefix}q:{unit}:{skill}"

    def case(self, case_id: str) -> str:
        return f"{self.prefix}case:{case_id}"

    def route(self, ref: str) -> str:
        return f"{self.prefix}route:{ref}"

    def held(self, staff_id: str) -> str:
        return f"{self.prefix}held:{staff_id}"

    def served(self, unit: str, skill: str) -> str:
        return f"{self.prefix}served:{unit}:{skill}"

    @property
    def leases(self) -> str:
        return f"{self.prefix}leases"

    @property
    def fence(self) -> str:
        return f"{self.prefix}fence"

    @property
    def stats(self) -> str:
        return f"{self.prefix}stats"

    @property
    def sameday(self) -> str:
        return f"{self.prefix}g:sameday"

    @property
    def assess(self) -> str:
        return f"{self.prefix}g:assess"

    @property
    def outbox(self) -> str:
        return f"{self.prefix}outbox"

    @property
    def log(self) -> str:
        """The region's event log: a stream of every waiting-room event, the source of the
        statistics; the retention job trims it."""
        return f"{self.prefix}log"


def events_channel(region: str) -> str:
    return f"{ROOT}:events:{region}"


def case_region(case_id: str) -> str:
    """The region a case id was created in.

    Raises:
        ValueError: when ``case_id`` is not a direkt case id.
    """
    match = CASE_ID_PATTERN.fullmatch(case_id)
    if not match:
        raise ValueError(f"{case_id!r} is not a case id (<region>.<id>)")
    return match[1]
