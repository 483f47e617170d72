"""Helpers for the browser tests: axe-core in the page, screenshots, the login steps, and the
scripted citizens the nurse-console tests chat with."""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from playwright.sync_api import Page, expect
from support import timeout
from support_hub import ERIK, SORE_THROAT, citizen

from direkt.loadtests.client import JSON, Client, Socket

T = TypeVar("T")

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


class Background:
    """An event loop in a thread: scripted citizens and nurses (``direkt.loadtests.client``) live
    there, sockets open across steps, while Playwright's sync API drives the browser in this thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], seconds: float = 15) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(seconds)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


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


# -- citizen widget steps (client-demo/chat/) ------------------------------------------------


def login(page: Any, pnr: str = "199108312399") -> None:
    """From the start screen through the test e-ID page to the entry screen."""
    citizen_login(page, pnr)
    expect(page.get_by_role("heading", name="Vad gäller det?")).to_be_visible()


def choose(page: Any, label: str) -> None:
    page.get_by_label(label, exact=True).check()


def next_question(page: Any, number: int) -> None:
    page.get_by_role("button", name="Nästa").click()
    expect(page.get_by_text(f"Fråga {number}", exact=True)).to_be_visible()


def sore_throat(page: Any, *, days: int = 10, with_back_step: bool = False) -> None:
    """The sore-throat triage in the browser, from the entry screen to the result."""
    page.get_by_role("button", name="Söka vård").click()
    expect(page.get_by_text("Fråga 1", exact=True)).to_be_visible()
    choose(page, "Inget av detta")
    next_question(page, 2)
    choose(page, "Ont i halsen")
    next_question(page, 3)
    expect(page.get_by_role("heading", name="Stämmer något av detta in på dig?")).to_be_visible()
    choose(page, "Inget av detta")  # the risk modifiers, asked once for every reason
    next_question(page, 4)
    choose(page, "Inget av detta")
    next_question(page, 5)
    if with_back_step:
        page.get_by_role("button", name="Tillbaka").click()
        expect(page.get_by_text("Fråga 4", exact=True)).to_be_visible()
        expect(page.get_by_role("heading", name="Har du något av detta?")).to_be_focused()
        choose(page, "Inget av detta")
        next_question(page, 5)
    choose(page, "Inget av detta")  # medicines that lower the white cells
    next_question(page, 6)
    choose(page, "Nej")  # fever
    next_question(page, 7)
    choose(page, "Hosta")  # Centor: a cough
    next_question(page, 8)
    choose(page, "Nej")  # very ill
    next_question(page, 9)
    page.get_by_role("spinbutton").fill(str(days))
    next_question(page, 10)
    page.get_by_role("button", name="Nästa").click()  # the photo: later, in the chat


def messages(page: Any) -> list[str]:
    return [t.strip() for t in page.locator("#log .msg .text").all_inner_texts()]


# -- console steps (client-demo/console/) ---------------------------------------------------

CONSOLE = "/console/"


def console(open_page: Callable[..., Page], username: str = "nurse-1", name: str = "nurse") -> Page:
    page = open_page(CONSOLE, name=name)
    staff_login(page, username)
    expect(page.locator("#conn")).to_have_text("Ansluten")
    return page


def queue_rows(page: Page) -> Any:
    return page.get_by_role("region", name="Kö").get_by_role("listitem")


def tab(page: Page, name: str) -> Any:
    return page.get_by_role("tab", name=re.compile(name))


def summary(page: Page) -> Any:
    return page.get_by_role("tabpanel").get_by_role("region", name="Bedömning")


def claim_next(page: Page) -> None:
    page.get_by_role("button", name="Ta nästa").click()


# -- calls (client-demo/shared/call.js) -------------------------------------------------------

WIDGET_CASE_JS = """async () => {
  const api = direkt.api;
  let view = await api.call("POST", "/api/triage", {entry: "seek_care"});
  const answers = [["screen.now", ["none"]], ["reason", "sore_throat"], ["screen.risk", ["none"]],
    ["sore_throat.danger", ["none"]],
    ["sore_throat.medicines", ["none"]], ["sore_throat.fever", "no"], ["sore_throat.centor", ["cough"]],
    ["sore_throat.ill", "no"], ["sore_throat.days", 10], ["sore_throat.photo", "skip"]];
  for (const [question, value] of answers)
    view = await api.call("POST", `/api/triage/${view.id}/answer`, {question, value});
  return (await api.call("POST", "/api/cases", {triage: view.id})).case;
}"""

# Counts what a page asks of the camera and the network: window.mediaCounts.
MEDIA_COUNTER_JS = """(() => {
  const counts = { getUserMedia: 0, peerConnections: 0 };
  Object.defineProperty(window, "mediaCounts", { value: counts });
  const devices = navigator.mediaDevices;
  if (devices) {
    const real = devices.getUserMedia.bind(devices);
    devices.getUserMedia = (constraints) => { counts.getUserMedia += 1; return real(constraints); };
  }
  const Real = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Real {
    constructor(...args) { super(...args); counts.peerConnections += 1; }
  };
})();"""


def widget_waiting(page: Page) -> str:
    """A logged-in citizen's sore-throat case through the widget's own API; the reload shows the waiting room."""
    case = str(page.evaluate(WIDGET_CASE_JS))
    page.reload()
    expect(page.get_by_role("heading", name="Du är i kön")).to_be_visible()
    expect(page.locator("#conn")).to_have_attribute("data-hub", "open")
    return case


def rtp_bytes(page: Page, source: str = "direkt.calls") -> dict[str, int]:
    """Bytes of the page's call (or ``direkt.echo``) so far, by kind (``{}`` without one)."""
    return dict(page.evaluate(f"async () => {source} ? await {source}.stats() : {{}}"))


