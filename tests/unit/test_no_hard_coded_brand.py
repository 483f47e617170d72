"""No service brand in code: the name "1177" comes back only as data (the region file,
the triage knowledge base) or as an identifier (the unit kind "1177", the care level
"call_1177"), never as a text in the server's Python or in a file the clients are served
(issue 22: the brand is the region's configuration, server/brand.py)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# "1177" standing alone; an identifier such as call_1177, ADVICE_1177 or care_call_1177 is not brand.
BRAND = re.compile(r"(?<![\w-])1177(?![\w-])")
KIND = 'ADVICE_1177 = "1177"'  # queue/model.py's unit kind: a value in the region file, not a text


def hits(folder: str, suffixes: tuple[str, ...]) -> list[str]:
    found = []
    for path in sorted((ROOT / folder).rglob("*")):
        if path.suffix not in suffixes or "data" in path.relative_to(ROOT).parts:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if BRAND.search(line) and KIND not in line:
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    return found


def test_the_server_python_names_no_brand() -> None:
    assert hits("server", (".py",)) == []


def test_the_served_client_files_name_no_brand() -> None:
    assert hits("client-demo", (".js", ".html", ".css", ".svg", ".json")) == []


def test_the_guard_would_see_a_brand_come_back() -> None:
    assert BRAND.search('title: "1177 direkt chatt"') and BRAND.search("ring 1177.")
    assert not BRAND.search("call_1177") and not BRAND.search('id = "1177-vm"') and not BRAND.search("call-1177")
