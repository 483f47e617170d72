"""The printable journal record (server/care/recordhtml.py): what a nurse printing it reads, in Swedish
with the English beside it, and no markup from the case's texts ever reaching the page as markup."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import replace
from html.parser import HTMLParser

from support import at
from support_hub import ELSA, GUARDIAN

from direkt.server.care.casefile import CaseFile
from direkt.server.care.recordhtml import CONTENT_SECURITY_POLICY, STYLE, render_record
from direkt.server.care.recordinput import ChatSummary, RecordInput, StaffInfo, UnitInfo

INJECTED = '<script>alert(1)</script><img src=x onerror="alert(2)">'
FILE = CaseFile(
    case_id="t.01JF0000000000000000000001", owner_uid="c-maja", patient_pnr=ELSA,
    patient_name=f"Elsa {INJECTED}", guardian_pnr=GUARDIAN, first_name="Elsa", phone="", lang="sv",
    entry="seek_care", home_unit="vc-t", created_ms=at("2026-12-07 09:00"),
    triage={
        "reason": {"code": "child_fever", "label": {"sv": "Feber hos barn", "en": f"Fever in a child {INJECTED}"}},
        "care_level": "within_days", "headline": {"sv": "Kontakta vården inom några dagar.", "en": "Within days."},
        "findings": {"present": [{"sv": "Feber", "en": "Fever"}], "absent": [{"sv": "Kramper", "en": "Seizures"}],
                     "measured": [{"sv": "Temperatur: 38,5 °C", "en": "Temperature: 38.5 °C"}]},
        "answers": [{"question": {"sv": "Vad mer?", "en": "What else?"}, "answer": {"sv": INJECTED, "en": INJECTED}}],
        "kb_version": "abc123",
    },
    ready_ms=at("2026-12-07 09:10"), staff_id="nurse-1", staff_name="Nora Nilsson",
    closed_ms=at("2026-12-07 09:30"), outcome="referred", referred_unit="vc-other",
)  # fmt: skip
DATA = RecordInput(
    FILE,
    UnitInfo("vc-t", "Testby vårdcentral"),
    StaffInfo("nurse-1", "Nora Nilsson", "nurse", "SE2321000131-P000000001"),
    ChatSummary(3, 2, 1, 0, 0, at("2026-12-07 09:11"), at("2026-12-07 09:28"), f"Feber 1 dygn. {INJECTED}", 0),
    referred=UnitInfo("vc-other", "Annanby <b>vårdcentral</b>", "Storgatan 1", "72211", "Annanby"),
)


class Tags(HTMLParser):
    """Every start tag and attribute the page really has."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += [name for name, _ in attrs]


def parsed(page: str) -> Tags:
    tags = Tags()
    tags.feed(page)
    return tags


def text_of(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def test_injected_markup_is_shown_as_text_never_run() -> None:
    page = render_record(DATA, at("2026-12-07 10:00"))
    tags = parsed(page)
    assert "script" not in tags.tags and "img" not in tags.tags and "b" not in tags.tags
    assert "onerror" not in tags.attrs
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # as text, where it was written
    assert page.count("&lt;script&gt;") == 4  # the name, the reason's English, the answer, the note
    assert "Annanby &lt;b&gt;vårdcentral&lt;/b&gt;" in page


def test_the_page_says_what_the_record_holds_in_swedish_and_english() -> None:
    words = text_of(render_record(DATA, at("2026-12-07 10:00")))
    for expected in (
        "Journalkopia / Journal record",
        f"Personnummer / Personal identity number {ELSA}",
        f"Vårdnadshavare som sökte för barnet / Guardian acting for the child {GUARDIAN}",
        "Avslutad / Closed 2026-12-07 09:30",
        "Utfall / Outcome Hänvisad / Referred",
        "Hänvisad till / Referred to Annanby",
        "Nora Nilsson (Sjuksköterska / Nurse , HSA-id SE2321000131-P000000001)",
        "Feber 1 dygn.",
        "Meddelanden från patienten / Messages from the patient 3",
        "Temperatur: 38,5 °C / Temperature: 38.5 °C",
        "Utskriven / Printed 2026-12-07 10:00",
    ):
        assert expected in words, expected
    assert "Bokat besök" not in words  # no booking, no booking section


def test_a_booking_is_printed_and_the_policy_lets_only_its_own_style_in() -> None:
    booking = {"id": "vc-other.k3x9", "unit": "vc-other", "profession": "doctor", "mode": "video",
               "start_ms": at("2026-12-08 10:00"), "end_ms": at("2026-12-08 10:20"), "status": "booked"}  # fmt: skip
    data = replace(DATA, file=replace(FILE, outcome="video_consultation", referred_unit=""), referred=None,
                   booking=booking, booking_unit=UnitInfo("vc-other", "Annanby vårdcentral"))  # fmt: skip
    words = text_of(render_record(data, at("2026-12-07 10:00")))
    assert "Tid / Time 2026-12-08 10:00 – 10:20" in words and "Videobesök / Video visit" in words
    assert "Läkare / Doctor" in words and "Bokad / Booked" in words
    digest = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in CONTENT_SECURITY_POLICY
    assert "default-src 'none'" in CONTENT_SECURITY_POLICY and "script-src" not in CONTENT_SECURITY_POLICY
