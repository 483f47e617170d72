"""``direkt data``: the retention job on demand, and one patient's data exported or erased.

    direkt data retention [--dry-run] [--json]
    direkt data export --patient PNR [--out FILE]
    direkt data erase --patient PNR

Exit codes: 0 done; 1 nothing is held about the patient, Redis unavailable, or another
retention run holds the lock; 2 usage (a malformed or invalid personnummer, which is never
echoed). The personnummer goes to the export and the audit only, never to a log or stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import getpass
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from direkt.server.errors import BadRequest, RedisUnavailable

if TYPE_CHECKING:
    from direkt.server.care.patientdata import PatientData

_ACTOR = re.compile(r"[^A-Za-z0-9_.@-]")


def add_commands(commands: Any) -> None:
    """Add ``direkt data …`` to the CLI's subcommands."""
    data = commands.add_parser("data", help="retention of data, and one patient's data").add_subparsers(
        title="data commands"
    )
    retention = data.add_parser("retention", help="run the retention job now (one run at a time across processes)")
    retention.add_argument("--dry-run", action="store_true", help="count what has expired; remove nothing")
    retention.add_argument("--json", action="store_true")
    retention.set_defaults(run=_retention)
    export = data.add_parser("export", help="everything held about a patient (and their children's cases), as JSON")
    export.add_argument("--out", type=Path, help="write here (mode 0600) instead of standard output")
    erase = data.add_parser("erase", help="erase what the retention rules allow; keep and report the rest")
    for command, run in ((export, _export), (erase, _erase)):
        command.add_argument(
            "--patient", required=True, type=personnummer, metavar="PNR", help="YYYYMMDDNNNN or YYYYMMDD-NNNN"
        )
        command.set_defaults(run=run)
    for command in (retention, export, erase):
        command.add_argument("--redis-url", help="external Redis or Redis Cluster (default: the embedded one)")


def personnummer(text: str) -> str:
    """argparse type: a valid personnummer (shape, date, check digit) as 12 digits; never echoed."""
    from direkt.server.identity.personnummer import Personnummer

    try:
        return Personnummer.parse(text, today=dt.date.today()).digits
    except BadRequest as exc:
        raise argparse.ArgumentTypeError(f"not a valid personal identity number: {exc.message}") from None


def actor() -> str:
    """Who runs the command, for the audit: the operating-system login."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "unknown"
    return "cli:" + _ACTOR.sub("_", name)[:40]


def _retention(args: argparse.Namespace) -> int:
    report = _run(args, lambda ctx: ctx.retention(args.dry_run))
    if report is None:
        print("direkt: another retention run holds the lock; try again later", file=sys.stderr)
        return 1
    if args.json:
        sys.stdout.write(orjson.dumps({"dry_run": args.dry_run, "removed": report}).decode() + "\n")
    else:
        verb = "would remove" if args.dry_run else "removed"
        for kind, count in report.items():
            print(f"{kind:<16} {verb} {count}")
    return 0


def _export(args: argparse.Namespace) -> int:
    exported = _run(args, lambda ctx: ctx.export(args.patient))
    blob = orjson.dumps(exported, option=orjson.OPT_INDENT_2) + b"\n"
    if args.out is None:
        sys.stdout.buffer.write(blob)
        sys.stdout.flush()
        return 0
    fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(blob)
    print(f"{args.out}: {len(exported['cases'])} case(s)", file=sys.stderr)
    return 0


def _erase(args: argparse.Namespace) -> int:
    report = _run(args, lambda ctx: ctx.erase(args.patient))
    sys.stdout.write(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0


def _run(args: argparse.Namespace, step: Any) -> Any:
    from direkt.server.logs import configure_logging
    from direkt.server.redis.embedded import EmbeddedRedis
    from direkt.server.settings import Settings

    settings = Settings.from_env(os.environ, redis_url=args.redis_url)
    configure_logging(settings.log_level, sys.stderr.buffer)  # standard output carries the export
    url = settings.redis_url or EmbeddedRedis(settings.data_dir).url
    try:
        return asyncio.run(_Context.within(url, settings, step))
    except RedisUnavailable as exc:
        raise RedisUnavailable(f"{exc.message} (is `direkt serve` running? otherwise set REDIS_URL)") from None


class _Context:
    """The region's rules and the audit log over one Redis connection, for one command."""

    def __init__(self, client: Any, settings: Any) -> None:
        from direkt.queue.lookup import wall_clock_ms
        from direkt.server.care.audit import AuditLog
        from direkt.server.region import load_region_config

        self.client, self.settings, self.now = client, settings, wall_clock_ms()
        self.config = load_region_config(settings.region_config)
        self.audit = AuditLog(client, settings.audit_path)

    @classmethod
    async def within(cls, url: str, settings: Any, step: Any) -> Any:
        from direkt.server.configcli import live_or_file
        from direkt.server.redis.connect import connect

        client = await connect(url)
        try:
            context = cls(client, settings)
            context.config = await live_or_file(client, settings.region_config)  # the rules as they are live
            return await step(context)
        finally:
            await client.aclose()

    async def retention(self, dry_run: bool) -> dict[str, int] | None:
        from direkt.server.care.retention import job_for

        regions = list(self.config.directory.regions)
        job = job_for(self.client, self.config.retention, regions, self.audit, self.settings.secret)
        report = await job.run(self.now, dry_run=dry_run)
        return None if report is None else dict(report.removed)

    async def export(self, pnr: str) -> dict[str, Any]:
        return await self._patients().export(pnr, self.now, actor())

    async def erase(self, pnr: str) -> dict[str, Any]:
        return await self._patients().erase(pnr, self.now, actor())

    def _patients(self) -> PatientData:
        from direkt.server.care.patientdata import PatientData

        return PatientData(self.client, self.config.retention, self.audit)
