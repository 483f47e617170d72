"""Staff taking and holding cases: claims, heartbeats, release, first contact.

A claim is one script, never read-then-write from Python, so no case is held
by two staff; it returns a lease with an increasing fencing token that every
later step of the holder carries. A staff member who serves queues in
several regions claims region by region, most urgent head first, with their
chat cap spread over the regions; a retried claim (same request id) gets the
same lease back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgpack

from direkt.server.errors import AtCapacity

from .keys import RegionKeys
from .lookup import WaitroomLookup
from .model import Staff
from .records import Lease, lease_from_reply
from .scripts import redis_errors

CLAIM_REPLY_TTL_MS = 120_000


class Leases(WaitroomLookup):
    """``claim_next``, ``claim``, ``heartbeat``, ``release`` and ``record_contact``."""

    async def claim_next(self, staff: Staff, request_id: str = "") -> Lease | None:
        """Lease the most urgent case (earliest deadline) this staff member serves.

        Args:
            staff: the claimer; queues are the (unit, skill) pairs they serve.
            request_id: repeat it on retry to get the same lease back.

        Returns:
            The lease, or None when every queue is empty.

        Raises:
            AtCapacity: the staff member holds ``max_chats`` cases already.
        """
        groups = self._queues_by_region(staff)
        if len(groups) == 1:
            ((region, queues),) = groups.items()
            return await self._claim_next_in(region, staff, queues, staff.max_chats, request_id)
        if request_id and (earlier := await self._earlier_reply(groups, request_id)) is not None:
            return earlier
        held = await self._held_counts(staff, groups)
        if sum(held.values()) >= staff.max_chats:
            raise AtCapacity(f"{staff.id} already holds as many chats as allowed")
        for region in await self._regions_by_head(groups):
            cap = staff.max_chats - sum(n for r, n in held.items() if r != region)
            request = f"{request_id}@{region}" if request_id else ""
            lease = await self._claim_next_in(region, staff, groups[region], cap, request)
            if lease is not None:
                return lease
        return None

    async def claim(self, case_id: str, staff: Staff) -> Lease:
        """Lease one specific waiting case from a queue the staff member serves."""
        allowed = [f"{u.id}:{s}" for u, s in self.directory.queues_of(staff)]
        groups = self._queues_by_region(staff)
        cap = staff.max_chats
        if len(groups) > 1:  # the script counts this region's cases; subtract the others'
            held = await self._held_counts(staff, groups)
            cap -= sum(n for region, n in held.items() if region != self._region_of(case_id))
        reply = await self._on_case("claim", case_id, staff.id, self.lease_ms, cap, self.window_ms, *allowed)
        return lease_from_reply(reply)

    async def heartbeat(self, case_id: str, staff_id: str, token: int) -> int:
        """Extend a lease; returns the new expiry (epoch ms)."""
        return int(await self._on_case("heartbeat", case_id, staff_id, token, self.lease_ms))

    async def release(self, case_id: str, staff_id: str, token: int) -> None:
        """Return a held case to its queue at its original deadline."""
        await self._on_case("release", case_id, staff_id, token)

    async def record_contact(self, case_id: str, staff_id: str, token: int) -> int:
        """Record first contact (settles the same-day guarantee); returns its time."""
        return int(await self._on_case("record_contact", case_id, staff_id, token))

    async def _claim_next_in(
        self, region: str, staff: Staff, queues: list[str], cap: int, request_id: str
    ) -> Lease | None:
        keys = RegionKeys(region)
        reply = await self.scripts.call(
            "claim_next", keys, keys.leases, self.clock(),
            staff.id, self.lease_ms, cap, request_id, self.window_ms, CLAIM_REPLY_TTL_MS, *queues,
        )  # fmt: skip
        return lease_from_reply(reply) if reply else None

    async def _earlier_reply(self, groups: Mapping[str, list[str]], request_id: str) -> Lease | None:
        """A retried cross-region claim: the lease an earlier attempt got, in any region."""
        with redis_errors():
            for region in groups:
                keys = RegionKeys(region)
                packed: Any = await self.client.get(f"{keys.prefix}req:{request_id}@{region}")
                if packed and (reply := msgpack.unpackb(packed, raw=True)):
                    return lease_from_reply(reply)
        return None

    async def _held_counts(self, staff: Staff, groups: Mapping[str, list[str]]) -> dict[str, int]:
        with redis_errors():
            pipe = self.client.pipeline(transaction=False)
            for region in groups:
                pipe.scard(RegionKeys(region).held(staff.id))
            counts = await pipe.execute()
        return dict(zip(groups, (int(n) for n in counts), strict=True))

    async def _regions_by_head(self, groups: Mapping[str, list[str]]) -> list[str]:
        """Regions ordered by their most urgent waiting case (peek, no claim)."""
        order: list[tuple[float, str]] = []
        with redis_errors():
            for region, queues in groups.items():
                keys = RegionKeys(region)
                pipe = self.client.pipeline(transaction=False)
                for queue in queues:
                    pipe.zrange(keys.prefix + "q:" + queue, 0, 0, withscores=True)
                heads = [top[0][1] for top in await pipe.execute() if top]
                if heads:
                    order.append((min(heads), region))
        return [region for _, region in sorted(order)]
