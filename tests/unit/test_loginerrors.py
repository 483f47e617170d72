"""The login error pages' pure part: which failure an error is, HTML or JSON, the page's words."""

from __future__ import annotations

import pytest

from direkt.server.errors import BadRequest, DirektError, Forbidden, NotFound, RateLimited, Unauthenticated, Unavailable
from direkt.server.identity.loginerrors import KINDS, LoginRefusedAtProvider, error_page, kind_of, wants_html
from direkt.server.identity.personnummer import BAD_CHECK_DIGIT


class AssuranceTooLow(Unauthenticated):
    """As the relying party's acr check (branch i23-oidc) raises it: told apart by its code."""

    code = "assurance_too_low"


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (LoginRefusedAtProvider("access_denied"), "cancelled"),
        (LoginRefusedAtProvider("temporarily_unavailable"), "unavailable"),
        (LoginRefusedAtProvider("invalid_request"), "failed"),
        (Unavailable("the identity provider cannot be reached"), "unavailable"),
        (Unauthenticated("the login has expired or was already completed; start again"), "expired"),
        (Unauthenticated("this login was not started in this browser; start again"), "expired"),
        (
            Unauthenticated("the identity provider refused the authorization code (expired, used or not ours)"),
            "expired",
        ),
        (Unauthenticated("the ID token does not carry the 'personal_number' claim"), "missing_claim"),
        (Unauthenticated("the ID token was issued to another client"), "not_verified"),
        (BadRequest(BAD_CHECK_DIGIT), "bad_pnr"),
        (Forbidden("the test e-ID accepts only Skatteverket's published test numbers"), "bad_pnr"),
        (Forbidden("you are not staff of any unit here"), "not_staff"),
        (RateLimited("too many failed logins; wait 15 minutes"), "too_many"),
        (NotFound("no identity provider of this kind is configured"), "no_provider"),
        (BadRequest("the identity provider sent no code"), "failed"),
        (Unauthenticated("the identity provider did not release the 'personal_number' claim"), "missing_claim"),
        (AssuranceTooLow("the login's assurance level is too low; log in with a stronger e-ID"), "low_assurance"),
    ],
)
def test_each_login_failure_has_its_kind(error: DirektError, kind: str) -> None:
    assert kind_of(error) == kind
    assert kind in KINDS


@pytest.mark.parametrize(
    ("accept", "mode", "html"),
    [
        ("text/html,application/xhtml+xml,*/*;q=0.8", "", True),
        ("*/*", "navigate", True),
        ("text/html", "cors", False),  # fetch() names its mode
        ("*/*", "", False),
        ("application/json", "", False),
        ("application/json, text/html", "", False),
        ("", "", False),
    ],
)
def test_only_a_browsers_navigation_gets_html(accept: str, mode: str, html: bool) -> None:
    assert wants_html(accept, mode) is html


def test_the_page_names_the_advice_number_when_the_region_has_one() -> None:
    page = error_page("unavailable", "/auth/oidc/login", "0771-00 00 00", "Region <Test>")
    assert "ring 0771-00 00 00 för sjukvårdsrådgivning" in page and "call 0771-00 00 00" in page
    assert "Region &lt;Test&gt;" in page and "<Test>" not in page
    assert page.count('href="/auth/oidc/login"') == 2
    plain = error_page("nonsense", "/auth/test-eid", "", "Vården direkt")
    assert "Inloggningen misslyckades" in plain and "sjukvårdsrådgivning" not in plain and "ring 112" in plain


def test_a_login_that_is_not_there_sends_people_to_the_start_page() -> None:
    page = error_page("no_provider", "/auth/test-eid", "", "Vården direkt")
    assert 'href="/">Logga in igen</a>' in page and "/auth/test-eid" not in page
