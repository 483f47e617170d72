"""Call signaling on loopback: relay latency and call setup time, each beside a baseline in the same run.

    direkt bench calls [--frames 2000] [--calls 10] [--json FILE]

Starts an embedded Redis and one ``direkt serve`` (demo region), opens a chat
between a demo citizen and a demo nurse, then measures:

* **relay**: an ICE candidate from the nurse's socket to the citizen's
  (server: frame check, the call record read, publish to the citizen's
  channel) against a ``typing`` frame over the same sockets (the chat's
  ephemeral path: no call record). Sent one at a time, alternating, so both
  see the same conditions. Ratio = candidate p99 / typing p99.
* **setup**: propose → consent → ICE servers → offer → answer → media frames on
  both sides, for aiortc peers through the server, against the same two aiortc
  peers exchanging offer and answer directly in one process. Ratio = through
  the server / direct.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from direkt.loadtests.calls import set_up_call
from direkt.loadtests.client import Client, Socket
from direkt.loadtests.demo_chat import ANSWERS, CITIZEN, claim_until, find_nurse
from direkt.loadtests.fleet import free_port
from direkt.server.redis.embedded import EmbeddedRedis
from direkt.signaling.ice import gather_only_on, rtc_configuration
from direkt.signaling.peer import CallPeer

CANDIDATE = "candidate:3625848226 1 udp 2122260223 127.0.0.1 50421 typ host generation 0"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def start_server(redis_url: str, data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIREKT_") and k != "REDIS_URL"}
    env |= {
        "REDIS_URL": redis_url, "DIREKT_DATA_DIR": str(data_dir), "DIREKT_TRIAGE_VALIDATE": "0",
        "DIREKT_MESSAGE_RATE": "100000", "DIREKT_ICE_HOST_ADDRESSES": "127.0.0.1", "DIREKT_LOG_LEVEL": "warning",
        "PYTHONSAFEPATH": "1",
    }  # fmt: skip
    command = [sys.executable, "-m", "direkt.server.cli", "serve", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    return process, f"http://127.0.0.1:{port}"


async def wait_ready(base: str) -> None:
    async with Client(base) as probe:
        for _ in range(300):
            try:
                await probe.call("GET", "/readyz")
                return
            except Exception:  # noqa: BLE001 - not up yet
                await asyncio.sleep(0.1)
    raise RuntimeError("the server did not become ready")


async def open_chat(base: str) -> tuple[str, Client, Client, Socket, Socket]:
    citizen = Client(base)
    await citizen.login_citizen(CITIZEN)
    view = await citizen.triage("seek_care", ANSWERS)
    case = (await citizen.submit(view["id"]))["case"]
    cs = await citizen.socket()
    await cs.request({"t": "join", "case": case}, "case")
    nurse, row = await find_nurse(base, case)
    ns = await nurse.socket()
    if row["pickable"]:
        await ns.request({"t": "claim", "case": case}, "claimed")
    else:
        await claim_until(ns, case)
    await ns.request({"t": "join", "case": case}, "case")
    await cs.expect("case", 10, case=case, state="joined")
    return case, citizen, nurse, cs, ns


async def relay(case: str, ns: Socket, cs: Socket, frames: int) -> dict[str, list[float]]:
    proposed = await ns.request({"t": "call_propose", "case": case, "media": "video"}, "call")
    call = proposed["call"]
    await cs.request({"t": "call_accept", "case": case, "call": call}, "call")
    kinds = {
        "ice": ({"t": "ice", "case": case, "call": call, "candidate": CANDIDATE, "mid": "0", "mline": 0}, "ice"),
        "typing": ({"t": "typing", "case": case, "on": True}, "typing"),
    }
    times: dict[str, list[float]] = {"ice": [], "typing": []}
    for i in range(frames):
        for name, (frame, reply) in kinds.items():
            started = time.perf_counter()
            await ns.send(frame)
            await cs.expect(reply, 10)
            times[name].append((time.perf_counter() - started) * 1000)
        if i % 200 == 199:
            cs.skipped.clear()
    await ns.request({"t": "call_hangup", "case": case, "call": call}, "call")
    return times


async def setup_through_server(case: str, ns: Socket, cs: Socket, calls: int) -> list[float]:
    times = []
    for _ in range(calls):
        pair = await set_up_call(ns, cs, case, "video")
        times.append(pair.setup_s * 1000)
        await ns.request({"t": "call_hangup", "case": case, "call": pair.call}, "call")
        await pair.close()
    return times


async def setup_direct(calls: int) -> list[float]:
    """The same two aiortc peers, offer and answer handed over in-process: the floor for any signaling."""
    times = []
    for _ in range(calls):
        inbox: dict[str, asyncio.Queue[dict[str, Any]]] = {"staff": asyncio.Queue(), "citizen": asyncio.Queue()}
        staff = CallPeer(inbox["citizen"].put, "c", "000000000000", side="staff")
        citizen = CallPeer(inbox["staff"].put, "c", "000000000000", side="citizen")
        started = time.perf_counter()
        await citizen.start([])
        await staff.start([])
        await citizen.on_frame(await next_sdp(inbox["citizen"]))
        await staff.on_frame(await next_sdp(inbox["staff"]))
        await asyncio.gather(staff.wait_for_media(1), citizen.wait_for_media(1))
        times.append((time.perf_counter() - started) * 1000)
        await staff.close()
        await citizen.close()
    return times


async def next_sdp(queue: asyncio.Queue[dict[str, Any]]) -> dict[str, Any]:
    while (frame := await queue.get())["t"] != "sdp":
        pass
    return frame


async def run(redis_url: str, data_dir: Path, frames: int, calls: int) -> dict[str, Any]:
    gather_only_on(["127.0.0.1"])
    assert rtc_configuration([]).iceServers == []  # never aiortc's public default
    process, base = start_server(redis_url, data_dir)
    try:
        await wait_ready(base)
        case, citizen, nurse, cs, ns = await open_chat(base)
        relayed = await relay(case, ns, cs, frames)
        through = await setup_through_server(case, ns, cs, calls)
        direct = await setup_direct(calls)
        for closing in (cs, ns):
            await closing.close()
        await citizen.aclose()
        await nurse.aclose()
    finally:
        process.terminate()
        process.wait(20)
    return summarise(relayed, through, direct)


def summarise(relayed: dict[str, list[float]], through: list[float], direct: list[float]) -> dict[str, Any]:
    def stats(values: list[float]) -> dict[str, float]:
        return {"n": len(values), "p50_ms": percentile(values, 50), "p99_ms": percentile(values, 99)}

    result: dict[str, Any] = {
        "relay_ice": stats(relayed["ice"]),
        "relay_typing": stats(relayed["typing"]),
        "setup_server": stats(through),
        "setup_direct": stats(direct),
    }
    result["relay_p99_ratio"] = result["relay_ice"]["p99_ms"] / result["relay_typing"]["p99_ms"]
    result["setup_p50_ratio"] = result["setup_server"]["p50_ms"] / result["setup_direct"]["p50_ms"]
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="direkt bench calls", description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=2000, help="ICE candidates (and typing frames) relayed")
    parser.add_argument("--calls", type=int, default=10, help="calls set up each way")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="dk-callbench-") as tmp:
        redis = EmbeddedRedis(Path(tmp)).start()
        try:
            result = asyncio.run(run(redis.url, Path(tmp), args.frames, args.calls))
        finally:
            redis.stop()
    print(f"{'measure':<34} {'n':>6} {'p50 ms':>8} {'p99 ms':>8}")
    labels = {
        "relay_ice": "relay: ICE candidate, nurse→citizen",
        "relay_typing": "baseline: typing, nurse→citizen",
        "setup_server": "setup: through the server",
        "setup_direct": "baseline: direct aiortc peers",
    }
    for key, label in labels.items():
        r = result[key]
        print(f"{label:<34} {r['n']:>6} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f}")
    print(f"relay p99 / typing p99:    {result['relay_p99_ratio']:.2f}")
    print(f"setup p50 server / direct: {result['setup_p50_ratio']:.2f}")
    if args.json:
        args.json.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    return 0
