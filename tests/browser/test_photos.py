"""Phone photos from the citizen's chat in Chromium (issue 20, point 1): several 4000x3000
JPEGs of about 4 MB with EXIF and GPS, one after another, each reaching the nurse; a photo
the server refuses is explained in Swedish, never as a bare English "Bad Request"."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from support import ServerProcess
from support_browser import DESKTOP, Background, axe_check, login, widget_waiting
from support_photo import phone_photo

from direkt.loadtests.client import JSON, Client, Socket

UPLOADS = 3


class Nurse:
    """nurse-1 with one JSON socket on a background loop: she holds the chat and sees the photos."""

    def __init__(self, base: str) -> None:
        self.bg = Background()
        self.client = Client(base)
        self.bg.run(self.client.login_staff("nurse-1"))
        self.sock: Socket = self.bg.run(self.client.socket(JSON))

    def claim(self, case: str) -> None:
        assert self.bg.run(self.sock.request({"t": "claim", "case": case}, "claimed"))["t"] == "claimed"
        assert self.bg.run(self.sock.request({"t": "join", "case": case, "epoch": "", "after": ""}, "synced"))

    def photo_message(self) -> dict[str, Any]:
        return dict(self.bg.run(self.sock.expect("msg", 30, k="photo"), 40))

    def close(self) -> None:
        try:
            self.bg.run(self.sock.close())
            self.bg.run(self.client.aclose())
        finally:
            self.bg.stop()


@pytest.fixture
def nurse(server: ServerProcess) -> Iterator[Nurse]:
    held = Nurse(server.base)
    yield held
    held.close()


@pytest.fixture
def citizen_page(browser: Any, server: ServerProcess) -> Iterator[tuple[Any, list[str]]]:
    """The citizen's chat page and the console errors it logs (this test expects one: the refused photo)."""
    context = browser.new_context(base_url=server.base, viewport=DESKTOP, locale="sv-SE")
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto("/chat/")
    yield page, errors
    context.close()


def test_phone_photos_reach_the_nurse_and_a_refused_one_is_explained_in_swedish(
    citizen_page: tuple[Any, list[str]], nurse: Nurse, tmp_path: Path
) -> None:
    page, errors = citizen_page
    login(page)
    case = widget_waiting(page)
    nurse.claim(case)
    log = page.get_by_role("log", name="Meddelanden")
    expect(log).to_be_visible()

    picture = tmp_path / "IMG_4032.jpg"
    picture.write_bytes(phone_photo())
    for sent in range(1, UPLOADS + 1):
        page.get_by_label("Bifoga bild").set_input_files(str(picture))
        page.get_by_role("button", name="Skicka bild").click()
        expect(log.get_by_role("img", name="Bild som du skickade")).to_have_count(sent)
        fetched = nurse.bg.run(nurse.client.http.get(f"/api/cases/{case}/photos/{nurse.photo_message()['photo']}"))
        assert fetched.status_code == 200 and fetched.headers["content-type"] == "image/jpeg"
    expect(page.locator("#photo-step").get_by_role("alert")).to_have_count(0)

    broken = tmp_path / "trasig.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not the rest of a JPEG")
    page.get_by_label("Bifoga bild").set_input_files(str(broken))
    page.get_by_role("button", name="Skicka bild").click()
    refusal = page.locator("#photo-step").get_by_role("alert")
    expect(refusal).to_have_text("Bilden gick inte att läsa. Välj en annan bild i formatet JPEG, PNG eller WebP.")
    axe_check(page, "widget-photo-refused")
    assert [e for e in errors if "status of 415" not in e] == [], errors  # the refusal itself is the only one
