"""Fire-and-forget tasks that are neither lost nor silent.

The event loop holds its tasks only weakly: a task that nothing else holds
(one waiting on a future only it can reach) may be collected before it ends,
as asyncio's documentation of ``create_task`` warns. And an exception in a
task nobody awaits came out only when it was collected, as asyncio's "Task
exception was never retrieved" with a whole traceback, whose messages may
hold personal data. ``spawn`` holds each task until it is done and logs an
exception by its type only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import structlog

log = structlog.get_logger("direkt.background")

_running: set[asyncio.Task[Any]] = set()


def spawn(coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
    """Run ``coro`` as a task of the running loop, held until it ends."""
    task = asyncio.get_running_loop().create_task(coro)
    _running.add(task)
    task.add_done_callback(_ended)
    return task


def running() -> int:
    """How many spawned tasks have not ended."""
    return len(_running)


def _ended(task: asyncio.Task[Any]) -> None:
    _running.discard(task)
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        log.error("background_failed", task=getattr(task.get_coro(), "__qualname__", "?"), problem=type(exc).__name__)
