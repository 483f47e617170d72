"""``server/background.spawn``: a fire-and-forget task is held until it ends, and its exception is logged by type."""

from __future__ import annotations

import asyncio
import gc

from structlog.testing import capture_logs

from direkt.server import background
from direkt.server.background import spawn


async def test_a_task_only_it_can_wake_is_not_collected_before_it_ends() -> None:
    async def waits_on_its_own_event() -> None:
        await asyncio.Event().wait()  # a future nothing outside this task holds

    task_id = id(spawn(waits_on_its_own_event()))
    before = background.running()
    gc.collect()  # a plain create_task with no reference kept is destroyed here, still pending
    kept = [t for t in asyncio.all_tasks() if id(t) == task_id]
    assert len(kept) == 1 and not kept[0].done() and background.running() == before
    kept[0].cancel()
    await asyncio.gather(kept[0], return_exceptions=True)
    assert background.running() == before - 1


async def test_an_exception_is_logged_by_its_type_and_never_its_message() -> None:
    async def fails() -> None:
        raise ValueError("Erik 19121212-1212 skrev: ont i halsen")

    with capture_logs() as logs:
        task = spawn(fails())
        await asyncio.gather(task, return_exceptions=True)
    failed = [e for e in logs if e["event"] == "background_failed"]
    assert failed == [
        {"event": "background_failed", "log_level": "error", "task": failed[0]["task"], "problem": "ValueError"}
    ]
    assert "fails" in failed[0]["task"]
    assert "1212" not in repr(logs) and "halsen" not in repr(logs)
