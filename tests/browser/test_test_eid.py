"""The built-in test e-ID page (not in production) in Chromium: a typed number logs in that
person, by the button and by Enter; a listed person logs in with one click (issue 20, point 4)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect
from support_browser import axe_check

ERIK_TYPED = "19910831-2399"  # Erik Nilsson: listed, but not first (Maja Andersson is)


def at_the_test_eid(open_page: Callable[..., Any]) -> Any:
    page = open_page("/chat/", name="citizen")
    page.get_by_role("button", name="Logga in med e-legitimation").click()
    expect(page.get_by_role("heading", name="Logga in med test-e-legitimation")).to_be_visible()
    return page


@pytest.mark.parametrize("submit", ["Enter", "button"])
def test_a_typed_number_logs_in_that_person(open_page: Callable[..., Any], submit: str) -> None:
    page = at_the_test_eid(open_page)
    axe_check(page, "test-eid")
    typed = page.get_by_label("Testpersonnummer / test number")
    typed.fill(ERIK_TYPED)
    if submit == "Enter":
        typed.press("Enter")
    else:
        page.get_by_role("button", name="Logga in / Log in").click()
    expect(page.get_by_text("Inloggad som Erik Nilsson")).to_be_visible()


def test_a_listed_person_logs_in_with_one_click(open_page: Callable[..., Any]) -> None:
    page = at_the_test_eid(open_page)
    page.get_by_role("button", name="Lova Andersson").click()
    expect(page.get_by_text("Inloggad som Lova Andersson")).to_be_visible()
