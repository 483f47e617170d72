"""The widget on a clinic's page of ANOTHER site, in Chromium: direkt on http://127.0.0.1, the clinic
on http://localhost (a second small HTTP server), so the chat's iframe is a third party there.

The citizen logs in through the pop-up (the test e-ID, first-party and top-level), the pop-up
hands a one-time code to the frame, and the frame's session cookie is Partitioned: it survives a
reload of the clinic's page, and a second clinic site (http://vc2.localhost) does not share it.
An OIDC broker's login (the project's own issuer) runs in the pop-up the same way.
Chromium treats loopback as a secure context, so the Secure cookies need no TLS here.
"""

from __future__ import annotations

import http.server
import itertools
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from oidc_issuer import CLIENT_ID, CLIENT_SECRET, Issuer
from playwright.sync_api import expect
from support import ServerProcess, free_port
from support_browser import Background, axe_check, screenshot, sore_throat

from direkt.loadtests.client import JSON, Client
from direkt.server.redis.embedded import EmbeddedRedis

ERIK = "199108312399"
TITLE = "Vården direkt – chatt"

CLINIC_PAGE = """<!doctype html>
<html lang="sv"><head><meta charset="utf-8"><title>Testby vårdcentral – påhittad mottagning</title>
<link rel="icon" href="data:,"></head>
<body><header><p>Testby vårdcentral</p></header>
<main><h1>Välkommen till Testby vårdcentral</h1><p>Chatta med oss: knappen finns längst ned till höger.</p></main>
<script src="{direkt}/widget.js" data-unit="vc-t" async></script>
</body></html>"""


class ClinicSite:
    """The clinic's own web server: one page that pastes the widget's script tag."""

    def __init__(self, direkt: str) -> None:
        page = CLINIC_PAGE.format(direkt=direkt).encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200 if self.path.startswith("/clinic.html") else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, host: str) -> str:
        return f"http://{host}:{self.port}/clinic.html"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def framed_by_clinics(redis_url: str, **env: str) -> ServerProcess:
    """direkt with the clinic sites allowed to frame the chat (DIREKT_ALLOWED_ORIGINS, frame-ancestors)."""
    port = free_port()
    clinics = ClinicSite(f"http://127.0.0.1:{port}")
    origins = [f"http://127.0.0.1:{port}", f"http://localhost:{port}"]
    origins += [f"http://{host}:{clinics.port}" for host in ("localhost", "vc2.localhost")]
    process = ServerProcess(redis_url, port=port, DIREKT_ALLOWED_ORIGINS=",".join(origins), **env)
    process.clinics = clinics  # type: ignore[attr-defined]
    return process


def stop(process: ServerProcess) -> None:
    process.stop()
    process.clinics.stop()  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def server(standalone_redis: EmbeddedRedis) -> Iterator[ServerProcess]:
    process = framed_by_clinics(standalone_redis.url, DIREKT_POSITION_INTERVAL_SECONDS="0.5")
    yield process
    stop(process)


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    with Issuer() as running:
        yield running


@pytest.fixture(scope="module")
def brokered(standalone_redis: EmbeddedRedis, issuer: Issuer) -> Iterator[ServerProcess]:
    """direkt whose citizens log in through an OIDC broker (the project's own issuer), framed by the clinics."""
    process = framed_by_clinics(
        standalone_redis.url,
        DIREKT_OIDC_ISSUER=issuer.url,
        DIREKT_OIDC_CLIENT_ID=CLIENT_ID,
        DIREKT_OIDC_CLIENT_SECRET=CLIENT_SECRET,
    )
    issuer.redirect_uris.add(process.url("/auth/oidc/callback"))
    yield process
    stop(process)


class Nurse:
    """nurse-1 on the real socket, on an event loop in a thread."""

    def __init__(self, base: str) -> None:
        self.bg = Background()
        self.client = Client(base)
        self.bg.run(self.client.login_staff("nurse-1"), 15)
        self.sock = self.bg.run(self.client.socket(JSON), 15)
        self.cids = itertools.count(1)

    def claim_and_say(self, case: str, text: str) -> None:
        claimed = self.bg.run(self.sock.request({"t": "claim", "case": case}, "claimed"), 15)
        assert claimed["t"] == "claimed", claimed
        joined = {"t": "join", "case": case, "epoch": "", "after": ""}
        assert self.bg.run(self.sock.request(joined, "synced"), 15)["t"] == "synced"
        frame = {"t": "send", "case": case, "cid": f"n{next(self.cids)}", "text": text}
        assert self.bg.run(self.sock.request(frame, "ack"), 15)["t"] == "ack"

    def close(self) -> None:
        try:
            self.bg.run(self.sock.close(), 15)
            self.bg.run(self.client.aclose(), 15)
        finally:
            self.bg.stop()


def open_widget(page: Any) -> tuple[Any, Any]:
    """Open the launcher on the clinic's page: the chat's frame locator and its frame."""
    page.get_by_role("button", name="Chatta med vården").click()
    element = page.locator(f'iframe[title="{TITLE}"]')
    expect(element).to_be_visible()
    return page.frame_locator(f'iframe[title="{TITLE}"]'), element.element_handle().content_frame()


