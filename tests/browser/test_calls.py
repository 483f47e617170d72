"""Audio and video calls in two real browsers (docs/protocol.md §7): a citizen
in the chat widget and a nurse in the console, each in their own context,
through one real server. Chromium's fake camera and microphone make real media:
each page's getStats must show audio and video bytes arriving.

Consent before media, decline, the citizen's own request, mute and camera
off, an ICE restart mid-call, a camera that cannot start (the chat carries
on), the pre-call echo test, and axe-core on every call screen.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, expect
from support_browser import (
    MEDIA_COUNTER_JS,
    axe_check,
    claim_next,
    console,
    login,
    media_arrives,
    rtp_bytes,
    screenshot,
    widget_waiting,
)

Opener = Callable[..., Page]
CAMERA_DENIED_JS = (
    "navigator.mediaDevices.getUserMedia = () =>"
    " Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));"
)
FAILED = "Samtalet kunde inte kopplas upp. Ni kan fortsätta i chatten."
SESSION_JS = "() => { const s = direkt.calls; return s && {phase: s.phase, pc: s.pc && s.pc.connectionState}; }"


def chat_pair(open_page: Opener, *citizen_scripts: str) -> tuple[Page, Page]:
    """Erik in the widget and nurse-1 in the console, in an open chat (Erik's page counts its media use)."""
    citizen = open_page("/chat/", name="citizen")
    for script in (*citizen_scripts, MEDIA_COUNTER_JS):  # the counter wraps whatever the others put in place
        citizen.add_init_script(script)
    login(citizen)
    widget_waiting(citizen)
    nurse = console(open_page)
    claim_next(nurse)
    expect(citizen.get_by_role("alert").filter(has_text="Din chatt är redo")).to_be_visible()
    expect(citizen_log(citizen)).to_contain_text("har öppnat chatten")
    return citizen, nurse


def panel(nurse: Page) -> Any:
    return nurse.get_by_role("tabpanel")


def status(page: Page, text: str | re.Pattern[str]) -> Any:
    return page.get_by_role("status").filter(has_text=text)


def citizen_log(citizen: Page) -> Any:
    return citizen.get_by_role("log", name="Meddelanden")


def nurse_log(nurse: Page) -> Any:
    return panel(nurse).get_by_role("log")


def say(page: Page, text: str) -> None:
    box = page.get_by_label("Meddelande", exact=True)
    box.fill(text)
    box.press("Enter")


def chat_goes_on(citizen: Page, nurse: Page, tag: str) -> None:
    """Messages still flow both ways."""
    say(nurse, f"Från sjuksköterskan {tag}")
    expect(citizen_log(citizen)).to_contain_text(f"Från sjuksköterskan {tag}")
    say(citizen, f"Från patienten {tag}")
    expect(nurse_log(nurse)).to_contain_text(f"Från patienten {tag}")


def media_counts(page: Page) -> dict[str, int]:
    return dict(page.evaluate("() => ({...window.mediaCounts})"))


def no_violations(page: Page, name: str) -> None:
    assert axe_check(page, name) == [], f"axe: violations on {name}, see var/axe/{name}.json"


def video_call(citizen: Page, nurse: Page) -> None:
    """The nurse proposes a video call, the citizen answers it, both pages connect."""
    panel(nurse).get_by_role("button", name="Videosamtal").click()
    citizen.get_by_role("alertdialog").get_by_role("button", name="Svara").click()
    for page in (citizen, nurse):
        expect(status(page, "Samtal pågår")).to_be_visible(timeout=15_000)


def local_tracks(page: Page) -> dict[str, list[bool]]:
    return dict(
        page.evaluate(
            "() => ({audio: direkt.calls.local.getAudioTracks().map(t => t.enabled),"
            " video: direkt.calls.local.getVideoTracks().map(t => t.enabled)})"
        )
    )


# -- tests ----------------------------------------------------------------------------------


def test_video_call_needs_consent_carries_media_both_ways_and_ends_in_the_chat(open_page: Opener) -> None:
    citizen, nurse = chat_pair(open_page)
    expect(
        citizen.get_by_role("button", name="Testa kamera och mikrofon")
    ).to_be_visible()  # the echo test, from the chat
    panel(nurse).get_by_role("button", name="Videosamtal").click()
    expect(status(nurse, "Ringer Erik…")).to_be_visible()
    expect(panel(nurse).get_by_role("button", name="Ring upp")).to_be_disabled()

    # consent: who calls, what starts when, a choice of camera and microphone; nothing started yet
    consent = citizen.get_by_role("alertdialog", name="Nora Nilsson vill ha ett videosamtal med dig")
    expect(consent).to_contain_text("Kameran och mikrofonen startar först när du svarar.")
    expect(consent.get_by_label("Kamera")).to_be_visible()
    expect(consent.get_by_label("Mikrofon")).to_be_visible()
    expect(consent.get_by_role("heading")).to_be_focused()
    assert media_counts(citizen) == {"getUserMedia": 0, "peerConnections": 0}
    assert citizen.evaluate("() => direkt.calls") is None
    no_violations(citizen, "call-consent")
    screenshot(citizen, "call-consent")

    consent.get_by_role("button", name="Svara").click()
    for page in (citizen, nurse):
        expect(status(page, "Samtal pågår")).to_be_visible(timeout=15_000)
    got = {"citizen": media_arrives(citizen, sending=True), "nurse": media_arrives(nurse, sending=True)}
    assert all(b["audioBytesSent"] > 0 and b["videoBytesSent"] > 0 for b in got.values()), got
    assert media_counts(citizen) == {"getUserMedia": 1, "peerConnections": 1}
    for page in (citizen, nurse):  # the views show the other side's picture, not only the stats
        page.wait_for_function("() => document.querySelector('.stage video.remote').videoWidth > 0")
    expect(citizen.locator(".call-timer")).to_contain_text(re.compile(r"\d\d:\d\d"))
    expect(citizen.get_by_role("button", name="Skicka")).to_be_enabled()  # the chat beside the call
    no_violations(citizen, "call-widget")
    screenshot(citizen, "call-widget")
    no_violations(nurse, "call-console")
    screenshot(nurse, "call-console")

    citizen.wait_for_timeout(1200)  # a call of a second or more, so the ended message has a duration
    panel(nurse).get_by_role("button", name="Lägg på").click()
    for page in (citizen, nurse):
        expect(status(page, "Samtalet avslutades.")).to_be_visible()
        assert page.evaluate("() => direkt.calls") is None
    assert citizen.evaluate(
        "() => direkt.app.screen.call.session.local.getTracks().every(t => t.readyState === 'ended')"
    ), "the citizen's camera and microphone are still on"
    for log in (citizen_log(citizen), nurse_log(nurse)):
        expect(log).to_contain_text("Nora Nilsson föreslår ett videosamtal.")
        expect(log).to_contain_text("Erik Nilsson svarade. Samtalet kopplas upp.")
        expect(log).to_contain_text(re.compile(r"Samtalet avslutades efter (\d+ min )?\d+ s\."))
    expect(panel(nurse).get_by_role("button", name="Videosamtal")).to_be_enabled()
    chat_goes_on(citizen, nurse, "efter samtalet")


def test_a_declined_call_starts_no_camera_and_the_chat_goes_on(open_page: Opener) -> None:
    citizen, nurse = chat_pair(open_page)
    panel(nurse).get_by_role("button", name="Videosamtal").click()
    citizen.get_by_role("alertdialog").get_by_role("button", name="Avböj").click()
    expect(status(nurse, "Erik avböjde samtalet.")).to_be_visible()
    expect(status(citizen, "Du avböjde samtalet.")).to_be_visible()
    expect(citizen.get_by_role("alertdialog")).to_have_count(0)
    expect(nurse_log(nurse)).to_contain_text("Erik Nilsson avböjde samtalet.")
    assert media_counts(citizen) == {"getUserMedia": 0, "peerConnections": 0}
    assert citizen.evaluate("() => direkt.calls") is None
    assert nurse.evaluate("() => direkt.calls") is None
    expect(panel(nurse).get_by_role("button", name="Videosamtal")).to_be_enabled()
    chat_goes_on(citizen, nurse, "efter nej")


def test_ringing_names_whom_it_rings_wherever_the_console_shows_it(open_page: Opener) -> None:
    """Issue 20, point 12: "Ringer…" in one place and "Ringer Erik…" in another."""
    citizen, nurse = chat_pair(open_page)
    panel(nurse).get_by_role("button", name="Ring upp").click()
    box = panel(nurse).locator(".callbox")
    expect(status(nurse, "Ringer Erik…")).to_be_visible()
    expect(box.get_by_role("heading", name="Ljudsamtal med Erik")).to_be_visible()
    shown = box.inner_text()
    assert re.findall(r"Ringer[^\n]*", shown) == ["Ringer Erik…"], shown
    no_violations(nurse, "call-ringing")
    citizen.get_by_role("alertdialog").get_by_role("button", name="Avböj").click()
    expect(status(nurse, "Erik avböjde samtalet. Ni kan fortsätta i chatten.")).to_be_visible()


def test_the_citizen_asks_the_nurse_answers_the_citizen_hangs_up(open_page: Opener) -> None:
    citizen, nurse = chat_pair(open_page)
    citizen.get_by_role("button", name="Be om videosamtal").click()
    expect(status(citizen, "Väntar på svar från Nora Nilsson…")).to_be_visible()
    expect(citizen.get_by_role("region", name="Du har bett om ett videosamtal")).to_be_visible()
    request = panel(nurse).get_by_role("region", name="Erik ber om videosamtal")
    expect(request).to_be_visible()
    expect(nurse_log(nurse)).to_contain_text("Erik Nilsson ber om ett videosamtal.")
    no_violations(nurse, "call-console-request")
    request.get_by_role("button", name="Svara").click()
    for page in (citizen, nurse):
        expect(status(page, "Samtal pågår")).to_be_visible(timeout=15_000)
        media_arrives(page)
    citizen.get_by_role("button", name="Lägg på").click()
    for page in (citizen, nurse):
        expect(status(page, "Samtalet avslutades.")).to_be_visible()
    assert nurse.evaluate("() => direkt.calls") is None
    expect(citizen.get_by_role("button", name="Be om videosamtal")).to_be_visible()


def test_mute_and_camera_off_switch_the_tracks_and_a_reloaded_page_can_hang_up(open_page: Opener) -> None:
    citizen, nurse = chat_pair(open_page)
    video_call(citizen, nurse)
    mute = citizen.get_by_role("button", name="Stäng av mikrofonen")
    camera = citizen.get_by_role("button", name="Stäng av kameran")
    expect(mute).to_have_attribute("aria-pressed", "false")
    assert local_tracks(citizen) == {"audio": [True], "video": [True]}

    mute.click()
    expect(mute).to_have_attribute("aria-pressed", "true")
    expect(mute).to_be_focused()  # the re-rendered view keeps the keyboard where it was
    expect(citizen.get_by_text("Din mikrofon är avstängd.")).to_be_visible()
    assert local_tracks(citizen) == {"audio": [False], "video": [True]}
    camera.click()
    expect(camera).to_have_attribute("aria-pressed", "true")
    assert local_tracks(citizen) == {"audio": [False], "video": [False]}
    mute.click()
    camera.click()
    expect(camera).to_have_attribute("aria-pressed", "false")
    expect(mute).to_have_attribute("aria-pressed", "false")
    assert local_tracks(citizen) == {"audio": [True], "video": [True]}

    nurse_mute = panel(nurse).get_by_role("button", name="Stäng av mikrofonen")
    nurse_mute.click()
    expect(nurse_mute).to_have_attribute("aria-pressed", "true")
    assert local_tracks(nurse) == {"audio": [False], "video": [True]}
    panel(nurse).get_by_role("button", name="Stäng av kameran").click()
    assert local_tracks(nurse) == {"audio": [False], "video": [False]}

    # a reloaded widget holds no session for the live call: it says so, and can still hang up
    citizen.reload()
    elsewhere = citizen.get_by_role("region", name="Ett samtal pågår i ett annat fönster")
    elsewhere.get_by_role("button", name="Lägg på").click()
    for page in (citizen, nurse):
        expect(status(page, "Samtalet avslutades.")).to_be_visible()
    assert nurse.evaluate("() => direkt.calls") is None


def test_an_ice_restart_keeps_the_call_and_the_media_going(open_page: Opener) -> None:
    citizen, nurse = chat_pair(open_page)
    video_call(citizen, nurse)
    before = {"citizen": media_arrives(citizen), "nurse": media_arrives(nurse)}
    ufrags = (
        "() => [direkt.calls.pc.localDescription, direkt.calls.pc.remoteDescription]"
        ".map(d => d.sdp.match(/a=ice-ufrag:(\\S+)/)[1])"
    )
    old = nurse.evaluate(ufrags)

    assert nurse.evaluate("() => direkt.calls.restartIce()") is True
    # the server counted the restart, and the citizen's page answered with new ICE credentials
    nurse.wait_for_function("() => direkt.calls.call.restarts === 1 && direkt.calls.pc.signalingState === 'stable'")
    new = nurse.evaluate(ufrags)
    assert new[0] != old[0] and new[1] != old[1], (old, new)
    media_arrives(citizen, since=before["citizen"])
    media_arrives(nurse, since=before["nurse"])
    for page in (citizen, nurse):
        expect(status(page, "Samtal pågår")).to_be_visible()
        assert page.evaluate(SESSION_JS) == {"phase": "connected", "pc": "connected"}


def test_a_camera_that_cannot_start_fails_the_call_and_the_chat_goes_on(open_page: Opener) -> None:
    citizen, nurse = chat_pair(open_page, CAMERA_DENIED_JS)
    panel(nurse).get_by_role("button", name="Videosamtal").click()
    citizen.get_by_role("alertdialog").get_by_role("button", name="Svara").click()
    expect(status(citizen, FAILED)).to_be_visible()
    expect(status(citizen, "Kameran eller mikrofonen gick inte att starta.")).to_be_visible()
    expect(status(nurse, FAILED)).to_be_visible()
    failed = "Samtalet kunde inte kopplas upp (kameran eller mikrofonen gick inte att använda). Chatten fortsätter."
    expect(citizen_log(citizen)).to_contain_text(failed)
    expect(nurse_log(nurse)).to_contain_text(failed)
    assert media_counts(citizen) == {"getUserMedia": 1, "peerConnections": 0}
    for page in (citizen, nurse):
        assert page.evaluate("() => direkt.calls") is None
    chat_goes_on(citizen, nurse, "utan kamera")


def test_the_echo_test_sends_the_camera_back_from_the_server(open_page: Opener) -> None:
    citizen = open_page("/chat/", name="citizen")
    login(citizen)
    widget_waiting(citizen)
    citizen.get_by_role("button", name="Testa kamera och mikrofon").click()
    echo = citizen.get_by_role("region", name="Testa kamera och mikrofon")
    expect(echo).to_be_visible()
    expect(echo.get_by_role("heading")).to_be_focused()
    expect(status(citizen, "Kameran och mikrofonen fungerar.")).to_be_visible(timeout=15_000)
    media_arrives(citizen, source="direkt.echo")
    no_violations(citizen, "call-echo")
    screenshot(citizen, "call-echo")

    echo.get_by_role("button", name="Avsluta test").click()
    expect(status(citizen, "Testet är avslutat.")).to_be_visible()
    expect(echo).to_have_count(0)
    assert citizen.evaluate("() => direkt.echo") is None
    assert rtp_bytes(citizen, "direkt.echo") == {}
