"""A power cut under Redis during chat load: AOF ``always`` keeps every acked message (TARGETS 3).

A kill -9 alone cannot tell ``appendfsync always`` from ``everysec``: what
Redis wrote to its AOF stays in the kernel's page cache and outlives the
process (tests/fault/test_kill.py). A power cut or a kernel crash keeps only
what was fsynced. So here redis-server runs with an LD_PRELOAD shim
(tests/fault/powerloss.c, built with gcc at test time) that holds every write to
the AOF in the process's memory until Redis fsyncs it: a kill -9 then loses
exactly what a power cut would. Citizens chat with nurses through a real
``direkt serve`` process; Redis is killed while acks are arriving and
restarted on the same directory without the shim; then what is stored is read.

What a region loses on a power cut (docs/durability.md):
- ``always``: nothing it acknowledged. Redis fsyncs each write before it
  replies, so every message an app was told is stored is there, exactly once,
  and the chats go on after the restart.
- ``everysec``: the writes since the last fsync, up to about a second of
  acknowledged messages (two if the disk is slow). The test shows at least one
  acked message missing, which is how it knows the harness can tell the two
  apart. A kill lands right after an ack, so nothing is lost only if an fsync
  fell between that ack and the kill; the cycle is tried up to 3 times.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import ServerProcess, short_tmpdir
from support_fault import Heard, Sender, chat, chatting, close_all, not_stored, settle_and_check, stored, until
from support_hub import ERIK, GUARDIAN

from direkt.server.redis.embedded import EmbeddedRedis

pytestmark = pytest.mark.slow

SHIM_SOURCE = Path(__file__).with_name("powerloss.c")
SERVER_ENV = {"DIREKT_MESSAGE_RATE": "1000", "DIREKT_REDIS_TIMEOUT_SECONDS": "2"}
EVERYSEC_TRIES = 3
CHAT_FIRST = 30  # acked messages per socket, about 1.5 s: longer than an everysec fsync period


@pytest.fixture(scope="session")
def power_loss_shim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/fault/powerloss.c built into a shared object, once a session."""
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is needed to build tests/fault/powerloss.c (the power-cut shim): install gcc")
    built = tmp_path_factory.mktemp("powerloss") / "powerloss.so"
    flags = ["-shared", "-fPIC", "-O2", "-Wall", "-Werror"]
    command = [gcc, *flags, "-o", str(built), str(SHIM_SOURCE), "-ldl", "-lpthread"]
    made = subprocess.run(command, capture_output=True, text=True, check=False)
    assert made.returncode == 0, f"gcc could not build the power-cut shim:\n{made.stderr}"
    return built


class PowerCutRedis(EmbeddedRedis):
    """The embedded Redis (same binary and options), under the power-cut shim while ``shimmed``."""

    def __init__(self, data_dir: Path, fsync: str, shim: Path) -> None:
        super().__init__(data_dir, fsync=fsync)
        self.shim = shim
        self.shimmed = True

    def command(self) -> list[str]:
        # env(1) execs redis-server in place: the same pid, so kill() still hits Redis.
        preload = ["env", f"LD_PRELOAD={self.shim}"] if self.shimmed else []
        return [*preload, *super().command()]

    def power_on(self, *, shimmed: bool) -> None:
        """(Re)start on the same directory, with or without the shim."""
        self.stop()
        self.shimmed = shimmed
        self.start()


@pytest.fixture(params=["always", "everysec"])
def power_cut_redis(request: pytest.FixtureRequest, power_loss_shim: Path) -> Iterator[PowerCutRedis]:
    data_dir = short_tmpdir("dk-power-")
    redis = PowerCutRedis(data_dir, request.param, power_loss_shim).start()
    yield redis
    redis.stop()
    shutil.rmtree(data_dir, ignore_errors=True)


def total_acks(senders: list[Sender]) -> int:
    return sum(len(s.acked) for s in senders)


async def cut_power(redis: PowerCutRedis, senders: list[Sender]) -> dict[str, dict[str, str]]:
    """Chat; kill the shimmed Redis right after an ack; restart it without the shim.

    Returns:
        per sender, the messages it was told were stored that are not (cid -> stream id).
    """
    for sender in senders:
        sender.mark("powered")
        sender.refused.clear()
    async with chatting(senders):
        await until(lambda: all(s.acked_since("powered") >= CHAT_FIRST for s in senders), 20, "chat before the cut")
        before = total_acks(senders)
        # Acks arrive about 80 a second: polled every 50 ms, the kill lands within ~50 ms of one.
        await until(lambda: total_acks(senders) > before, 10, "the next ack")
        redis.kill()  # SIGKILL: only what Redis fsynced is in the file
        await until(lambda: all(s.refused["redis_unavailable"] for s in senders), 15, "sends refused")
    redis.power_on(shimmed=False)  # the same directory: what the machine finds when the power is back
    entries = {s.case: await stored(redis.url, s.case) for s in senders}
    return {s.tag: lost for s in senders if (lost := not_stored(s, entries))}


async def test_a_power_cut_loses_acked_messages_with_everysec_and_none_with_always(
    power_cut_redis: PowerCutRedis,
) -> None:
    redis = power_cut_redis
    server = ServerProcess(redis.url, **SERVER_ENV)
    senders: list[Sender] = []
    try:
        senders += await chat(server.base, server.base, ERIK, "nurse-1")
        senders += await chat(server.base, server.base, GUARDIAN, "nurse-2")
        if redis.fsync == "everysec":
            lost = await cut_power(redis, senders)
            for _ in range(EVERYSEC_TRIES - 1):
                if lost:
                    break
                redis.power_on(shimmed=True)
                lost = await cut_power(redis, senders)
            # The control: the harness tells the policies apart, a power cut under everysec loses acked messages.
            assert lost, f"{EVERYSEC_TRIES} power cuts under everysec lost no acked message"
            return
        lost = await cut_power(redis, senders)
        assert not lost, f"acked, then lost in a power cut under appendfsync always: {lost}"
        for sender in senders:
            sender.mark("restarted")
        async with chatting(senders):
            await until(lambda: all(s.acked_since("restarted") >= 5 for s in senders), 20, "chat after restart")
        assert all(not s.sock.closed.is_set() for s in senders)  # the apps never noticed more than errors
        await settle_and_check(senders, {s.tag: Heard() for s in senders}, redis.url)
    finally:
        await close_all(senders, [])
        server.stop()
