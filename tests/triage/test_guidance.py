"""The nurse guidance (triage/guidance.py, kb/guidance/) and its search (triage/guidesearch.py):
every contact reason has an article with sources, hand-written articles are checked and belong to
the knowledge base's version, and the search finds an article by a synonym, a misspelling, a body
part or an event, in Swedish and English."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from support_kb import small_kb_dir

from direkt.triage import loader
from direkt.triage.errors import KnowledgeBaseError
from direkt.triage.guidance import KINDS, Guide, article_view, build_guide, guide_of
from direkt.triage.guidesearch import GuideIndex, index_of, query_words
from direkt.triage.model import KnowledgeBase

COMMONEST = (
    "sore_throat", "child_fever", "fever", "cough_cold", "urinary", "back_pain", "rash_skin", "ear_pain",
    "abdominal_pain", "headache", "dizziness_fainting", "chest_pain", "breathing", "vomiting_diarrhoea",
    "wound_burn", "insect_tick_bite", "eye", "anxiety_low_mood", "allergic_reaction", "medication",
)  # fmt: skip


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return loader.load(walk_paths=False)


@pytest.fixture(scope="module")
def guide(kb: KnowledgeBase) -> Guide:
    built, problems = build_guide(kb)
    assert problems == []
    return built


@pytest.fixture(scope="module")
def index(guide: Guide) -> GuideIndex:
    return index_of(guide.articles)


# -- the articles ---------------------------------------------------------------------------------


def test_every_contact_reason_has_an_article_with_sources_and_every_article_a_reason(
    kb: KnowledgeBase, guide: Guide
) -> None:
    assert set(guide.articles) == set(kb.reasons)
    for code, article in guide.articles.items():
        assert article.sources, code
        assert article.ask or article.assess, code
        assert article.terms["sv"] and article.terms["en"], code
    files = [name for name in kb.files if name.startswith("guidance/")]
    assert len(files) >= 20


def test_the_commonest_reasons_have_hand_written_guidance_with_referrals_and_advice(guide: Guide) -> None:
    for code in COMMONEST:
        article = guide.articles[code]
        assert article.written, code
        assert article.summary and article.summary.sv and article.summary.en, code
        assert len(article.assess) >= 3 and len(article.ask) >= 3 and article.advice, code
        assert {r.kind for r in article.refer} <= set(KINDS), code
        assert any(s.startswith("1177.se") for s in article.sources), code


def test_an_article_composes_the_knowledge_base_in_clinical_words(guide: Guide, kb: KnowledgeBase) -> None:
    view = article_view(guide.articles["sore_throat"], kb.version)
    assess = [a["sv"] for a in view["assess"]]  # type: ignore[union-attr]
    assert "Kan ej svälja saliv, dreglar eller Inspiratorisk stridor → ring 112" in assess
    refer = [(r["kind"], r.get("level")) for r in view["refer"]]  # type: ignore[union-attr]
    assert refer[0] == ("emergency", None)  # the hand-written referral first
    assert ("emergency", "call_112") in refer and ("primary_care", "days") in refer  # then the rules'
    assert view["kb_version"] == kb.version
    assert "Hur många dygn har du haft ont i halsen?" in [q["sv"] for q in view["ask"]]  # type: ignore[union-attr]


def test_guidance_is_part_of_the_knowledge_base_version(tmp_path: Path) -> None:
    kb_dir = small_kb_dir(tmp_path / "kb")
    before = loader.load(kb_dir, walk_paths=False).version
    (kb_dir / "guidance").mkdir()
    shutil.copy(loader.KB_DIR / "guidance" / "sore_throat.toml", kb_dir / "guidance" / "sore_throat.toml")
    kb = loader.load(kb_dir, walk_paths=False)
    assert kb.version != before
    assert guide_of(kb).articles["sore_throat"].written
    assert not guide_of(kb).articles["child_fever"].written
    assert guide_of(loader.from_snapshot(loader.snapshot(kb.files))).articles["sore_throat"].written  # replayable


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (('reason = "sore_throat"', 'reason = "sore_throats"'), "no contact reason 'sore_throats'"),
        (('kind = "primary_care"', 'kind = "health_centre"'), "unknown kind 'health_centre'"),
        (("sources = [", "sources = [] \nold_sources = ["), "sources"),
        (('{ sv = "Kan du svälja', '{ sv = " ", en = "x" }, { sv = "Kan du svälja'), "empty in Swedish or English"),
    ],
)
def test_a_broken_article_stops_the_knowledge_base(tmp_path: Path, edit: tuple[str, str], problem: str) -> None:
    kb_dir = small_kb_dir(tmp_path / "kb")
    (kb_dir / "guidance").mkdir()
    text = (loader.KB_DIR / "guidance" / "sore_throat.toml").read_text()
    assert edit[0] in text
    (kb_dir / "guidance" / "sore_throat.toml").write_text(text.replace(edit[0], edit[1], 1))
    with pytest.raises(KnowledgeBaseError) as refused:
        loader.load(kb_dir, walk_paths=False)
    assert problem in str(refused.value)
    assert "guidance/sore_throat.toml" in str(refused.value)


# -- the search -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("halsfluss", "sore_throat"),  # a synonym, Swedish
        ("strep throat", "sore_throat"),  # a synonym, English
        ("halsot", "sore_throat"),  # a misspelling of "halsont"
        ("urinvägsinfektoin", "urinary"),  # letters swapped
        ("cystitis", "urinary"),
        ("ryggskott", "back_pain"),
        ("sciatica", "back_pain"),
        ("fästingbett", "insect_tick_bite"),  # an event
        ("fästningbett", "insect_tick_bite"),  # an event, misspelt
        ("tick bite", "insect_tick_bite"),
        ("brännskada", "wound_burn"),
        ("scald", "wound_burn"),
        ("öra", "ear_pain"),  # a body part
        ("chest", "chest_pain"),  # a body part, English
        ("bröstsmärta", "chest_pain"),
        ("andnöd", "breathing"),
        ("shortness of breath", "breathing"),
        ("migrän", "headache"),
        ("yrsel", "dizziness_fainting"),
        ("vertigo", "dizziness_fainting"),
        ("biverkning", "medication"),
        ("side effect", "medication"),
        ("ångest", "anxiety_low_mood"),
        ("anafylaxi", "allergic_reaction"),
        ("magsjuka", "vomiting_diarrhoea"),
        ("magont", "abdominal_pain"),
        ("hosta", "cough_cold"),
        ("pink eye", "eye"),
        ("feber barn", "child_fever"),
        ("utslag", "rash_skin"),
    ],
)
def test_search_finds_the_article_first(index: GuideIndex, query: str, found: str) -> None:
    hits = index.search(query, age=8 if found.startswith("child_") else 35)
    assert hits, query
    assert hits[0].id == found, [h.id for h in hits[:4]]


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("brännskdaa", "wound_burn"),
        ("yrssel", "dizziness_fainting"),
        ("ångset", "anxiety_low_mood"),
        ("headahce", "headache"),
        ("sciatca", "back_pain"),
        ("diarhea", "vomiting_diarrhoea"),
        ("tonsilit", "sore_throat"),
        ("nässelutslg", "allergic_reaction"),
        ("anafylaksi", "allergic_reaction"),
        ("konjuktivit", "eye"),
        ("bältross", "rash_skin"),
    ],
)
def test_a_misspelling_finds_the_article_first(index: GuideIndex, query: str, found: str) -> None:
    hits = index.search(query, age=35)
    assert hits and hits[0].id == found, [h.id for h in hits[:4]]


def test_the_patients_age_puts_the_articles_for_that_age_first(index: GuideIndex) -> None:
    adult, child = [h.id for h in index.search("utslag", 30, age=35)], [h.id for h in index.search("utslag", 30, age=6)]
    assert adult[0] == "rash_skin" and adult.index("child_rash") > adult.index("eczema")
    assert child[0] == "child_rash" and "rash_skin" in child[1:]
    assert index.search("hosta", age=6)[0].id == "child_breathing"
    assert index.search("hosta", age=70)[0].id == "cough_cold"


def test_ranking_exact_before_prefix_before_fuzzy(index: GuideIndex) -> None:
    assert index.search("hals")[0].field in ("title", "terms")
    exact = {h.id: h.score for h in index.search("halsont")}
    prefix = {h.id: h.score for h in index.search("halson")}
    fuzzy = {h.id: h.score for h in index.search("halsnot")}
    assert exact["sore_throat"] > prefix["sore_throat"] > fuzzy["sore_throat"] > 0


def test_a_title_match_outranks_a_body_match(index: GuideIndex) -> None:
    hits = index.search("huvudvärk")
    assert hits[0].id in ("headache", "child_headache") and hits[0].field == "title"
    assert any(h.field == "body" for h in hits)  # other articles that mention it, lower


def test_queries_that_find_nothing_or_are_huge_are_harmless(index: GuideIndex) -> None:
    assert index.search("") == []
    assert index.search("   !!! ") == []
    assert index.search("qqqqxz") == []
    assert len(query_words("ont " * 1000)) <= 12
    assert index.search("hals " * 2000)[0].id in ("sore_throat", "child_sore_throat")
