"""``direkt stats``: the statistics of a period from the region's event log, as text, JSON or CSV.

    direkt stats --unit vc-t --from 2026-12-01 --to 2026-12-07 [--by day] [--json | --csv]
    direkt stats --region t --from 2026-12-07 --to 2026-12-07      (every unit of the region)

Dates are local (Europe/Stockholm) days, both included. A bad date, a reversed or
too long period, an unknown unit or region ends with exit status 2 and one line
on standard error. Reads Redis like ``direkt queue status`` (REDIS_URL or the
embedded one in the data directory).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import os
import sys
from pathlib import Path
from typing import Any

import orjson

from direkt.server.errors import BadRequest, NotFound, RedisUnavailable

EXIT_USAGE = 2


def add_parser(commands: Any) -> None:
    stats = commands.add_parser("stats", help="statistics of a period: contacts, waits, guarantee compliance, staff")
    stats.add_argument("--unit", default="", help="one unit (default: every unit of the region)")
    stats.add_argument("--region", default="", help="the region (default: the unit's, or the only one)")
    stats.add_argument("--from", dest="start", required=True, metavar="YYYY-MM-DD", help="first local day")
    stats.add_argument("--to", dest="end", metavar="YYYY-MM-DD", help="last local day, included (default: --from)")
    stats.add_argument("--by", default="day", choices=("hour", "day", "week"), help="the series' bucket")
    stats.add_argument("--redis-url")
    out = stats.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="the figures as JSON")
    out.add_argument("--csv", action="store_true", help="one row per figure: scope,figure,value")
    stats.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from direkt.server.care.statsreader import StatsAsk, resolve
    from direkt.server.redis.embedded import EmbeddedRedis
    from direkt.server.region import load_region_config
    from direkt.server.settings import Settings

    settings = Settings.from_env(os.environ, redis_url=args.redis_url)
    ask = StatsAsk(args.start, args.end or args.start, args.unit, args.region, args.by)
    try:  # the dates first: a bad one is refused without Redis
        resolve(ask, load_region_config(settings.region_config).directory)
    except BadRequest as exc:
        print(f"direkt stats: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    except NotFound:
        pass  # perhaps a unit added live: asked again of the live configuration
    url = settings.redis_url or EmbeddedRedis(settings.data_dir).url
    try:
        report = asyncio.run(_read(url, ask, settings.region_config))
    except (BadRequest, NotFound) as exc:
        print(f"direkt stats: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    except RedisUnavailable as exc:
        raise RedisUnavailable(f"{exc.message} (is `direkt serve` running? otherwise set REDIS_URL)") from None
    if args.json:
        sys.stdout.write(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode() + "\n")
    elif args.csv:
        sys.stdout.write(as_csv(report))
    else:
        sys.stdout.write(as_text(report))
    return 0


async def _read(url: str, ask: Any, region_file: Path) -> dict[str, Any]:
    from direkt.server.care.statsreader import read_stats, resolve
    from direkt.server.configcli import live_or_file
    from direkt.server.redis.connect import connect

    client = await connect(url)
    try:
        config = await live_or_file(client, region_file)  # units added live count too
        return await read_stats(client, resolve(ask, config.directory))
    finally:
        await client.aclose()


def flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """``{"same_day": {"met": 2}}`` → ``[("same_day.met", 2)]``; lists are indexed."""
    if isinstance(value, dict):
        return [row for k, v in value.items() for row in flatten(v, f"{prefix}{k}.")]
    if isinstance(value, list):
        return [row for i, v in enumerate(value) for row in flatten(v, f"{prefix}{i}.")]
    return [(prefix[:-1], "" if value is None else value)]


def as_csv(report: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["scope", "figure", "value"])
    scopes = [("total", report["total"]), *report["units"].items()]
    for scope, figures in scopes:
        writer.writerows((scope, name, value) for name, value in flatten(figures))
    for row in report["series"]:
        writer.writerows((f"series:{row['bucket']}", name, value) for name, value in row.items() if name != "bucket")
    return out.getvalue()


def as_text(report: dict[str, Any]) -> str:
    scope = ", ".join(report["scope"]) or f"region {report['region']}"
    t = report["total"]
    lines = [f"{scope}: {report['from']} – {report['to']}" + ("" if report["complete"] else " (NOT complete)")]
    lines.append(f"  arrived {t['arrived']}, contacts {t['contacts']}, abandoned {t['abandoned']} "
                 f"({t['abandoned_before_contact']} before contact), transferred {t['transferred']}")  # fmt: skip
    for name, key in (("same-day contact", "same_day"), ("3-day assessment", "assessment")):
        g = t[key]
        pct = "–" if g["percent"] is None else f"{g['percent']} %"
        lines.append(f"  {name}: {pct} ({g['met']} met, {g['breached']} breached)")
    for urgency, w in t["first_contact"].items():
        lines.append(f"  first contact, urgency {urgency}: p50 {_min(w['p50_ms'])}, p90 {_min(w['p90_ms'])} "
                     f"({w['count']})")  # fmt: skip
    for dimension, counts in t["contacts_by"].items():
        lines.append(f"  contacts by {dimension}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    for who, s in t["staff"].items():
        lines.append(f"  {who}: {s['chats']} chats, {s['closed']} closed, {_min(s['chat_ms_total'])} in chats")
    if t["busiest_hours"]:
        busiest = (f"{h['hour']:02d}:00 ({h['arrived']})" for h in t["busiest_hours"])
        lines.append("  busiest hours: " + ", ".join(busiest))
    return "\n".join(lines) + "\n"


def _min(ms: int | None) -> str:
    return "–" if ms is None else f"{ms / 60_000:.1f} min"
