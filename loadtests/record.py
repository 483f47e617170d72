"""Writing a load run's record: the machine, the commit, the JSON file and the results table.

The thin I/O around ``direkt.loadtests.summary`` (which builds the record
itself). A record names the exact command, the commit (and whether the work
tree had uncommitted changes: then the commit alone does not reproduce it)
and the machine, because a figure from a 2-core laptop and one from a
server are different facts.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import shlex
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from direkt.loadtests import summary

DEFAULT_DIR = Path(__file__).resolve().parent / "results"  # loadtests/results/ of the checkout (editable install)
REPO = Path(__file__).resolve().parent.parent


def command_line(argv: Sequence[str]) -> str:
    """The command as a user would type it again."""
    return shlex.join(["direkt", "load", *argv])


def git_info(repo: Path = REPO) -> dict[str, Any]:
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(  # noqa: S603 - our own command
                ["git", "-C", str(repo), *args],  # noqa: S607 - git from PATH, as a developer runs it
                check=False, capture_output=True, text=True, timeout=10,
            )  # fmt: skip
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit, status = git("rev-parse", "HEAD"), git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "branch": git("rev-parse", "--abbrev-ref", "HEAD"), "dirty": bool(status)}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _redis_version() -> str | None:
    from direkt.server.redis.embedded import redis_server_binary

    try:
        done = subprocess.run(  # noqa: S603 - the bundled binary
            [str(redis_server_binary()), "--version"], check=False, capture_output=True, text=True, timeout=10
        )
    except Exception:  # noqa: BLE001 - a record without the version is still a record
        return None
    words = dict(part.split("=", 1) for part in done.stdout.split() if "=" in part)
    return words.get("v")


def machine_info() -> dict[str, Any]:
    import psutil

    return {
        "cores": os.cpu_count(),
        "cpu": _cpu_model(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": sys.version.split()[0],
        "redis": _redis_version(),
        "platform": platform.platform(),
        "load_average": [round(x, 2) for x in os.getloadavg()],  # other work on the machine when the run began
    }


def write(
    directory: Path, *, scenario: str, argv: Sequence[str], runs: Sequence[Any], figures: Sequence[summary.Figures]
) -> Path:
    """Write the record as ``<UTC time>-<scenario>.json`` and add its line to the directory's README.md."""
    when = dt.datetime.now(dt.UTC)
    rec = summary.record(
        scenario=scenario, command=command_line(argv), when=when, git=git_info(), machine=machine_info(),
        runs=runs, figures=figures,
    )  # fmt: skip
    directory.mkdir(parents=True, exist_ok=True)
    path: Path = directory / summary.record_name(when, scenario)
    path.write_bytes(orjson.dumps(rec, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY))
    readme = directory / "README.md"
    if not readme.exists():
        readme.write_text(summary.README_HEADER, encoding="utf-8")
    with readme.open("a", encoding="utf-8") as table:
        table.write(summary.readme_row(rec, path.name))
    print(f"recorded in {path}", file=sys.stderr)
    return path


def finish_relay(
    args: Any, reports: list[dict[str, Any]], figures: list[dict[str, Any]], scenario: str, argv: Sequence[str],
    extra: dict[str, Any] | None = None,
) -> int:  # fmt: skip
    """The end of a relay command (``compare``, ``scale``): the summary of several runs, ``--json``,
    ``--record``; exit status 1 if any target lost or duplicated a message."""
    stats = summary.summarise(figures)
    if args.runs > 1:
        print("\n".join(summary.summary_lines(stats)))
    if args.json:
        written = reports[0] if args.runs == 1 else {"runs": reports, "summary": stats, **(extra or {})}
        args.json.write_bytes(orjson.dumps(written, option=orjson.OPT_INDENT_2))
    if args.record:
        write(args.results, scenario=scenario, argv=[scenario, *argv], runs=reports, figures=figures)
    failed = [r["target"] for rep in reports for r in rep["rows"] if r["lost"] or r["lost_warmup"] or r["duplicated"]]
    if failed:
        print(f"lost or duplicated messages: {', '.join(failed)}")
    return 1 if failed else 0
