"""The nurse guidance beside the chat (client-demo/console/guidance.js, issue 24): a citizen in the
widget and a nurse in the console, each in their own browser context, through one real server."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect
from support_browser import axe_check, claim_next, console, login, screenshot, widget_waiting

Opener = Callable[..., Page]


def test_a_nurse_finds_guidance_from_the_triage_and_a_misspelling_and_sends_its_advice_edited(
    open_page: Opener,
) -> None:
    citizen = open_page("/chat/", name="citizen")
    login(citizen)
    widget_waiting(citizen)  # Erik: a sore throat for ten days
    nurse = console(open_page)
    claim_next(nurse)
    expect(citizen.get_by_role("alert").filter(has_text="Din chatt är redo")).to_be_visible()
    panel = nurse.get_by_role("tabpanel")

    opener = panel.get_by_role("button", name="Vägledning", exact=True)
    opener.click()
    guide = panel.get_by_role("region", name="Vägledning")
    search = guide.get_by_role("searchbox", name="Sök på symtom, kroppsdel eller händelse")
    expect(search).to_be_focused()
    expect(search).to_have_value("Ont i halsen")  # filled from the triage
    results = guide.get_by_role("list", name="Träffar i vägledningen").get_by_role("button")
    expect(results.first).to_contain_text("Ont i halsen · ärendets kontaktorsak")
    expect(guide).to_contain_text("Från triagen: Hosta.")

    search.fill("urinvägsinfektoin")  # a misspelling
    expect(results.first).to_contain_text("Urinvägsbesvär")
    search.fill("halsot")
    expect(results.first).to_contain_text("Ont i halsen")
    expect(results.first).not_to_contain_text("kontaktorsak")  # found by the word now, not by the case
    results.first.click()
    article = guide.get_by_role("article", name="Ont i halsen")
    expect(article.get_by_role("heading", name="Ont i halsen")).to_be_focused()
    for section in ("Bedöm", "Fråga", "Hänvisa", "Egenvårdsråd", "Källor"):
        expect(article.get_by_role("heading", name=section, exact=True)).to_be_visible()
    expect(article).to_contain_text("Akutmottagning eller 112: Stridor, dregling")
    expect(article).to_contain_text("Läkemedelsverket")
    assert axe_check(nurse, "console-guidance") == []

    composer = panel.get_by_role("textbox", name="Meddelande")
    composer.fill("Hej Erik!")
    article.get_by_role("button", name="Infoga i meddelandet").first.click()
    expect(composer).to_be_focused()
    expect(composer).to_have_value(
        "Hej Erik!\n\nTa receptfri värktablett (paracetamol eller ibuprofen) enligt förpackningen, drick ofta små "
        "mängder och ät det som är lättast att svälja. Halstabletter kan lindra. Ont i halsen av virus går oftast "
        "över inom en vecka."
    )
    expect(panel.get_by_role("log")).not_to_contain_text("Halstabletter")  # not sent: still a draft
    composer.press("End")
    composer.type(" Hör av dig om du inte kan dricka.")
    guide.evaluate("section => section.scrollIntoView()")
    screenshot(nurse, "console-guidance")
    panel.get_by_role("button", name="Skicka").click()

    widget_log = citizen.get_by_role("log", name="Meddelanden")
    expect(widget_log).to_contain_text("Halstabletter kan lindra.")
    expect(widget_log).to_contain_text("Hör av dig om du inte kan dricka.")

    nurse.get_by_role("button", name="English").click()  # the article stays, in English; the advice goes in Swedish
    guide = panel.get_by_role("region", name="Guidance")
    expect(guide.get_by_role("article", name="Sore throat")).to_contain_text("Self-care advice")
    expect(guide.get_by_role("button", name="Insert in Swedish").first).to_be_visible()

    guide.get_by_role("searchbox").press("Escape")  # the panel closes from the keyboard, focus back on its button
    expect(guide).to_be_hidden()
    opener = panel.get_by_role("button", name="Guidance", exact=True)
    expect(opener).to_be_focused()
    expect(opener).to_have_attribute("aria-expanded", "false")
