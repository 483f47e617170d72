"""Which uvicorn WebSocket implementation to ship: echo round trips per second
for each one, in the same run, and whether it keeps pings working.

    direkt bench ws [--connections 50] [--seconds 5] [--json FILE]

Each implementation serves ``direkt.loadtests.echo_app`` in its own uvicorn
process with the options of ``direkt serve`` (uvloop, httptools, 64 KiB
frames, no compression); only ``ws`` differs, and pings come every second so
that they can be observed. The load is closed-loop: each client connection
sends its next 64-byte message when the previous echo arrives. Ratios are
against the implementation we ship.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import orjson
import uvloop
from websockets.asyncio.client import connect

from direkt.loadtests.fleet import DIRECT, free_port
from direkt.loadtests.wsclient import count_pings
from direkt.server.serve import WS_IMPLEMENTATION

IMPLEMENTATIONS = ("websockets-sansio", "websockets", "wsproto")
SERVER = """
import sys, uvicorn
from direkt.server.serve import uvicorn_options
from direkt.server.settings import Settings
options = uvicorn_options(Settings(port=int(sys.argv[1])))
options.update(ws=sys.argv[2], ws_ping_interval=1.0, ws_ping_timeout=1.0, log_level="warning")
uvicorn.run("direkt.loadtests.echo_app:app", **options)
"""


def start_server(implementation: str, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([sys.executable, "-c", SERVER, str(port), implementation])  # noqa: S603 - our code
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            DIRECT.open(f"http://127.0.0.1:{port}/", timeout=1)
        except urllib.error.HTTPError:
            return process  # 404: up
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"uvicorn with ws={implementation} did not start")


async def round_trips(url: str, connections: int, seconds: float) -> int:
    payload = b"x" * 64
    stop_at = time.monotonic() + seconds
    counts = [0] * connections

    async def client(index: int) -> None:
        async with connect(url, compression=None, max_size=2**16, proxy=None) as ws:
            while time.monotonic() < stop_at:
                await ws.send(payload)
                await ws.recv()
                counts[index] += 1

    await asyncio.gather(*(client(i) for i in range(connections)))
    return sum(counts)


async def measure(implementation: str, port: int, connections: int, seconds: float) -> dict[str, object]:
    url = f"ws://127.0.0.1:{port}/echo"
    await round_trips(url, connections, 0.5)  # warm up
    total = await round_trips(url, connections, seconds)
    pings, closed = await count_pings(url, 2.5)
    return {"ws": implementation, "round_trips_per_s": total / seconds, "pings_in_2_5_s": pings, "closed": closed}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="direkt bench ws", description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    rows = []
    for implementation in IMPLEMENTATIONS:
        port = free_port()
        server = start_server(implementation, port)
        try:
            rows.append(uvloop.run(measure(implementation, port, args.connections, args.seconds)))
        finally:
            server.terminate()
            server.wait(10)
    shipped = next(r for r in rows if r["ws"] == WS_IMPLEMENTATION)
    print(f"uvicorn WebSocket implementations: echo, {args.connections} connections, {args.seconds:.0f} s each")
    print(f"{'ws':<20} {'round trips/s':>14} {'ratio':>7} {'pings (2.5 s)':>14}")
    for r in rows:
        ratio = float(r["round_trips_per_s"]) / float(shipped["round_trips_per_s"])  # type: ignore[arg-type]
        pings = "ok" if int(r["pings_in_2_5_s"]) >= 2 and not r["closed"] else "MISSING"  # type: ignore[call-overload]
        print(f"{r['ws']:<20} {r['round_trips_per_s']:>14.0f} {ratio:>7.2f} {r['pings_in_2_5_s']!s:>7} {pings}")
    if args.json:
        args.json.write_bytes(orjson.dumps(rows, option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
