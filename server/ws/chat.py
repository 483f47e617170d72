"""One socket's chats: joining and following cases, and writing into them.

A join checks the socket may read the case, follows its transcript
(``follow.Follow``: replay, then live) and sends the case as this socket may
see it. Messages, typing and read markers are written under the socket's
right to write (``fenced``): a citizen's while the chat is open, a nurse's
while she holds the case (``desk.StaffDesk``). Call frames reach ``Calls``
with the socket's ``Chat``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgpack

from direkt.queue.model import Staff
from direkt.queue.records import CaseRecord
from direkt.queue.scripts import redis_errors
from direkt.server.background import spawn
from direkt.server.care.casefile import CITIZEN_TRIAGE, CaseFile
from direkt.server.care.transcript import BadPosition, parse_id
from direkt.server.care.workflow import Workflow
from direkt.server.care.writeguard import CaseGone, Guard
from direkt.server.errors import BadRequest, DirektError, Forbidden
from direkt.server.identity.access import check_citizen_may_write
from direkt.server.identity.sessions import Principal
from direkt.server.redis import keys
from direkt.server.wiring import Services
from direkt.server.ws import frames as f
from direkt.server.ws.desk import StaffDesk
from direkt.server.ws.follow import Follow, followed
from direkt.server.ws.outlet import Outlet
from direkt.server.ws.positions import PositionFeed
from direkt.server.ws.refusals import CLOSE_SESSION_ENDED

T = TypeVar("T")


class Chat:
    """The cases one socket follows, and its writes into them."""

    __slots__ = ("desk", "follows", "out", "positions", "s", "sid", "staff", "who", "workflow")

    def __init__(
        self, services: Services, workflow: Workflow, positions: PositionFeed, out: Outlet, who: Principal, sid: str
    ) -> None:
        self.s = services
        self.workflow = workflow
        self.positions = positions
        self.out = out
        self.who = who
        self.sid = sid
        self.staff: Staff | None = None  # set once the socket is registered
        self.desk: StaffDesk | None = None  # staff only: made when the console starts
        self.follows: dict[str, Follow] = {}

    @property
    def staff_desk(self) -> StaffDesk:
        """The staff member's desk (held cases, queues served)."""
        if self.desk is None:
            raise Forbidden("this frame is for staff")
        return self.desk

    # -- joining and following -----------------------------------------------------------

    async def on_join(self, frame: f.Join) -> None:
        file, record = await self._may_follow(frame.case)
        state = record.state
        follow = self.follows.get(frame.case)
        if follow is None:
            follow = Follow(self, frame.case, staff_view=self.staff is not None)
            self.follows[frame.case] = follow
            await self.s.fanout.subscribe(keys.case_channel(frame.case), follow)
        try:
            read = await self.s.transcripts.read_position(frame.case, self.who.uid)
            await follow.resync(frame.epoch, frame.after, ref=frame.ref, read=read)
        except BadPosition:
            await self.unfollow(frame.case)
            raise
        if self.staff is None:
            file = await self.workflow.citizen_joined(frame.case, file)
            follow.can_write = bool(file.ready_ms and not file.closed_ms)
            follow.role = "guardian" if file.guardian_pnr == self.who.pnr else "citizen"
            if state == "waiting":
                self.positions.watch(self.out, frame.case)
        else:
            follow.can_write = frame.case in self.staff_desk.held
        self.out.push(
            {
                "t": "case",
                "case": frame.case,
                "state": state,
                "ref": frame.ref,
                **self._case_views(file, record),
            }
        )
        if (call := await self.s.calls.live_view(frame.case)) is not None:
            self.out.push(call)

    def _case_views(self, file: CaseFile, record: CaseRecord) -> dict[str, Any]:
        """The case file as this socket may see it, and where the case waits (its unit and profession)."""
        if self.staff is not None:
            return {"file": file.console_view() | {"unit": record.unit, "skill": record.skill.value}}
        queue = self.workflow.queue_view(record.unit, record.skill, home=file.home_unit)
        return {"file": file.citizen_view(), "queue": queue}

    async def _may_follow(self, case_id: str) -> tuple[CaseFile, CaseRecord]:
        if self.staff is not None:
            return await self.workflow.staff_case(self.staff, case_id, "transcript.read")
        file = await self.workflow.citizen_case(self.who, case_id, "transcript.read", CITIZEN_TRIAGE)
        return file, await self.s.waitroom.get(case_id)

    async def on_leave(self, frame: f.Leave) -> None:
        await self.unfollow(frame.case)

    async def unfollow(self, case_id: str) -> None:
        follow = self.follows.pop(case_id, None)
        if follow is not None:
            await self.s.fanout.unsubscribe(keys.case_channel(case_id), follow)
        self.positions.unwatch(self.out, case_id)

    def is_following(self, follow: Follow) -> bool:
        return self.follows.get(follow.case_id) is follow

    def followed(self, case_id: str) -> Follow:
        return followed(self.follows, case_id)

    def on_citizen_case(self, follow: Follow, state: Any) -> None:
        """A citizen's case changed state: the chat opens or closes, the position feed starts or stops."""
        if state == "ready":
            follow.can_write = True
            self.positions.unwatch(self.out, follow.case_id)
            spawn(self._joined(follow.case_id))
        elif state in ("waiting",):
            follow.can_write = False
            self.positions.watch(self.out, follow.case_id)
        elif state in ("closed", "abandoned"):
            follow.can_write = False
            self.positions.unwatch(self.out, follow.case_id)

    async def _joined(self, case_id: str) -> None:
        """A citizen following the case when the chat opens has joined it."""
        with contextlib.suppress(DirektError):
            file = await self.s.files.get(case_id)
            await self.workflow.citizen_joined(case_id, file)

    # -- writing -------------------------------------------------------------------------

    async def on_send(self, frame: f.Send) -> None:
        follow = self.followed(frame.case)
        if self.staff is None and not follow.can_write:
            await self.refresh_write(follow)  # staff: their lease is checked with the write (``fenced``)
        body = await self._message_body(frame)
        dedupe = f"{self.who.uid}:{frame.cid}"
        appended = await self.fenced(
            frame.case, lambda guard: self.workflow.append(frame.case, body, dedupe=dedupe, guard=guard)
        )
        self.out.push(
            {
                "t": "ack",
                "case": frame.case,
                "cid": frame.cid,
                "id": appended.id,
                "epoch": appended.epoch,
                "dup": not appended.stored,
                "ref": frame.ref,
            }
        )
        if self.staff is not None:
            await self.staff_desk.first_contact(frame.case)

    async def fenced(self, case_id: str, write: Callable[[Guard], Awaitable[T]]) -> T:
        """Make a write with this socket's right to it, checked in the write's own script.

        Staff write under their lease (``StaffDesk.fenced``); citizens while
        the case file lets them. A case whose record is gone (Redis lost its
        data) ends the socket if the session went with it.
        """
        try:
            if self.staff is None:
                return await write(Guard.file(case_id))
            return await self.staff_desk.fenced(case_id, write)
        except CaseGone:
            if not await self.s.sessions.alive(self.sid):
                await self.out.close(CLOSE_SESSION_ENDED, "the session has ended")
            raise

    async def refresh_write(self, follow: Follow) -> None:
        """The cached right to write is re-checked against Redis before refusing."""
        if self.staff is not None:
            await self.staff_desk.refresh_write(follow)
            return
        check_citizen_may_write(await self.s.files.get(follow.case_id))
        follow.can_write = True

    async def _message_body(self, frame: f.Send) -> dict[str, Any]:
        text = frame.text.strip()
        body: dict[str, Any] = {
            "k": "text",
            "from": self.who.uid,
            "role": self._role(frame.case),
            "name": self.who.name,
            "cid": frame.cid,
        }
        if frame.photo:
            await self._check_photo(frame.case, frame.photo)
            body |= {"k": "photo", "photo": frame.photo}
        elif frame.template:
            if self.staff is None:
                raise Forbidden("templates are for staff")
            await self.s.templates.get(self.staff, frame.template)
            body |= {"k": "template", "tpl": frame.template}
        if not text and not frame.photo:
            raise BadRequest("a message needs text (or a photo)")
        body["text"] = text
        return body

    async def _check_photo(self, case_id: str, photo_id: str) -> None:
        with redis_errors():
            if not await self.s.client.exists(keys.photo(case_id, photo_id)):
                raise BadRequest("no such photo in this case; upload it first")

    def _role(self, case_id: str) -> str:
        """The sender's role in this case: a profession, citizen, or guardian acting for a child."""
        if self.staff is not None:
            return self.staff.profession.value
        follow = self.follows.get(case_id)
        return follow.role if follow is not None else "citizen"

    async def on_typing(self, frame: f.Typing) -> None:
        self.followed(frame.case)
        event = {"t": "typing", "from": self.who.uid, "role": self._role(frame.case), "on": frame.on}
        await self._ephemeral(frame.case, event)

    async def on_read(self, frame: f.Read) -> None:
        self.followed(frame.case)
        parse_id(frame.id)
        event = {"t": "read", "from": self.who.uid, "role": self._role(frame.case), "id": frame.id}
        await self._ephemeral(frame.case, event, read=(self.who.uid, frame.id))

    async def _ephemeral(self, case_id: str, event: dict[str, Any], read: tuple[str, str] | tuple[()] = ()) -> None:
        """Typing and read markers: published (and the marker stored) only under this socket's right to write."""
        payload = b"~" + msgpack.packb({**event, "case": case_id})
        await self.fenced(case_id, lambda guard: self.s.guards.publish(guard, case_id, payload, read))


# Frame type -> handler of the chat. One table for the class, not a dict of bound
# methods per socket (memory per socket).
CHAT_FRAMES: dict[type, Callable[[Chat, Any], Awaitable[None]]] = {
    f.Join: Chat.on_join,
    f.Leave: Chat.on_leave,
    f.Send: Chat.on_send,
    f.Typing: Chat.on_typing,
    f.Read: Chat.on_read,
}
