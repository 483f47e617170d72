"""The layering of direkt's code, read from the source (issue 21).

- The pure cores take values in and return values out: they import no I/O
  shell. Triage, the queue's scoring, routing and opening hours, the call
  machine and the SDP rules import nothing from ``direkt.server`` and raise
  their own errors (the shell converts them with
  ``direkt.server.errors.as_direkt_errors``). The frame codec lives in the
  server and raises the server's ``FrameError``, so it may import the error
  tree, and nothing else of the server.
- No module imports another package's private names (``_name``): a sibling
  sub-package is used through what it makes public.
- No module is over 600 lines: code, the demo clients and the tests alike.

Imports are read with ``ast``, so a lazy import inside a function counts too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = {"server": "direkt.server", "queue": "direkt.queue", "triage": "direkt.triage",
            "signaling": "direkt.signaling", "loadtests": "direkt.loadtests"}  # fmt: skip

# The pure cores, by module name. Everything else in direkt is a shell (or its wiring).
TRIAGE = frozenset(f"direkt.triage.{p.stem}" for p in (REPO / "triage").glob("*.py"))
QUEUE_CORES = frozenset(
    f"direkt.queue.{name}"
    for name in ("estimate", "guarantees", "hours", "ids", "keys", "model", "routing", "urgency", "waitinfo")
)
SIGNALING_CORES = frozenset({"direkt.signaling.call", "direkt.signaling.sdp"})
FRAME_CODEC = frozenset({"direkt.server.ws.frames", "direkt.server.ws.nesting"})
CORES = TRIAGE | QUEUE_CORES | SIGNALING_CORES | FRAME_CODEC
# What a core may import from direkt beyond the other cores: the codec raises the server's FrameError.
CODEC_MAY_IMPORT = frozenset({"direkt.server.errors"})
# Third-party and standard-library modules that do I/O; a core imports none of them.
# (aiortc.sdp is aiortc's pure SDP parser, which the SDP rules use to check a description parses.)
IO_MODULES = ("redis", "starlette", "websockets", "uvicorn", "httpx", "aiohttp", "aiortc", "aioice", "asyncio",
              "socket", "subprocess", "structlog")  # fmt: skip
IO_ALLOWED = frozenset({"aiortc.sdp"})

MAX_LINES = 600
SIZED = ("server", "queue", "triage", "signaling", "loadtests", "client-demo", "tests")


@dataclass(frozen=True)
class Import:
    module: str  # the module imported from, absolute
    names: tuple[str, ...]  # the names imported from it ("" for a plain ``import module``)
    line: int


def module_name(path: Path) -> str:
    relative = path.relative_to(REPO).with_suffix("")
    return ".".join((PACKAGES[relative.parts[0]], *relative.parts[1:]))


def python_modules() -> dict[str, Path]:
    return {module_name(p): p for folder in PACKAGES for p in sorted((REPO / folder).rglob("*.py"))}


def imports(path: Path, source: str | None = None) -> Iterator[Import]:
    """Every import in ``path`` (or in ``source``, read as that file), relative ones made absolute."""
    package = module_name(path).rpartition(".")[0]
    text = path.read_text(encoding="utf-8") if source is None else source
    for node in ast.walk(ast.parse(text, str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(alias.name, ("",), node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(part for part in (base, node.module or "") if part)
            yield Import(module, tuple(alias.name for alias in node.names), node.lineno)


def imported_modules(found: Import, known: dict[str, Path]) -> set[str]:
    """The direkt modules an import loads: ``from direkt.triage import engine`` loads ``direkt.triage.engine``."""
    loaded = {found.module} if found.module in known else set()
    loaded |= {f"{found.module}.{name}" for name in found.names if f"{found.module}.{name}" in known}
    return loaded


def is_io(module: str) -> bool:
    return module not in IO_ALLOWED and any(module == m or module.startswith(m + ".") for m in IO_MODULES)


def core_problems(module: str, path: Path, known: dict[str, Path], source: str | None = None) -> list[str]:
    """What ``module`` (at ``path``; its text ``source`` if given) imports that a core must not."""
    allowed = CORES | (CODEC_MAY_IMPORT if module in FRAME_CODEC else frozenset())
    problems = []
    for found in imports(path, source):
        for loaded in sorted(imported_modules(found, known) - allowed):
            problems.append(f"{path.relative_to(REPO)}:{found.line} imports the shell module {loaded}")
        if is_io(found.module):
            problems.append(f"{path.relative_to(REPO)}:{found.line} imports {found.module}, which does I/O")
    return problems


def private_problems(module: str, path: Path, known: dict[str, Path], source: str | None = None) -> list[str]:
    """Private names imported from a module of another package (folder)."""
    package = module.rpartition(".")[0]
    problems = []
    for found in imports(path, source):
        origin = found.module if found.module in known else ""
        if not origin or origin.rpartition(".")[0] == package:
            continue
        for name in found.names:
            if name.startswith("_") and not name.startswith("__"):
                problems.append(f"{path.relative_to(REPO)}:{found.line} imports {origin}.{name}")
    return problems


def test_the_cores_are_found() -> None:
    known = python_modules()
    assert set(known) >= CORES, sorted(CORES - set(known))
    assert "direkt.triage.engine" in CORES and "direkt.triage.errors" in CORES


@pytest.mark.parametrize("module", sorted(CORES))
def test_a_core_imports_no_shell(module: str) -> None:
    known = python_modules()
    assert core_problems(module, known[module], known) == []


def test_the_check_fails_a_core_that_imports_the_server_errors() -> None:
    """As the engine did before issue 21: ``from direkt.server.errors import InvalidAnswer, ...``."""
    known = python_modules()
    engine = known["direkt.triage.engine"]
    original = engine.read_text(encoding="utf-8")
    leaning = original.replace("from direkt.triage.errors import", "from direkt.server.errors import", 1)
    assert leaning != original
    problems = core_problems("direkt.triage.engine", engine, known, leaning)
    assert problems and all("imports the shell module direkt.server.errors" in p for p in problems), problems
    lazy = original + "\n\ndef later() -> None:\n    import redis.asyncio\n"
    assert core_problems("direkt.triage.engine", engine, known, lazy) == [
        f"triage/engine.py:{len(lazy.splitlines())} imports redis.asyncio, which does I/O"
    ]


def test_no_module_imports_another_packages_private_names() -> None:
    known = python_modules()
    problems = [problem for module, path in known.items() for problem in private_problems(module, path, known)]
    assert problems == []


def test_the_check_fails_a_private_name_from_a_sibling_sub_package() -> None:
    known = python_modules()
    api = known["direkt.server.http.api"]
    sibling = "from direkt.server.care.triageflow import _possible_id\n"
    own = "from direkt.server.http.requests import _QUEUE_STATUS\n"
    assert private_problems("direkt.server.http.api", api, known, sibling) == [
        "server/http/api.py:1 imports direkt.server.care.triageflow._possible_id"
    ]
    assert private_problems("direkt.server.http.api", api, known, own) == []


def test_no_module_is_over_600_lines() -> None:
    sized = [
        p
        for folder in SIZED
        for p in sorted((REPO / folder).rglob("*"))
        if p.suffix in (".py", ".js") and "node_modules" not in p.parts  # installed packages are not ours
    ]
    lines = {str(p.relative_to(REPO)): len(p.read_text(encoding="utf-8").splitlines()) for p in sized}
    over = {name: n for name, n in lines.items() if n > MAX_LINES}
    assert over == {}