def media_arrives(
    page: Page,
    since: dict[str, int] | None = None,
    source: str = "direkt.calls",
    seconds: float = 15,
    *,
    sending: bool = False,
) -> dict[str, int]:
    """Wait until audio and video bytes have arrived on the page (more than ``since``), and with
    ``sending`` until the page has sent both too; returns the counts."""
    since = since or {}
    keys = ("audioBytesReceived", "videoBytesReceived") + (("audioBytesSent", "videoBytesSent") if sending else ())
    deadline = time.monotonic() + timeout(seconds)
    while True:
        got = rtp_bytes(page, source)
        if all(got.get(key, 0) > since.get(key, 0) for key in keys):
            return got
        assert time.monotonic() < deadline, f"no audio and video received within {seconds} s: {got} (before: {since})"
        page.wait_for_timeout(250)


# --- the nurse console's scripted citizens (tests/browser/test_console*.py) -----------------------

# (reason, findings): the deterministic answerer answers the triage as such a patient would.
CANNOT_DRINK = ("sore_throat", {"cannot_drink": True, "symptom_days": 3})  # urgency 2: within an hour
FAINT_AFTER_FOOD = ("allergic_reaction", {"dizziness": True, "reaction_trigger": "food", "reaction_onset": "hours"})
CHILD_FEVER = ("child_fever", {"fever": True, "temperature": 38.5, "fever_days": 1})  # self-care, chat anyway: 5


class Citizen:
    """A logged-in citizen with an optional JSON socket."""

    cids = itertools.count(1)

    def __init__(self, bg: Background, base: str, pnr: str) -> None:
        self.bg = bg
        self.client: Client = bg.run(citizen(base, pnr))
        self.sock: Socket | None = None

    def submit(
        self, case: tuple[str, dict[str, Any]] | None = None, *, chat_anyway: bool = False, unit: str = "", **start: Any
    ) -> str:
        """Triage and submit; ``unit``: the clinic whose page the widget is on (default: the citizen's own)."""

        async def go() -> str:
            if case is None:  # sore throat for ten days: within days
                view = await self.client.triage("seek_care", [tuple(a) for a in SORE_THROAT], **start)  # type: ignore[misc]
            else:
                view = await self.client.triage_as("seek_care", case[0], case[1], **start)
            assert view["result"], view
            body = {"triage": view["id"], "chat_anyway": chat_anyway} | ({"unit": unit} if unit else {})
            return str((await self.client.call("POST", "/api/cases", body))["case"])

        return str(self.bg.run(go()))

    def join(self, case: str) -> None:
        async def go() -> None:
            if self.sock is None:
                self.sock = await self.client.socket(JSON)
            reply = await self.sock.request({"t": "join", "case": case}, "case")
            assert reply["t"] == "case", reply

        self.bg.run(go())

    def say(self, case: str, text: str) -> None:
        assert self.sock is not None
        frame = {"t": "send", "case": case, "cid": f"py-{next(self.cids)}", "text": text}
        reply = self.bg.run(self.sock.request(frame, "ack"))
        assert reply["t"] == "ack", reply

    def photo(self, case: str, text: str, size: tuple[int, int] = (64, 48)) -> None:
        """Upload a PNG (small by default) and send it in the chat."""
        from PIL import Image

        data = io.BytesIO()
        Image.new("RGB", size, (190, 70, 60)).save(data, "PNG")

        async def go() -> None:
            assert self.sock is not None
            headers = {"Content-Type": "image/png", "X-CSRF-Token": self.client.csrf}
            path = f"/api/cases/{case}/photos"
            response = await self.client.http.post(path, content=data.getvalue(), headers=headers)
            assert response.status_code == 201, response.text
            frame = {"t": "send", "case": case, "cid": f"py-{next(self.cids)}", "text": text}
            reply = await self.sock.request(frame | {"photo": response.json()["photo"]}, "ack")
            assert reply["t"] == "ack", reply

        self.bg.run(go())

    def photo_bytes(self, case: str, photo: str) -> bytes:
        """A photo of the case as the citizen's browser would fetch it."""

        async def go() -> bytes:
            response = await self.client.http.get(f"/api/cases/{case}/photos/{photo}")
            assert response.status_code == 200, response.text
            return response.content

        return bytes(self.bg.run(go()))

    def send(self, frame: dict[str, Any]) -> None:
        assert self.sock is not None
        self.bg.run(self.sock.send(frame))

    def next_msg(self, **match: Any) -> dict[str, Any]:
        assert self.sock is not None
        return dict(self.bg.run(self.sock.expect("msg", 10, **match)))

    def transcript(self, case: str) -> dict[str, Any]:
        return dict(self.bg.run(self.client.call("GET", f"/api/cases/{case}/transcript")))

    def close(self) -> None:
        async def go() -> None:
            if self.sock is not None:
                await self.sock.close()
            await self.client.aclose()

        self.bg.run(go())


def erik_in_a_chat(open_page: Callable[..., Page], people: Callable[[str], Citizen]) -> tuple[Citizen, str, Page]:
    """Erik's case claimed by nurse-1 in the console, with Erik's socket joined to the chat."""
    erik = people(ERIK)
    case = erik.submit()
    page = console(open_page)
    claim_next(page)
    expect(summary(page)).to_contain_text("Erik Nilsson")
    erik.join(case)
    return erik, case, page


def until(page: Page, check: Callable[[], bool], what: str, seconds: float = 10) -> None:
    """Let the page run until ``check()`` holds, or fail after ``seconds``."""
    deadline = time.monotonic() + timeout(seconds)
    while not check():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        page.wait_for_timeout(50)
