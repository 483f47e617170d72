"""WebSocket keepalive pings of every open socket, by one task per process.

uvicorn pings each socket from its own timers: a ``TimerHandle`` per socket
for the next ping, another for the pong's deadline (about 0.65 KiB of every
open socket, tracemalloc). After accept the hub takes the pings over
(``PingWheel.add``): uvicorn's timers are cancelled, and a wheel of ``SLOTS``
sets turns once per uvicorn's ping interval. At its turn a socket gets a
ping, or, when the previous ping has had no pong for uvicorn's ping timeout,
is failed with 1011 by uvicorn's own ``keepalive_timeout``, as uvicorn does.
A peer that stops answering is closed within interval + timeout, as before.

uvicorn still reads the pongs (``handle_pong``): it clears
``pending_ping_payload`` and, with no pong timer of its own, schedules nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import struct
from typing import Any

import structlog
from websockets.exceptions import WebSocketException

log = structlog.get_logger("direkt.pings")
SLOTS = 20
# A ping sent at one turn is judged at a later turn exactly one interval on; uvloop's clock has
# millisecond steps, so 20 s measured is 19.999... about once in forty, and the dead peer got a
# whole extra turn (40 s, not 20). Slack far below any timeout absorbs that.
SLACK_S = 0.01


def takes_pings(proto: Any) -> bool:
    """A uvicorn websockets-sansio protocol after its handshake, with pings configured: the wheel can ping it."""
    return (
        getattr(proto, "handshake_complete", False)
        and callable(getattr(proto, "stop_keepalive", None))
        and callable(getattr(proto, "keepalive_timeout", None))
        and hasattr(proto, "pending_ping_payload")
        and (getattr(proto, "ping_interval", None) or 0) > 0
    )


def ping_round(proto: Any, now: float) -> None:
    """One socket's turn: fail it if its last ping went unanswered for the timeout, else ping it."""
    if proto.close_sent or proto.transport.is_closing():
        return
    if proto.pending_ping_payload is not None:
        if not hasattr(proto, "ping_sent_at"):  # uvicorn's own ping, pending when the wheel took over
            proto.ping_sent_at = now
        if proto.ping_timeout is not None and now - proto.ping_sent_at >= proto.ping_timeout - SLACK_S:
            proto.keepalive_timeout()  # uvicorn's: 1011 "keepalive ping timeout", then the transport closes
        return
    # uvicorn's send_keepalive_ping without its pong timer: a random payload identifies the ping
    proto.pending_ping_payload = struct.pack("!I", random.getrandbits(32))
    proto.ping_sent_at = now
    proto.conn.send_ping(proto.pending_ping_payload)
    proto.transport.write(b"".join(proto.conn.data_to_send()))


class PingWheel:
    """Pings each member once per its protocol's ping interval.

    Members land in a random slot, so sockets opened together are not pinged
    in the same instant; no index of member to slot is kept (it would cost
    every socket a dict entry): ``remove`` tries each slot.
    """

    def __init__(self) -> None:
        self._slots: list[set[Any]] = [set() for _ in range(SLOTS)]
        self._interval = 0.0  # uvicorn's, learnt from the first member (one config per process)
        self._task: asyncio.Task[None] | None = None

    def add(self, proto: Any) -> bool:
        """Take over the pings of ``proto`` if it is uvicorn's sansio protocol; otherwise leave them to it."""
        if not takes_pings(proto):
            return False
        proto.stop_keepalive()  # cancels uvicorn's ping timer; with no pong timer it never schedules another
        self._interval = self._interval or float(proto.ping_interval)
        self._slots[random.randrange(SLOTS)].add(proto)  # noqa: S311 - spreading, not secrecy
        if self._task is None or self._task.done():  # a wheel that died is started again
            self._task = asyncio.get_running_loop().create_task(self._run(), name="direkt-pings")
        return True

    def remove(self, proto: Any) -> None:
        for slot in self._slots:
            slot.discard(proto)

    def __len__(self) -> int:
        return sum(len(slot) for slot in self._slots)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        loop, slot = asyncio.get_running_loop(), 0
        while True:
            await asyncio.sleep(self._interval / SLOTS)
            now = loop.time()
            for proto in list(self._slots[slot]):
                try:
                    ping_round(proto, now)
                except (OSError, RuntimeError, WebSocketException) as exc:  # one socket's failure: no other's
                    log.warning("ping_failed", problem=type(exc).__name__)
                except Exception as exc:  # noqa: BLE001 - a bug must not end every socket's keepalive
                    log.error("ping_failed", problem=type(exc).__name__)
            slot = (slot + 1) % SLOTS
