"""Structural invariants of the repository layout.

The folders ``server/``, ``queue/``, ``triage/``, … are installed as
``direkt.server``, ``direkt.queue``, … (pyproject ``package-dir``). The folder
``queue/`` shares its name with the standard library's ``queue`` module, which
is harmless only while it has no ``__init__.py`` (a namespace portion never
beats a regular module) and nothing imports the folders by their bare names.
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

from support import timeout

REPO = Path(__file__).resolve().parents[2]
STDLIB = Path(sysconfig.get_paths()["stdlib"]).resolve()
SHADOWING_NAMES = frozenset(
    {
        "queue.py", "types.py", "signal.py", "select.py", "logging.py", "random.py",
        "code.py", "token.py", "asyncio.py", "typing.py", "json.py",
    }
)  # fmt: skip
SCANNED = ("server", "queue", "triage", "signaling", "loadtests", "tests")
BARE_IMPORT = re.compile(r"^\s*(from|import) (server|triage|signaling|loadtests)\b", re.MULTILINE)
QUEUE_IMPORT = re.compile(r"^\s*(from queue import|from queue\.|import queue\.)", re.MULTILINE)


def repo_files() -> list[Path]:
    """Files git would commit: tracked plus untracked-but-not-ignored."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        check=True,
        timeout=timeout(30),
    ).stdout.decode()
    return [REPO / name for name in listed.split("\0") if name]


def test_repo_root_is_found() -> None:
    assert (REPO / "pyproject.toml").is_file()
    assert (REPO / "queue" / "ids.py").is_file()


def test_import_queue_is_the_standard_library() -> None:
    import queue

    assert Path(queue.__file__).resolve().is_relative_to(STDLIB)
    assert Path(queue.__file__).name == "queue.py"
    assert issubclass(queue.Queue, object)
    assert queue.Queue().empty()


def test_import_queue_from_the_repo_root_is_the_standard_library() -> None:
    # ``python -c`` from the repo root puts the repo on sys.path first
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONSAFEPATH", "PYTHONPATH"}}
    result = subprocess.run(
        [sys.executable, "-c", "import queue; print(queue.__file__); queue.Queue()"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout(30),
    )
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).resolve().is_relative_to(STDLIB)


def test_queue_folder_is_not_a_regular_package() -> None:
    assert (REPO / "queue").is_dir()
    assert not (REPO / "queue" / "__init__.py").exists()


def test_direkt_queue_maps_to_the_queue_folder() -> None:
    package = importlib.import_module("direkt.queue")
    ids = importlib.import_module("direkt.queue.ids")
    assert (REPO / "queue").resolve() in {Path(p).resolve() for p in package.__path__}
    assert Path(ids.__file__).resolve() == (REPO / "queue" / "ids.py").resolve()
    # importing the project's queue package leaves the stdlib module in place
    assert Path(sys.modules["queue"].__file__).resolve().is_relative_to(STDLIB)


def test_no_file_is_named_after_a_stdlib_module() -> None:
    files = repo_files()
    assert REPO / "queue" / "ids.py" in files  # the listing is not empty
    offenders = sorted(str(f.relative_to(REPO)) for f in files if f.name in SHADOWING_NAMES)
    assert offenders == []


def test_project_never_imports_folders_by_bare_name() -> None:
    sources = [path for folder in SCANNED for path in sorted((REPO / folder).rglob("*.py"))]
    assert REPO / "server" / "region.py" in sources
    offenders = []
    for path in sources:
        text = path.read_text(encoding="utf-8")
        for pattern in (BARE_IMPORT, QUEUE_IMPORT):
            offenders += [f"{path.relative_to(REPO)}: {m.group(0).strip()}" for m in pattern.finditer(text)]
    assert offenders == []


def test_import_scan_catches_bare_imports() -> None:
    """The patterns above must recognise what they are meant to forbid."""
    bad = ["import server", "from server.region import x", "  from triage import rules", "import signaling.peer",
           "from loadtests import ws_bench", "from queue import Queue", "from queue.ids import ulid",
           "import queue.keys"]  # fmt: skip
    good = ["from direkt.server import region", "import serverless", "from direkt.queue import ids", "import queue"]
    for line in bad:
        assert BARE_IMPORT.search(line) or QUEUE_IMPORT.search(line), line
    for line in good:
        assert not (BARE_IMPORT.search(line) or QUEUE_IMPORT.search(line)), line
