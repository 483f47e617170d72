"""Finding the contact reason in a real browser: by everyday words and synonyms in Swedish
and English, despite typos and inflection, by body area, in the reader's alphabetical order
with "something else" last; a guardian finds a child's reason; and "something else" is a real
assessment that can end in 112."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect
from support_browser import axe_check, choose, login, next_question, screenshot

from direkt.triage.loader import load

MAJA = "198105102381"  # guardian of Elsa, 8
KB = load(walk_paths=False)

# (what a citizen types, the reason that must come first) — everyday words, compounds,
# inflections, misspellings and English, for adults (Erik, 35).
ADULT_QUERIES = [
    ("ont i magen", "abdominal_pain"),
    ("magont", "abdominal_pain"),
    ("magen", "abdominal_pain"),
    ("tummy ache", "abdominal_pain"),
    ("huvudvärk", "headache"),
    ("huvdvärk", "headache"),  # a letter missing
    ("migrän", "headache"),
    ("headake", "headache"),  # misspelt English
    ("halsfluss", "sore_throat"),
    ("ont i halsen", "sore_throat"),
    ("öronvärk", "ear_pain"),
    ("uvi", "urinary"),
    ("sveda när jag kissar", "urinary"),
    ("ryggskott", "back_pain"),
    ("ångest", "anxiety_low_mood"),
    ("fästingbett", "insect_tick_bite"),
    ("stukat foten", "limb_injury"),
    ("brännskada", "wound_burn"),
    ("yrsel", "dizziness_fainting"),
    ("kan inte sova", "sleep"),
    ("näsblod", "nosebleed"),
    ("hjärtat rusar", "palpitations"),
    ("sura uppstötningar", "heartburn"),
    ("tandvärk", "toothache"),
    ("löss", "head_lice_scabies"),
    ("hundbett", "animal_bite"),
    ("slog i huvudet", "head_injury"),
    ("ont i pungen", "testicle"),
    ("mamma glömmer", "memory_relative"),
    ("svullna ben", "swollen_legs"),
    ("knöl i bröstet", "breast"),
]


def reason_question(page: Any) -> Any:
    page.get_by_role("button", name="Söka vård").click()
    choose(page, "Inget av detta")
    next_question(page, 2)
    search = page.get_by_role("searchbox", name="Sök med egna ord")
    expect(search).to_be_visible()
    return search


def listed(page: Any) -> list[str]:
    return page.locator("#reason-list input[type=radio]").evaluate_all("(xs) => xs.map((x) => x.value)")


def labels(page: Any) -> list[str]:
    return page.locator("#reason-list label").all_inner_texts()


def test_the_citizen_finds_the_reason_by_everyday_words_typos_and_english(open_page: Any) -> None:
    page = open_page("/chat/", name="reason-search")
    login(page)
    search = reason_question(page)
    every = listed(page)
    assert every[-1] == "other" and sorted(every) == sorted(listed_all_for_adult())
    names = labels(page)[:-1]
    assert page.evaluate("(ns) => ns.every((n, i) => i === 0 || ns[i - 1].localeCompare(n, 'sv') <= 0)", names), (
        "the list is in Swedish alphabetical order"
    )
    expect(page.get_by_text(f"{len(every) - 1} besvär att välja bland", exact=True)).to_be_visible()
    axe_check(page, "widget-reason-search")

    for typed, code in ADULT_QUERIES:
        search.fill(typed)
        found = listed(page)
        assert found[0] == code, f"{typed!r} found {found[:4]}"
        assert found[-1] == "other"  # "something else" is always there, last

    search.fill("xqzvw")
    expect(page.get_by_text("Inget besvär passar.", exact=False)).to_be_visible()
    assert listed(page) == ["other"]

    search.fill("magont")
    screenshot(page, "widget-reason-search")
    page.get_by_role("radio", name="Ont i magen").check()
    next_question(page, 3)
    expect(page.get_by_role("group", name="Stämmer något av detta in på dig?")).to_be_visible()


def test_english_sorts_in_english_and_finds_english_words(open_page: Any) -> None:
    page = open_page("/chat/", name="reason-search-en")
    login(page)
    reason_question(page)
    page.get_by_role("button", name="English").click()
    search = page.get_by_role("searchbox", name="Search in your own words")
    expect(search).to_be_visible()
    names = labels(page)
    assert names[-1] == "Something else"
    assert page.evaluate("(ns) => ns.every((n, i) => i === 0 || ns[i - 1].localeCompare(n, 'en') <= 0)", names[:-1])
    for typed, code in [
        ("tummy ache", "abdominal_pain"),
        ("sore throat", "sore_throat"),
        ("earache", "ear_pain"),
        ("nosebleed", "nosebleed"),
        ("heartburn", "heartburn"),
        ("dog bite", "animal_bite"),
    ]:
        search.fill(typed)
        assert listed(page)[0] == code, (typed, listed(page)[:3])


def test_browsing_by_body_area_lists_that_area_only(open_page: Any) -> None:
    page = open_page("/chat/", name="reason-area")
    login(page)
    reason_question(page)
    area = page.get_by_role("combobox", name="Område på kroppen")
    area.select_option(label="Hud, hår och naglar")
    found = listed(page)
    assert found[-1] == "other"
    assert found[:-1] and all(KB.reasons[c].area == "skin" for c in found[:-1])
    offered = {o for o in listed_all_for_adult()}
    assert set(found[:-1]) == {c for c in offered if KB.reasons[c].area == "skin"}
    area.select_option(label="Alla områden")
    assert len(listed(page)) == len(offered)


def listed_all_for_adult() -> list[str]:
    from direkt.triage.model import Entry
    from direkt.triage.session import Patient, Session
    from direkt.triage.walk import reason_question

    asked = reason_question(KB, Session(KB.version, Entry.SEEK_CARE, Patient.aged(35, "male")))
    return [o.id for o in asked.options]


def test_a_guardian_finds_a_child_reason_by_everyday_words(open_page: Any) -> None:
    page = open_page("/chat/", name="reason-search-guardian")
    login(page, MAJA)
    page.get_by_role("radiogroup", name="Vem gäller det?").get_by_role("radio", name="Elsa Andersson, 8 år").check()
    search = reason_question(page)
    offered = listed(page)
    assert all(KB.reasons[c].min_age <= 8 <= KB.reasons[c].max_age for c in offered)
    for typed, code in CHILD_QUERIES:
        if code not in KB.reasons:
            pytest.fail(f"{code} is not in the knowledge base")
        search.fill(typed)
        assert listed(page)[0] == code, (typed, listed(page)[:3])
    search.fill("hög feber")
    page.get_by_role("radio", name="Feber hos barn").check()
    next_question(page, 3)
    expect(page.get_by_role("group", name="Stämmer något av detta in på Elsa?")).to_be_visible()


CHILD_QUERIES = [
    ("feber", "child_fever"),
    ("kräks", "child_vomiting"),
    ("skällhosta", "child_breathing"),
    ("vattkoppor", "child_rash"),
    ("öronvärk", "child_ear"),
    ("ont i magen", "child_abdominal_pain"),
    ("haltar", "child_limp"),
    ("äter inte", "child_eating_drinking"),
    ("kramp", "child_seizure"),
]


def test_something_else_is_assessed_and_a_danger_sign_reaches_112(open_page: Any) -> None:
    page = open_page("/chat/", name="something-else")
    login(page)
    search = reason_question(page)
    search.fill("prickar som inte går bort")
    page.get_by_role("radio", name="Annat besvär").check()
    next_question(page, 3)
    choose(page, "Inget av detta")  # risk modifiers
    next_question(page, 4)
    page.get_by_role("textbox").fill("Små mörkröda prickar på benen sedan i morse, och jag fryser.")
    next_question(page, 5)
    choose(page, "Inget av detta")  # none of head injury, swallowed, bleeding...
    next_question(page, 6)
    choose(page, "Feber (minst 38 °C)")
    choose(page, "Utslag på huden")
    next_question(page, 7)
    expect(page.get_by_role("heading", name="Tryck ett dricksglas mot utslagen", exact=False)).to_be_visible()
    choose(page, "Ja")
    page.get_by_role("button", name="Nästa").click()
    alert = page.get_by_role("alert").filter(has=page.get_by_role("heading", name="Ring 112 nu."))
    expect(alert).to_be_visible()
    expect(page.get_by_role("link", name="Ring 112")).to_have_attribute("href", "tel:112")
    expect(page.get_by_role("button", name="Skicka till väntrummet")).to_have_count(0)
