"""Following one case's transcript: replay from the client's last id, then live entries in order.

A joined case is followed through the process's fan-out; its live entries
are delivered in stream order, deduplicated by stream id; on join and on a
fan-out reconnect the gap is read from the stream first. Citizens never
receive staff-only entries, live or replayed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any, Protocol

import msgpack

from direkt.server.background import spawn
from direkt.server.care.transcript import Entry, HistoryLost, decode_published, parse_id
from direkt.server.errors import Conflict, DirektError
from direkt.server.identity.sessions import Principal
from direkt.server.wiring import Services
from direkt.server.ws import frames as f
from direkt.server.ws.outlet import Outlet
from direkt.server.ws.refusals import error_frame

RESYNC_RETRY_S = 0.1  # a follower whose re-read failed tries again, backing off to RESYNC_RETRY_MAX_S
RESYNC_RETRY_MAX_S = 2.0


class Owner(Protocol):
    """The socket that follows (``chat.Chat``), as its follows see it."""

    out: Outlet
    s: Services
    who: Principal

    def is_following(self, follow: Follow) -> bool: ...

    def on_citizen_case(self, follow: Follow, state: Any) -> None: ...


class Follow:
    """One connection following one case's transcript.

    While ``live`` is False (joining, or after a fan-out reconnect) live entries
    are buffered; the gap is read from the stream, then the buffer is flushed.
    Entries at or below the last delivered id are dropped, so the client sees
    every entry exactly once, in stream order.
    """

    def __init__(self, owner: Owner, case_id: str, *, staff_view: bool) -> None:
        self.owner = owner
        self.out = owner.out
        self.case_id = case_id
        self.staff_view = staff_view
        self.epoch = ""
        self.last = (0, 0)
        self.live = False
        self.buffer: list[Entry] = []
        self.can_write = False
        self.role = "citizen"  # a citizen follower: "guardian" when acting for a child
        self.generation = 0  # counts fan-out reconnects: entries buffered before one may precede a gap
        # One resync at a time: a join's replay waits for room in the send queue, and a
        # fan-out reconnect's resync must not reset ``last`` under it (duplicates).
        self._resyncing = asyncio.Lock()

    async def resync(self, epoch: str, after: str, ref: str = "", read: str | None = None) -> None:
        """Replay after ``after``, then ``synced`` (with ``read``, this reader's read position, on a join)."""
        async with self._resyncing:
            await self._resync(epoch, after, ref, read)

    async def _resync(self, epoch: str, after: str, ref: str, read: str | None = None) -> None:
        self.live = False
        buffer, generation = self.buffer, self.generation
        try:
            await self._replay(epoch, after, buffer)
        except HistoryLost as lost:
            self.out.push({"t": "history_lost", "case": self.case_id, "epoch": lost.epoch, "ref": ref})
            await self._replay(lost.epoch, "", buffer)
        await self.out.room()
        # Live entries that arrived during the replay follow it without a gap, unless
        # pub/sub dropped meanwhile: then the resync that is pending re-reads the stream.
        while buffer and self.generation == generation:
            self._deliver(buffer.pop(0))
            await self.out.room()
        self.live = self.generation == generation  # no await from here to ``synced``
        last_id = f"{self.last[0]}-{self.last[1]}"
        synced = {"t": "synced", "case": self.case_id, "epoch": self.epoch, "last": last_id, "ref": ref}
        if read is not None:
            synced["read"] = read
        self.out.push(synced)

    async def _replay(self, epoch: str, after: str, buffer: list[Entry]) -> None:
        """Deliver every entry after ``after``, however many, a page at a time.

        Each entry waits for room in the send queue, and the next page is read
        only once this one is queued: memory stays at a page and a send queue,
        and a client that keeps reading is never closed as too slow. Raises
        like ``Transcripts.since`` on any page, so ``synced`` never follows a gap.
        """
        self.last = parse_id(after) if after else (0, 0)
        async with contextlib.aclosing(self.owner.s.transcripts.pages(self.case_id, epoch, after)) as pages:
            async for page in pages:
                self.epoch = page.epoch
                for entry in page.entries:
                    await self.out.room()
                    self._deliver(entry)
                buffer[:] = [e for e in buffer if parse_id(e.id) > self.last]  # the stream had these too
                if self.out.closing:
                    return  # nothing more reaches this socket; it resumes from its last id

    def on_message(self, channel: str, data: bytes) -> None:
        if data.startswith(b"~"):
            self._on_ephemeral(msgpack.unpackb(data[1:]))
            return
        published = Published.of(data, self.case_id)
        if published.epoch != self.epoch and self.epoch:
            self.out.push({"t": "history_lost", "case": self.case_id, "epoch": published.epoch})
            self.epoch, self.last = published.epoch, (0, 0)
        if self.live:
            self._deliver_live(published)
        else:
            self.buffer.append(published.entry)

    def on_resync(self) -> None:
        # Pub/sub dropped and is back: entries from now on may follow a gap. Buffer them
        # at once (delivering one would move ``last`` past the gap) until the stream is re-read.
        self.live = False
        self.buffer = []
        self.generation += 1
        spawn(self._safe_resync())

    async def _safe_resync(self) -> None:
        """Re-read the stream after a fan-out reconnect, again and again until it works.

        Pub/sub can be back before Redis answers commands (a Cluster still
        forming after a restart): one failed attempt left the follower buffering
        live entries for good, a socket that silently never got another message.
        """
        generation, delay = self.generation, RESYNC_RETRY_S
        while self.generation == generation and not self.out.closing:
            try:
                async with self._resyncing:  # from where the client is once any replay under way is done
                    if self.live or not self.owner.is_following(self):
                        return  # another resync (a join) caught up meanwhile, or the case was left
                    last = f"{self.last[0]}-{self.last[1]}" if self.last != (0, 0) else ""
                    await self._resync(self.epoch, last, "")
                return
            except DirektError as exc:
                if delay == RESYNC_RETRY_S:  # tell the client once that it is behind
                    self.out.push(error_frame(exc, "", self.owner.s.metrics))
            await asyncio.sleep(delay)
            delay = min(2 * delay, RESYNC_RETRY_MAX_S)

    def _deliver(self, entry: Entry) -> None:
        position = parse_id(entry.id)
        if position <= self.last:
            return
        self.last = position
        if entry.staff_only and not self.staff_view:
            return
        self.out.push(message_frame(self.case_id, entry))

    def _deliver_live(self, published: Published) -> None:
        """As ``_deliver``, with the entry's frame encoded once for every follower in this process."""
        if published.position <= self.last:
            return
        self.last = published.position
        if published.staff_only and not self.staff_view:
            return
        out = self.out
        out.push_encoded("msg", published.frame(out.codec))

    def _on_ephemeral(self, event: dict[str, Any]) -> None:
        if event.get("from") == self.owner.who.uid:
            return
        if event.get("t") == "case" and not self.staff_view:
            self.owner.on_citizen_case(self, event.get("state"))
        self.out.push(event)


def followed(follows: Mapping[str, Follow], case_id: str) -> Follow:
    """The socket's follow of ``case_id``; writing into a case takes joining it first.

    Raises:
        Conflict: the socket does not follow the case.
    """
    follow = follows.get(case_id)
    if follow is None:
        raise Conflict("join the case first")
    return follow


class Published:
    """One fan-out payload of a case, decoded once and its ``msg`` frame encoded once per codec.

    The fan-out hands the same payload to every follower of the case in this
    process (the nurse's socket and the citizen's, which gets the echo of her
    own message): each decoded it, built the frame and encoded it again.
    """

    __slots__ = ("_json", "_msgpack", "case_id", "data", "entry", "epoch", "position", "staff_only")

    _last: Published | None = None  # the payload being fanned out now (the same bytes for each follower)

    def __init__(self, data: bytes, case_id: str) -> None:
        epoch, entry = decode_published(data)
        self.data = data
        self.case_id = case_id
        self.epoch = epoch
        self.entry = entry
        self.position = parse_id(entry.id)
        self.staff_only = entry.staff_only
        self._msgpack: bytes | str | None = None
        self._json: bytes | str | None = None

    @classmethod
    def of(cls, data: bytes, case_id: str) -> Published:
        last = cls._last
        if last is not None and last.data is data and last.case_id == case_id:
            return last
        last = cls._last = cls(data, case_id)
        return last

    def frame(self, codec: f.Codec) -> bytes | str:
        """The entry's ``msg`` frame in ``codec``'s encoding."""
        if codec.binary:
            if self._msgpack is None:
                self._msgpack = codec.encode(message_frame(self.case_id, self.entry))
            return self._msgpack
        if self._json is None:
            self._json = codec.encode(message_frame(self.case_id, self.entry))
        return self._json


def message_frame(case_id: str, entry: Entry) -> dict[str, Any]:
    body = entry.body
    frame: dict[str, Any] = {"t": "msg", "case": case_id, "id": entry.id}
    frame.update({k: v for k, v in body.items() if k != "vis"})
    if entry.staff_only:
        frame["staff_only"] = True
    return frame
