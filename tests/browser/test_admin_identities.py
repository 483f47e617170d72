"""The administration page carries a staff member's HSA-id and UPN (the identities the
region's staff identity provider may name them by): shown, edited, refused when malformed,
and kept by an edit that does not touch them."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect
from support_browser import axe_check, screenshot, staff_login


def test_an_admin_sets_and_clears_a_staff_members_identities(open_page: Callable[..., Page]) -> None:
    page = open_page("/admin/", name="admin-identities")
    staff_login(page, "admin-1")
    page.get_by_role("button", name="Redigera Nora Nilsson").click()
    hsa = page.get_by_label("HSA-id")
    upn = page.get_by_label("Inloggningsnamn hos regionen (UPN)")
    expect(hsa).to_have_value("SE2321000131-P000000001")  # from the region file
    expect(upn).to_have_value("")
    upn.fill("nora.nilsson@region")
    page.get_by_role("button", name="Spara").click()
    expect(page.get_by_role("alert")).to_contain_text("Inloggningsnamn hos regionen (UPN)")
    assert axe_check(page, "admin-identities-error") == []
    upn.fill("Nora.Nilsson@Region.example")
    screenshot(page, "admin-staff-identities")
    page.get_by_role("button", name="Spara").click()
    expect(page.get_by_role("status")).to_have_text("Sparat. Ändringen gäller nu på alla servrar.")
    expect(page.get_by_role("heading", name="Personal", level=1)).to_be_visible()  # back at the list: saved

    config = page.evaluate("fetch('/api/admin/config').then((r) => r.json())")
    nora = next(s for s in config["staff"] if s["id"] == "nurse-1")
    assert (nora["hsa_id"], nora["upn"]) == ("SE2321000131-P000000001", "Nora.Nilsson@Region.example")

    page.get_by_role("button", name="Redigera Nora Nilsson").click()
    page.get_by_label("HSA-id").fill("")
    page.get_by_role("button", name="Spara").click()
    expect(page.get_by_role("status")).to_have_text("Sparat. Ändringen gäller nu på alla servrar.")
    expect(page.get_by_role("heading", name="Personal", level=1)).to_be_visible()  # back at the list: saved
    config = page.evaluate("fetch('/api/admin/config').then((r) => r.json())")
    nora = next(s for s in config["staff"] if s["id"] == "nurse-1")
    assert (nora["hsa_id"], nora["upn"]) == (None, "Nora.Nilsson@Region.example")
