"""Group commit for a hot Lua script: calls that arrive during a round trip share the next one.

Every chat message is one script call (``direkt.server.care.transcript``). Sent one
by one, redis-py spends most of its time per command outside Redis: a pool
checkout, the retry wrapper, a timeout context, a write and a read (py-spy on
``direkt load compare``: a third of the hub's CPU). Here the first call goes
out at once, alone; calls made while it is on the wire wait for it and then go
together as one pipeline (one checkout, one write, one read of many replies),
so a quiet server adds no delay and a busy one batches by itself (PostgreSQL's
group commit, Kafka's linger with a zero wait).

One pipeline is in flight at a time, so calls reach Redis in the order they
were made. A failed round trip fails every call in it with the same
``RedisError``, as each would have failed alone; replies are matched to calls
by position. If Redis lost the script (restarted, SCRIPT FLUSH) the calls
that got NOSCRIPT are run again, in order, once the script is loaded.

On a Redis Cluster the pipeline sends each call to the node of its keys;
calls to one node keep their order.
"""

from __future__ import annotations

import asyncio
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError

from direkt.queue.scripts import REDIS_FAILURES, RedisClient

MAX_BATCH = 256

Call = tuple[list[Any], list[Any], "asyncio.Future[Any]"]


class ScriptBatcher:
    def __init__(self, client: RedisClient, source: str) -> None:
        self.client = client
        self.script = client.register_script(source)
        self._pending: list[Call] = []
        self._flusher: asyncio.Task[None] | None = None
        self.round_trips = 0

    async def __call__(self, *, keys: list[Any], args: list[Any]) -> Any:
        """The script's reply, as ``Script.__call__`` would give it.

        Raises:
            redis.exceptions.RedisError: as the call alone would have raised it.
        """
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending.append((keys, args, future))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush(), name="direkt-script-batch")
        return await future

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                await self._run(batch)
        finally:
            self._flusher = None

    async def _run(self, batch: list[Call], *, reloaded: bool = False) -> None:
        try:
            replies = await self._execute(batch)
        except REDIS_FAILURES as exc:
            for _, _, future in batch:
                settle(future, exc)
            return
        except BaseException:  # cancelled (shutdown): no caller may wait for ever
            for _, _, future in batch:
                settle(future, RedisConnectionError("the server is shutting down"))
            raise
        lost: list[Call] = []
        for call, reply in zip(batch, replies, strict=True):
            if isinstance(reply, NoScriptError) and not reloaded:
                lost.append(call)  # not run: safe to run again
            else:
                settle(call[2], reply)
        if lost:
            await self._reload_and_run([call for call in lost if not call[2].done()])

    async def _execute(self, batch: list[Call]) -> list[Any]:
        pipe = self.client.pipeline(transaction=False)
        for keys, args, _ in batch:
            pipe.execute_command("EVALSHA", self.script.sha, len(keys), *keys, *args)
        self.round_trips += 1
        replies: list[Any] = await pipe.execute(raise_on_error=False)
        return replies

    async def _reload_and_run(self, batch: list[Call]) -> None:
        """Redis lost the script: load it once, then run the calls again, still in order."""
        try:
            await self.client.script_load(self.script.script)
        except REDIS_FAILURES as exc:
            for _, _, future in batch:
                settle(future, exc)
            return
        await self._run(batch, reloaded=True)


def settle(future: asyncio.Future[Any], outcome: Any) -> None:
    """Give a waiting call its reply, or raise the error in it (a cancelled caller is skipped)."""
    if future.done():
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
