"""Helpers for the browser tests: axe-core in the page, screenshots, the login steps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]
ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "var" / "screenshots"
AXE_REPORT = ROOT / "var" / "axe"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
STAFF_PASSWORD = "demo"  # the hub test region's staff password


def screenshot(page: Any, name: str) -> Path:
    """Write var/screenshots/NAME.png (the README takes its pictures from there: `make screenshots`)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


_AXE_SOURCE: str | None = None


def axe_source() -> str:
    global _AXE_SOURCE  # noqa: PLW0603 - read once per test run
    if _AXE_SOURCE is None:
        import axe_playwright_python

        _AXE_SOURCE = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()
    return _AXE_SOURCE


AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_check(page: Any, name: str) -> list[dict[str, Any]]:
    """Run axe-core (WCAG 2.1 A and AA rules) on the page as it is now.

    Fails on serious or critical violations; writes the whole result to
    var/axe/NAME.json and returns the minor and moderate ones.
    """
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source())  # evaluated by the driver, so the page's CSP does not block it
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS)
    AXE_REPORT.mkdir(parents=True, exist_ok=True)
    summary = {
        "page": name,
        "url": page.url,
        "passes": len(result["passes"]),
        "violations": [
            {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]], "help": v["help"]}
            for v in result["violations"]
        ],
    }
    (AXE_REPORT / f"{name}.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False))
    blocking = [v for v in summary["violations"] if v["impact"] in ("serious", "critical")]
    assert not blocking, f"axe: serious or critical violations on {name}: {blocking}"
    return [v for v in summary["violations"] if v not in blocking]


def staff_login(page: Any, username: str, password: str = STAFF_PASSWORD) -> None:
    """Log in on the console's login form (labels in Swedish, the default language)."""
    page.get_by_label("Användarnamn").fill(username)
    page.get_by_label("Lösenord").fill(password)
    page.get_by_role("button", name="Logga in").click()


def citizen_login(page: Any, pnr: str) -> None:
    """From the widget's start: the e-ID button, then the test e-ID page's person."""
    page.get_by_role("button", name="Logga in med e-legitimation").click()
    page.locator(f'button[name="pnr"][value="{pnr}"]').click()
