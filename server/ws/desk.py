"""The staff desk of one staff socket: claims, leases held, and writes fenced by them.

A nurse's socket holds the cases she claimed, each with its fencing token,
and heartbeats their leases; it hears its regions' queue events and tells
its console of the queues it serves. A write into a held case carries the
token (``fenced``): a write by a nurse who no longer holds the case is
refused in the write's own script, audited, and the socket lets go of it
(DESIGN: no case held by two staff).
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

from direkt.queue.keys import events_channel
from direkt.queue.model import Staff
from direkt.server.care.audit import stale_token_refusal
from direkt.server.care.casefile import CaseFile
from direkt.server.care.workflow import Workflow
from direkt.server.care.writeguard import CaseGone, Guard
from direkt.server.errors import DirektError, NotFound, NotHolder, StaleToken, UnknownCase
from direkt.server.identity.access import check_staff_holds
from direkt.server.wiring import Services
from direkt.server.ws import frames as f
from direkt.server.ws.follow import Follow, followed
from direkt.server.ws.listeners import QueueListener
from direkt.server.ws.outlet import Outlet

T = TypeVar("T")

# Events about a case someone already holds that change no one else's queue: only
# the holder hears them. A first contact went to every nurse of the unit; with
# 200 nurses each opening 5 chats that was 200,000 frames in a few seconds
# (found by `direkt load chat`), and the console ignores them anyway.
HOLDER_ONLY_EVENTS = frozenset({"contact"})
# A case its nurse let go of on another socket, or lost to the reaper -> the state her other sockets are told.
LET_GO_EVENTS = {
    "expired": "lost",
    "requeued": "released",
    "transferred": "transferred",
    "closed": "closed",
    "moving": "transferred",
}


class StaffDesk:
    """What a staff connection keeps: citizens' connections have none (memory per socket)."""

    __slots__ = (
        "contacted",
        "follows",
        "held",
        "letting_go",
        "out",
        "queue_listener",
        "s",
        "served",
        "staff",
        "workflow",
    )

    def __init__(
        self, staff: Staff, services: Services, workflow: Workflow, out: Outlet, follows: dict[str, Follow]
    ) -> None:
        """``follows``: the socket's follows (``Chat.follows``), whose right to write the desk grants and takes."""
        self.staff = staff
        self.s = services
        self.workflow = workflow
        self.out = out
        self.follows = follows
        self.served = frozenset((u.id, s.value) for u, s in services.config.directory.queues_of(staff))
        self.queue_listener = QueueListener(self)
        self.held: dict[str, int] = {}  # case -> fencing token
        self.letting_go: set[str] = set()  # cases being closed, released or transferred
        self.contacted: set[str] = set()  # cases with a first contact recorded

    async def start(self) -> None:
        """The console opens: hear the queues, take up the cases held, send the queue snapshot."""
        for region in self.s.config.directory.regions:
            await self.s.fanout.subscribe(events_channel(region), self.queue_listener)
        held = await self.s.waitroom.held_by(self.staff)
        unassigned = await self.workflow.end_unassigned_leases(self.staff, held)
        for record in held:
            if self.workflow.serves(self.staff, record):
                self.held[record.case_id] = record.token
        await self.on_watch(f.Watch())
        for case_id in unassigned:  # held in a unit taken from her: her console lets go of it
            self.out.push({"t": "done", "case": case_id, "state": "lost"})

    async def stop(self) -> None:
        for region in self.s.config.directory.regions:
            await self.s.fanout.unsubscribe(events_channel(region), self.queue_listener)

    # -- frames --------------------------------------------------------------------------

    async def on_watch(self, frame: f.Watch) -> None:
        rows = await self.workflow.queue_snapshot(self.staff)
        self.out.push({"t": "queue", "cases": rows, "held": sorted(self.held), "ref": frame.ref})

    async def on_claim_next(self, frame: f.ClaimNext) -> None:
        opened = await self.workflow.claim_next(self.staff, frame.rid)
        if opened is None:
            self.out.push({"t": "claimed", "case": None, "ref": frame.ref})
            return
        self._took(*opened, ref=frame.ref)

    async def on_claim(self, frame: f.Claim) -> None:
        self._took(*await self.workflow.claim(self.staff, frame.case), ref=frame.ref)

    def _took(self, file: CaseFile, lease: Any, ref: str) -> None:
        self.held[lease.case_id] = lease.token
        if (follow := self.follows.get(lease.case_id)) is not None:
            follow.can_write = True
        self.out.push(
            {
                "t": "claimed",
                "case": lease.case_id,
                "file": file.console_view() | {"unit": lease.unit, "skill": lease.skill.value},
                "lease_until_ms": lease.lease_until_ms,
                "ref": ref,
            }
        )

    async def on_release(self, frame: f.Release) -> None:
        with self._letting_go(frame.case):
            await self.workflow.release(self.staff, frame.case)
        self._dropped(frame.case, "released", frame.ref)

    async def on_transfer(self, frame: f.Transfer) -> None:
        with self._letting_go(frame.case):
            await self.workflow.transfer(self.staff, frame.case, frame.unit, frame.skill, frame.note)
        self._dropped(frame.case, "transferred", frame.ref)

    async def on_close(self, frame: f.Close) -> None:
        with self._letting_go(frame.case):
            await self.workflow.close(
                self.staff, frame.case, frame.outcome, frame.note, unit=frame.unit, booking=frame.booking
            )
        self._dropped(frame.case, "closed", frame.ref)

    @contextlib.contextmanager
    def _letting_go(self, case_id: str) -> Iterator[None]:
        self.letting_go.add(case_id)
        try:
            yield
        finally:
            self.letting_go.discard(case_id)

    def _dropped(self, case_id: str, state: str, ref: str) -> None:
        self.held.pop(case_id, None)
        if (follow := self.follows.get(case_id)) is not None:
            follow.can_write = False
        self.out.push({"t": "done", "case": case_id, "state": state, "ref": ref})

    async def first_contact(self, case_id: str) -> None:
        """The nurse's first message in a case: recorded once per socket."""
        if case_id in self.contacted:
            return
        self.contacted.add(case_id)
        await self.workflow.first_contact(self.staff, case_id, self.held.get(case_id, 0))

    # -- leases --------------------------------------------------------------------------

    async def heartbeat_leases(self) -> None:
        for case_id, token in list(self.held.items()):
            try:
                until = await self.s.waitroom.heartbeat(case_id, self.staff.id, token)
                if not await self.s.guards.extend(
                    case_id, self.staff.id, token, until
                ) and await self.workflow.data_lost(case_id):
                    await self._end_lost(case_id)  # noticed without a write: her chat place is freed all the same
            except DirektError as exc:
                # Closed, released or transferred by this nurse meanwhile (seen in
                # `direkt load chat`'s tear-down): that is not a lost lease.
                letting_go = case_id in self.letting_go or self.held.get(case_id) != token
                if exc.code == "stale_token" and not letting_go:
                    await self._audit_stale(case_id, "case.heartbeat")  # first: a failure retries next round
                if exc.code in ("stale_token", "unknown_case", "case_conflict") and not letting_go:
                    self.held.pop(case_id, None)
                    self.out.push({"t": "done", "case": case_id, "state": "lost"})

    async def _audit_stale(self, case_id: str, action: str) -> None:
        """Audit a write of this nurse's refused for a stale fencing token (TARGETS 10)."""
        try:
            record = await self.s.waitroom.get(case_id)
            file = await self.s.files.get(case_id)
        except (UnknownCase, NotFound):
            return  # the case is gone: no patient to record it for
        await self.s.audit.record(stale_token_refusal(self.s.clock(), self.staff, record.unit, file, action))

    def on_queue_event(self, event: dict[str, Any], token: int | None = None) -> None:
        """A waiting-room event: forwarded if it concerns her queues or her; ``token``: the lease it ended."""
        mine = event.get("staff") == self.staff.id
        case_id = event.get("case", "")
        if mine and event["t"] in LET_GO_EVENTS and self._let_go_elsewhere(case_id, token):
            self.lost(case_id, LET_GO_EVENTS[event["t"]])  # let go of elsewhere: this socket writes no more
        if event["t"] in HOLDER_ONLY_EVENTS:
            if mine:
                self.out.push({"t": "queue_event", "event": event})
            return
        if (event.get("unit"), event.get("skill")) in self.served or mine:
            self.out.push({"t": "queue_event", "event": event})

    def _let_go_elsewhere(self, case_id: str, token: int | None) -> bool:
        """The lease this socket holds ended on another socket (or expired), not one it took since."""
        held = self.held.get(case_id)
        return held is not None and case_id not in self.letting_go and token in (None, held)

    def lost(self, case_id: str, state: str = "lost") -> None:
        """This socket no longer holds ``case_id`` (released, moved or taken elsewhere): say so once."""
        held = self.held.pop(case_id, None) is not None
        follow = self.follows.get(case_id)
        if follow is not None:
            follow.can_write = False
        if held or follow is not None:
            self.out.push({"t": "done", "case": case_id, "state": state})

    # -- fenced writes -------------------------------------------------------------------

    async def fenced(self, case_id: str, write: Callable[[Guard], Awaitable[T]]) -> T:
        """Make a write under the lease token this socket knows.

        If another socket of the same nurse has claimed the case again since,
        the newer token is taken up and the write tried once more. A write
        refused because she no longer holds the case is audited and the socket
        told the case is lost.
        """
        try:
            try:
                return await write(await self._guard(case_id))
            except StaleToken:
                if not await self._took_up_newer_lease(case_id):
                    raise
                return await write(await self._guard(case_id))
        except (StaleToken, NotHolder) as exc:  # refusals of the right to write, not of the write
            await self._refused_write(case_id, exc.code)
            raise
        except CaseGone:  # its data is gone (a Cluster node restarted empty): not a case she can serve
            await self._end_lost(case_id)
            raise

    async def _end_lost(self, case_id: str) -> None:
        """A held case whose data Redis lost: the waiting room closes it, and this socket lets go of it."""
        self.letting_go.add(case_id)  # its "closed" event is not news to this socket
        try:
            await self.workflow.end_lost_case(self.staff, case_id)
        finally:
            self.letting_go.discard(case_id)
        self.lost(case_id)

    async def _guard(self, case_id: str) -> Guard:
        token = self.held.get(case_id)
        if token is None:
            await self.refresh_write(followed(self.follows, case_id))
            token = self.held[case_id]
        return Guard.lease(case_id, self.staff.id, token, self.s.clock())

    async def _took_up_newer_lease(self, case_id: str) -> bool:
        try:
            record = await self.s.waitroom.get(case_id)
        except DirektError:
            return False
        if record.state != "claimed" or record.holder != self.staff.id or record.token == self.held.get(case_id):
            return False
        self.held[case_id] = record.token
        return True

    async def _refused_write(self, case_id: str, code: str) -> None:
        """A write by a nurse who no longer holds the case: audited, and the socket lets go of it."""
        with contextlib.suppress(DirektError):
            record = await self.s.waitroom.get(case_id)
            file = await self.s.files.get(case_id)
            await self.workflow.audit(self.staff, record, file, "chat.write", outcome="denied", detail=code)
        self.lost(case_id)

    async def refresh_write(self, follow: Follow) -> None:
        """The cached right to write is re-checked against Redis (the lease) before refusing."""
        record = await self.s.waitroom.get(follow.case_id)
        check_staff_holds(self.staff, record)
        self.held[follow.case_id] = record.token
        follow.can_write = True


# Frame type -> handler of the staff desk (``frames.STAFF_ONLY``). One table for the
# class, not a dict of bound methods per socket (memory per socket).
DESK_FRAMES: dict[type, Callable[[StaffDesk, Any], Awaitable[None]]] = {
    f.ClaimNext: StaffDesk.on_claim_next,
    f.Claim: StaffDesk.on_claim,
    f.Release: StaffDesk.on_release,
    f.Transfer: StaffDesk.on_transfer,
    f.Close: StaffDesk.on_close,
    f.Watch: StaffDesk.on_watch,
}