def test_a_citizen_logs_in_through_the_popup_and_chats_inside_the_frame_on_another_site(
    open_page: Any, server: ServerProcess
) -> None:
    clinics: ClinicSite = server.clinics  # type: ignore[attr-defined]
    page = open_page(clinics.url("localhost"), name="clinic")
    expect(page.get_by_role("heading", name="Välkommen till Testby vårdcentral")).to_be_visible()
    chat, frame = open_widget(page)
    expect(chat.get_by_text("Inloggningen öppnas i ett nytt fönster.", exact=False)).to_be_visible()
    assert frame.evaluate("direkt.app.popupLogin") is True

    # a pop-up closed without a login: the chat says so, and stays logged out
    with page.expect_popup() as opened:
        chat.get_by_role("button", name="Logga in med e-legitimation").click()
    opened.value.close()
    expect(chat.get_by_role("status").filter(has_text="Inloggningsfönstret stängdes")).to_be_visible()

    # the login in a pop-up: first-party and top-level, where the test e-ID (or a broker) works
    with page.expect_popup() as opened:
        chat.get_by_role("button", name="Logga in med e-legitimation").click()
    popup = opened.value
    popup.locator(f'button[name="pnr"][value="{ERIK}"]').click()
    popup.wait_for_event("close")  # it handed the code to the frame and closed itself

    chat = page.frame_locator(f'iframe[title="{TITLE}"]')  # the frame reloaded, logged in
    expect(chat.get_by_role("button", name="Logga ut")).to_be_visible()
    expect(chat.get_by_role("heading", name="Vad gäller det?")).to_be_visible()
    jar = page.context.cookies()
    session = next(c for c in jar if c["name"] == "direkt_embed_session")
    assert session["partitionKey"] == "http://localhost" and session["sameSite"] == "None" and session["secure"]
    assert session["httpOnly"]
    assert not [c for c in jar if c["name"] == "direkt_session"]  # the pop-up's first-party login moved into the frame
    assert not [c for c in jar if c["name"] == "direkt_embed_bind"]  # the binding is spent

    # the triage and the waiting room, inside the frame
    sore_throat(chat)
    chat.get_by_role("button", name="Skicka till väntrummet").click()
    expect(chat.get_by_role("heading", name="Du är i kön")).to_be_visible()
    content = page.locator(f'iframe[title="{TITLE}"]').element_handle().content_frame()
    expect(chat.locator("#conn")).to_have_attribute("data-hub", "open")
    assert axe_check(page, "widget-cross-site") == []
    assert axe_check(content, "widget-cross-site-waiting") == []

    # a nurse's message reaches the citizen inside the frame (the socket's Origin is direkt's own)
    case = str(content.evaluate("direkt.api.call('GET', '/api/cases').then((r) => r.cases[0].case)"))
    nurse = Nurse(server.base)
    try:
        nurse.claim_and_say(case, "Hej Erik! Jag heter Nora. Hur länge har du haft ont?")
        log = chat.get_by_role("log", name="Meddelanden")
        expect(log).to_contain_text("Hur länge har du haft ont?")
        assert axe_check(content, "widget-cross-site-chat") == []
        screenshot(page, "widget-cross-site")
    finally:
        nurse.close()

    # a reload of the clinic's page keeps the login (the partitioned cookie stays in this site's partition)
    page.reload()
    chat, _ = open_widget(page)
    expect(chat.get_by_role("button", name="Logga ut")).to_be_visible()
    expect(chat.get_by_role("log", name="Meddelanden")).to_contain_text("Hur länge har du haft ont?")

    # another clinic's site does not share it: a partition of its own, logged out
    other = page.context.new_page()
    other.goto(clinics.url("vc2.localhost"))
    chat2, _ = open_widget(other)
    expect(chat2.get_by_role("button", name="Logga in med e-legitimation")).to_be_visible()
    expect(chat2.get_by_role("button", name="Logga ut")).to_have_count(0)

    # logging out in the frame deletes its partitioned cookie
    chat.get_by_role("button", name="Logga ut").click()
    expect(chat.get_by_role("button", name="Logga in med e-legitimation")).to_be_visible()
    assert not [c for c in page.context.cookies() if c["name"] == "direkt_embed_session"]


def test_a_broker_login_runs_in_the_popup_and_lands_in_the_frame(
    open_page: Any, brokered: ServerProcess, issuer: Issuer
) -> None:
    """An e-ID broker (OIDC, never framed): the pop-up goes there and back, the code reaches the frame."""
    issuer.reset()
    issuer.claims = {"given_name": "Saga", "family_name": "Lindqvist"}
    page = open_page(brokered.clinics.url("localhost"), name="clinic-broker")  # type: ignore[attr-defined]
    chat, _ = open_widget(page)
    with page.expect_popup() as opened:
        chat.get_by_role("button", name="Logga in med e-legitimation").click()
    opened.value.wait_for_event("close")
    expect(chat.get_by_text("Inloggad som Saga Lindqvist")).to_be_visible()
    content = page.locator(f'iframe[title="{TITLE}"]').element_handle().content_frame()
    assert content.evaluate("direkt.api.me.provider") == "oidc"


def test_on_a_page_of_direkt_s_own_site_the_framed_chat_logs_in_the_same_way(
    open_page: Any, server: ServerProcess
) -> None:
    """The demo clinic page served by direkt itself (same site): the frame's pop-up login works there too."""
    page = open_page("/embed-demo.html?unit=vc-t", name="clinic-same-site")
    chat, _ = open_widget(page)
    with page.expect_popup() as opened:
        chat.get_by_role("button", name="Logga in med e-legitimation").click()
    popup = opened.value
    popup.locator(f'button[name="pnr"][value="{ERIK}"]').click()
    popup.wait_for_event("close")
    expect(chat.get_by_role("heading", name="Vad gäller det?")).to_be_visible()
    expect(chat.get_by_text("Inloggad som Erik Nilsson")).to_be_visible()
