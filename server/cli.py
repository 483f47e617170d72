"""The ``direkt`` command: serve, check configuration, inspect the waiting room, export audit records, benchmark."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import orjson

from direkt.server import configcli, datacli, statscli
from direkt.server.care.catalogue import load_catalogue
from direkt.server.errors import DirektError, RedisUnavailable, as_direkt_errors
from direkt.server.logs import configure_logging
from direkt.server.region import load_region_config
from direkt.server.settings import FSYNC_POLICIES, Settings

if TYPE_CHECKING:
    from direkt.server.care.audit import AuditRecord

EXIT_USAGE = 2
STOCKHOLM = ZoneInfo("Europe/Stockholm")
# YYYYMMDD, an optional hyphen, then the serial number and check digit.
_PNR_ARGUMENT = re.compile(r"([0-9]{8})-?([0-9]{4})")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["load"]:  # its own parser, so that `direkt load --help` reaches it
        return _load(argparse.Namespace(rest=argv[1:]))
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return EXIT_USAGE
    try:
        with as_direkt_errors():  # the triage commands call the triage core directly
            return int(args.run(args) or 0)
    except DirektError as exc:
        print(f"direkt: {exc.message}", file=sys.stderr)
        return EXIT_USAGE if exc.code == "config_invalid" else 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="direkt", description=__doc__)
    commands = parser.add_subparsers(title="commands")

    serve = commands.add_parser("serve", help="serve the product (embedded Redis unless REDIS_URL is set)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)
    serve.add_argument("--redis-url", help="external Redis or Redis Cluster (default: embedded)")
    serve.add_argument("--data-dir", type=Path, help="embedded Redis data directory (./var)")
    serve.add_argument("--fsync", choices=FSYNC_POLICIES, help="embedded Redis appendfsync policy")
    serve.add_argument("--config", type=Path, help="region configuration file (TOML)")
    serve.add_argument("--demo", action=argparse.BooleanOptionalAction, default=None, help="seed demo cases")
    serve.set_defaults(run=_serve)

    config = commands.add_parser("config", help="region configuration").add_subparsers(title="config commands")
    check = config.add_parser("check", help="validate a region configuration file")
    check.add_argument("path", type=Path, nargs="?")
    check.set_defaults(run=_config_check)
    configcli.add_commands(config)

    queue = commands.add_parser("queue", help="the waiting room").add_subparsers(title="queue commands")
    status = queue.add_parser("status", help="waiting cases per queue and guarantee counters")
    status.add_argument("--redis-url")
    status.add_argument("--json", action="store_true")
    status.set_defaults(run=_queue_status)

    _triage_commands(commands)

    audit = commands.add_parser("audit", help="the audit log of access to patient data").add_subparsers(
        title="audit commands"
    )
    export = audit.add_parser("export", help="one patient's audit records (as patient or guardian), oldest first")
    export.add_argument(
        "--patient", required=True, type=_personnummer, metavar="PNR", help="YYYYMMDDNNNN or YYYYMMDD-NNNN"
    )
    source = export.add_mutually_exclusive_group()
    source.add_argument("--redis-url", help="external Redis or Redis Cluster (default: the embedded one)")
    source.add_argument("--file", type=Path, help="read this JSON-lines audit file instead of Redis")
    export.add_argument("--json", action="store_true", help="JSON lines instead of text")
    export.set_defaults(run=_audit_export)

    for add in (_demo_commands, _staff_commands, _load_commands, datacli.add_commands, statscli.add_parser):
        add(commands)
    return parser


def _triage_commands(commands: Any) -> None:
    triage = commands.add_parser("triage", help="the triage knowledge base").add_subparsers(title="triage commands")
    triage_check = triage.add_parser("check", help="validate the knowledge base and print its figures")
    triage_check.add_argument("--json", action="store_true")
    triage_check.add_argument("--kb", type=Path, help="a knowledge-base folder to check (default: the built-in one)")
    triage_check.set_defaults(run=_triage_check)
    triage_run = triage.add_parser("run", help="an interactive session in the terminal, as a citizen answers")
    triage_run.add_argument("--lang", choices=("sv", "en"), default="sv")
    triage_run.set_defaults(run=_triage_run)
    triage_replay = triage.add_parser("replay", help="run golden cases (JSON lines of findings) and print each result")
    triage_replay.add_argument("file", type=Path)
    triage_replay.set_defaults(run=_triage_replay)
    triage_eval = triage.add_parser(
        "eval", help="score clinical vignettes (JSON lines) with the deterministic answerer"
    )
    triage_eval.add_argument("files", type=Path, nargs="+", metavar="FILE")
    triage_eval.add_argument("--json", action="store_true")
    triage_eval.set_defaults(run=_triage_eval)
    triage_case = triage.add_parser(
        "replay-case", help="recompute a case's triage with the knowledge-base version it was triaged with"
    )
    triage_case.add_argument("case")
    triage_case.add_argument("--redis-url")
    triage_case.set_defaults(run=_triage_replay_case)
    triage_graph = triage.add_parser("graph", help="one contact reason's flow as SVG for clinical review")
    triage_graph.add_argument("reason")
    triage_graph.add_argument("--out", type=Path, help="write here instead of standard output")
    triage_graph.add_argument("--lang", choices=("sv", "en"), default="sv")
    triage_graph.set_defaults(run=_triage_graph)
    triage_review = triage.add_parser(
        "review", help="a clinician review pack: one HTML page per contact reason and an index, to sign a version"
    )
    triage_review.add_argument("reasons", nargs="*", metavar="REASON", help="contact reason codes (default: every one)")
    triage_review.add_argument(
        "--out", type=Path, default=Path("var/review"), metavar="DIR", help="the folder (default: var/review)"
    )
    triage_review.set_defaults(run=_triage_review)


def _settings(args: argparse.Namespace, **overrides: object) -> Settings:
    return Settings.from_env(os.environ, **overrides)


def _serve(args: argparse.Namespace) -> int:
    from direkt.server.serve import serve

    settings = _settings(
        args, host=args.host, port=args.port, workers=args.workers, redis_url=args.redis_url,
        data_dir=args.data_dir, aof_fsync=args.fsync, region_config=args.config, demo_cases=args.demo,
    )  # fmt: skip
    configure_logging(settings.log_level)
    load_region_config(settings.region_config)  # fail before anything starts
    load_catalogue(settings.catalogue)
    serve(settings)
    return 0


def _config_check(args: argparse.Namespace) -> int:
    path = args.path or _settings(args).region_config
    config = load_region_config(path)
    d = config.directory
    print(
        f"{path}: ok — {len(d.regions)} regions, {len(d.units)} units, {len(d.staff)} staff, "
        f"{len(d.overflow)} overflow rules, {len(config.templates)} phrase templates"
    )
    return 0


def _queue_status(args: argparse.Namespace) -> int:
    from direkt.server.redis.embedded import EmbeddedRedis

    settings = _settings(args, redis_url=args.redis_url)
    url = settings.redis_url or EmbeddedRedis(settings.data_dir).url
    try:
        report = asyncio.run(_read_status(url, settings))
    except RedisUnavailable as exc:
        raise RedisUnavailable(f"{exc.message} (is `direkt serve` running? otherwise set REDIS_URL)") from None
    if args.json:
        sys.stdout.write(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0
    for region, data in report.items():
        stats = data["stats"]
        print(f"{region}: " + ", ".join(f"{k}={v}" for k, v in sorted(stats.items())) if stats else f"{region}:")
        for queue, count in data["waiting"].items():
            print(f"  {queue:<32} {count:>6} waiting")
    return 0


async def _read_status(url: str, settings: Settings) -> dict[str, dict[str, dict[str, int]]]:
    from direkt.queue.waitroom import Waitroom
    from direkt.server.redis.connect import connect

    client = await connect(url)
    try:
        config = await configcli.live_or_file(client, settings.region_config)  # units added live count too
        waitroom = Waitroom(client, config.directory)
        depths = await waitroom.depths()
        report: dict[str, dict[str, dict[str, int]]] = {}
        for region in config.directory.regions:
            waiting = {
                f"{unit}:{skill}": n
                for (unit, skill), n in sorted(depths.items())
                if config.directory.units[unit].region == region
            }
            report[region] = {"stats": await waitroom.stats(region), "waiting": waiting}
        return report
    finally:
        await client.aclose()


def _triage_check(args: argparse.Namespace) -> int:
    from direkt.triage import tools
    from direkt.triage.loader import KB_DIR

    return tools.check(sys.stdout, as_json=args.json, kb_dir=args.kb or KB_DIR)


def _triage_run(args: argparse.Namespace) -> int:
    from direkt.triage import loader, tools

    return tools.run_interactive(loader.load(walk_paths=False), input, sys.stdout, args.lang)


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text().splitlines()
    except OSError as exc:
        raise DirektError(f"cannot read {path}: {exc.strerror}") from None


def _triage_replay(args: argparse.Namespace) -> int:
    from direkt.triage import loader, tools

    return tools.replay(loader.load(walk_paths=False), _lines(args.file), sys.stdout)


def _triage_eval(args: argparse.Namespace) -> int:
    from direkt.triage import loader, tools

    lines = [line for path in args.files for line in _lines(path)]
    return tools.eval_vignettes(loader.load(walk_paths=False), lines, sys.stdout, as_json=args.json)


def _triage_replay_case(args: argparse.Namespace) -> int:
    from direkt.server.redis.embedded import EmbeddedRedis

    settings = _settings(args, redis_url=args.redis_url)
    url = settings.redis_url or EmbeddedRedis(settings.data_dir).url
    try:
        report = asyncio.run(_replay_case(url, args.case))
    except RedisUnavailable as exc:
        raise RedisUnavailable(f"{exc.message} (is `direkt serve` running? otherwise set REDIS_URL)") from None
    sys.stdout.write(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0 if report["same"] else 1


async def _replay_case(url: str, case_id: str) -> dict[str, Any]:
    from direkt.server.care.casefile import CaseFiles
    from direkt.server.care.triageflow import replay_case
    from direkt.server.redis.connect import connect
    from direkt.triage import loader

    client = await connect(url)
    try:
        file = await CaseFiles(client).get(case_id)
        return await replay_case(client, file, loader.load(walk_paths=False))
    finally:
        await client.aclose()


def _triage_graph(args: argparse.Namespace) -> int:
    from direkt.triage import loader, tools

    return tools.write_graph(loader.load(walk_paths=False), args.reason, args.out, args.lang)


def _triage_review(args: argparse.Namespace) -> int:
    from direkt.triage import loader, tools

    return tools.write_review(loader.load(walk_paths=False), args.reasons, args.out, sys.stdout, sys.stderr)


def _personnummer(text: str) -> str:
    """argparse type: a personal identity number as 12 digits (format only; no Luhn check)."""
    match = _PNR_ARGUMENT.fullmatch(text.strip())
    if match is None:
        # Not echoed: the value may be a real personal identity number with a typo.
        raise argparse.ArgumentTypeError("expected a personal identity number as YYYYMMDDNNNN or YYYYMMDD-NNNN")
    return match[1] + match[2]


def _audit_export(args: argparse.Namespace) -> int:
    records = _audit_from_file(args.file, args.patient) if args.file is not None else _audit_from_redis(args)
    if not records:
        print("no audit records for this patient", file=sys.stderr)
        return 0
    for rec in records:
        sys.stdout.write((rec.to_json().decode() if args.json else _audit_line(rec)) + "\n")
    return 0


def _audit_line(rec: AuditRecord) -> str:
    when = dt.datetime.fromtimestamp(rec.ts_ms // 1000, STOCKHOLM).replace(microsecond=rec.ts_ms % 1000 * 1000)
    fields = (rec.actor, rec.role, rec.unit, rec.action, rec.case_id, rec.outcome, rec.detail)
    return "\t".join([when.isoformat(timespec="milliseconds"), *(f or "-" for f in fields)])


def _audit_from_file(path: Path, pnr: str) -> list[AuditRecord]:
    from direkt.server.care.audit import read_file

    try:
        return read_file(path, pnr)
    except OSError as exc:
        raise DirektError(f"cannot read {path}: {exc.strerror}") from None


def _audit_from_redis(args: argparse.Namespace) -> list[AuditRecord]:
    from direkt.server.redis.embedded import EmbeddedRedis

    settings = _settings(args, redis_url=args.redis_url)
    url = settings.redis_url or EmbeddedRedis(settings.data_dir).url
    try:
        return asyncio.run(_read_audit(url, args.patient))
    except RedisUnavailable as exc:
        raise RedisUnavailable(f"{exc.message} (is `direkt serve` running? otherwise set REDIS_URL)") from None


async def _read_audit(url: str, pnr: str) -> list[AuditRecord]:
    from direkt.server.care.audit import AuditLog
    from direkt.server.redis.connect import connect

    client = await connect(url)
    try:
        return await AuditLog(client, None).for_patient(pnr)
    finally:
        await client.aclose()


def _bench(args: argparse.Namespace) -> int:
    if args.name == "queue":
        from direkt.loadtests import queue_bench

        return queue_bench.main(args.rest)
    if args.name == "calls":
        from direkt.loadtests import call_bench

        return call_bench.main(args.rest)
    if args.name == "start":
        from direkt.loadtests import start_bench

        return start_bench.main(args.rest)
    from direkt.loadtests import ws_bench

    return ws_bench.main(args.rest)


def _load_commands(commands: Any) -> None:
    bench = commands.add_parser("bench", help="benchmarks (loadtests/)")
    bench.add_argument("name", choices=("queue", "ws", "calls", "start"))
    bench.add_argument("rest", nargs=argparse.REMAINDER)
    bench.set_defaults(run=_bench)
    load = commands.add_parser(
        "load", help="scripted load: waiting-room, chat, reconnect-storm, calls, compare", add_help=False
    )
    load.add_argument("rest", nargs=argparse.REMAINDER)
    load.set_defaults(run=_load)


def _load(args: argparse.Namespace) -> int:
    from direkt.loadtests import load

    return load.main(args.rest)


def _demo_chat(args: argparse.Namespace) -> int:
    from direkt.loadtests.demo_chat import main as demo_main

    return demo_main(args.url)


def _staff_commands(commands: Any) -> None:
    staff = commands.add_parser("staff", help="staff access").add_subparsers(title="staff commands")
    revoke = staff.add_parser("revoke", help="end every session of a staff member; their sockets close at once")
    revoke.add_argument("staff_id")
    revoke.add_argument("--redis-url")
    revoke.set_defaults(run=_staff_revoke)


def _staff_revoke(args: argparse.Namespace) -> int:
    from direkt.server.redis.embedded import EmbeddedRedis

    settings = _settings(args, redis_url=args.redis_url)
    url = settings.redis_url or EmbeddedRedis(settings.data_dir).url
    ended = asyncio.run(_revoke(url, args.staff_id))
    print(f"{args.staff_id}: {ended} session(s) ended")
    return 0


async def _revoke(url: str, staff_id: str) -> int:
    from direkt.queue.lookup import wall_clock_ms
    from direkt.server.identity.sessions import SessionStore, staff_uid
    from direkt.server.redis.connect import connect

    client = await connect(url)
    try:
        return await SessionStore(client, wall_clock_ms).revoke_user(staff_uid(staff_id))
    finally:
        await client.aclose()


def _demo_commands(commands: Any) -> None:
    demo = commands.add_parser("demo", help="demonstrations against a running server").add_subparsers(title="demo")
    demo_chat = demo.add_parser("chat", help="a citizen and a nurse through triage, queue, chat and close")
    demo_chat.add_argument("--url", default="http://127.0.0.1:8000")
    demo_chat.set_defaults(run=_demo_chat)


if __name__ == "__main__":
    sys.exit(main())
