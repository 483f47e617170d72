"""One socket's way out: its bounded send queue, what drains it (a callback per loop turn, or a task), and the close.

Everything that sends to a client goes through its ``Outlet``: the handlers,
the case follows, the position feed, the listeners. A consumer too slow to
drain its queue is closed with 1008 and resumes from its last stream id;
replays wait for room in the queue instead (``room``).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from direkt.server.background import spawn
from direkt.server.metrics import Metrics
from direkt.server.ws import frames as f
from direkt.server.ws.outbox import Data, Outbox, SansioWriter, writer_for
from direkt.server.ws.refusals import CLOSE_POLICY

SEND_QUEUE_FRAMES = 512
REPLAY_STALL_S = 10.0  # a replay waits this long for the client to read before it counts as slow
CLOSE_TIMEOUT_S = 2.0


class Outlet:
    """The sending side of one accepted socket; ``closing`` once it is on its way out."""

    __slots__ = ("_closer", "_finish_waiter", "_finished", "_sender", "closing", "codec", "log", "metrics", "outbox",
                 "writer", "ws")  # fmt: skip

    def __init__(self, websocket: WebSocket, codec: f.Codec, log: Any, metrics: Metrics) -> None:
        self.ws = websocket
        self.metrics = metrics
        self.codec = codec
        self.log = log
        self.outbox = Outbox(SEND_QUEUE_FRAMES)
        self.writer = writer_for(websocket)
        self.writer.after_accept()
        self.closing = False
        self._sender: asyncio.Task[None] | None = None
        self._closer: asyncio.Task[None] | None = None
        self._finished = False  # the end marker was sent (or the socket is gone): nothing more is written
        self._finish_waiter: asyncio.Future[None] | None = None

    def start(self) -> None:
        """Under ``SansioWriter`` the frames of a loop turn are written by a callback (``_flush``), else by a task.

        A task per socket woke (a future, a task step) for every batch; a
        callback scheduled once per batch does the same write for less. The
        task takes over only while the transport is paused (flow control).
        """
        if isinstance(self.writer, SansioWriter):
            self.outbox.on_ready = self._flush_soon
        else:
            self._sender = asyncio.create_task(self._send_loop())

    def stop(self) -> None:
        """The socket is gone: nothing more is sent."""
        self.closing = True
        if self._sender is not None:
            self._sender.cancel()
        self._finish()

    async def close(self, code: int, reason: str) -> None:
        """Close with ``code`` after the frames already queued (such as the error saying why).

        Waits at most CLOSE_TIMEOUT_S, but never abandons the close: a client that
        stopped reading has a full send buffer, and the close frame can only be
        written once it drains. (Cancelling it on a timeout left a socket open but
        silent: no frames, no close code, so no reason to resume.) A slow
        consumer's full queue is dropped, not flushed; it resumes from its last id.
        """
        if self.closing:
            return
        self.closing = True
        self.outbox.wake()  # a replay waiting for room stops (push does nothing now)
        if len(self.outbox) >= SEND_QUEUE_FRAMES:  # a slow consumer: drop, it resumes from its last id
            self._drop_outbox()
        self.outbox.put(None)  # the sender stops after what is queued
        if self.ws.application_state != WebSocketState.CONNECTED:
            return
        self._closer = asyncio.create_task(self._send_close(code, reason))
        await asyncio.wait({self._closer}, timeout=CLOSE_TIMEOUT_S)

    def _drop_outbox(self) -> None:
        if self._sender is not None:
            self._sender.cancel()
        self.outbox.clear()

    async def _send_close(self, code: int, reason: str) -> None:
        if self._sender is not None:
            await asyncio.wait({self._sender})  # never raises for the sender's own end
        elif not self._finished:
            self._finish_waiter = asyncio.get_running_loop().create_future()
            await self._finish_waiter  # set by the flush that writes the end marker, or by stop
        with contextlib.suppress(Exception):
            await self.ws.close(code, reason)

    def _finish(self) -> None:
        self._finished = True
        if self._finish_waiter is not None and not self._finish_waiter.done():
            self._finish_waiter.set_result(None)

    def push(self, frame: dict[str, Any]) -> None:
        """Queue a frame; a client too slow to drain its queue is closed (it resumes later)."""
        if self.closing:
            return
        self.metrics.frame_out(frame.get("t"))
        if not self.outbox.put(self.codec.encode(frame)):
            self._too_slow()

    def push_encoded(self, kind: str, data: bytes | str) -> None:
        """As ``push``, for a frame already encoded in this socket's codec (one encoding for many sockets)."""
        if self.closing:
            return
        self.metrics.frame_out(kind)
        if not self.outbox.put(data):
            self._too_slow()

    async def room(self) -> None:
        """Wait until the send queue is under half full.

        A replay can be longer than the send queue: pushed all at once it closed
        every client that had missed more than SEND_QUEUE_FRAMES entries, so it
        could never catch up. Replays wait here instead, leaving room for live
        frames; a client that reads nothing for REPLAY_STALL_S is too slow.
        """
        while len(self.outbox) >= SEND_QUEUE_FRAMES // 2 and not self.closing:
            try:
                await asyncio.wait_for(asyncio.shield(self.outbox.taken()), REPLAY_STALL_S)
            except TimeoutError:
                self._too_slow()

    def _too_slow(self) -> None:
        self.log.warning("slow_consumer_closed")
        self.closing = True
        spawn(self._close_slow())

    async def _close_slow(self) -> None:
        self.closing = False
        await self.close(CLOSE_POLICY, "slow consumer: reconnect and resume")

    def _flush_soon(self) -> None:
        asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        """Everything queued goes out in one write now; ``None`` ends it. A paused transport: the task takes over."""
        if self._sender is not None:
            return  # the task writes (and takes what is queued)
        frames = self.outbox.take_now()
        if self._finished or not frames:
            return
        end = None in frames
        if end:
            frames = frames[: frames.index(None)]
        writer: SansioWriter = self.writer  # type: ignore[assignment]  # the only writer with a callback
        if not writer.writable():
            self._sender = asyncio.create_task(self._send_loop(frames, end))  # type: ignore[arg-type]  # no None
            return
        try:
            if frames:
                writer.write_now(frames)  # type: ignore[arg-type]  # no None in them
        except WebSocketDisconnect:
            end = True  # the socket is gone: its receive loop ends and unregisters it
        if end:
            self._finish()

    async def _send_loop(self, first: list[Data] | None = None, end: bool = False) -> None:
        """Everything queued goes out together (one write under ``direkt serve``); ``None`` ends it."""
        try:
            if first is not None:
                await self.writer.write(first)
                if end:
                    return
            while True:
                frames = await self.outbox.take()
                if None in frames:
                    await self.writer.write([f for f in frames[: frames.index(None)] if f is not None])
                    return
                await self.writer.write(frames)  # type: ignore[arg-type]  # no None in it
        finally:
            self._finish()
