"""Searching the nurse guidance by symptom, body part, event or synonym, Swedish and English,
forgiving typing errors. Pure: an index is built once from the articles; a query in, ranked hits out.

Each word of the query is matched against the words of every article's fields, best first:

    exact     the word itself                        1.0
    prefix    a word it begins ("urinv" -> "urinvägsinfektion")   0.8
    part      a word it begins with, of 4+ letters ("ryggsmärta" -> "rygg")   0.6 x the share it covers
    fuzzy     a word within a few edits ("halsot" -> "halsont")   0.5 x similarity

and the field weighs in: the title counts most, then the search terms (synonyms and everyday
words), then the body (the findings asked, what to assess, the advice). A whole query that is one
of an article's terms or its title ("ont i halsen") counts as a title hit. An article's score is
the sum over the query's words of their best match; articles that match more of the query's words
rank first, then (given the patient's age) those for patients of that age. Fuzzy matching uses
rapidfuzz's Indel similarity over the index's vocabulary at once (C++, a few thousand words in
well under a millisecond per query word).
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from direkt.triage.guidance import Article
from direkt.triage.model import Text

MAX_QUERY = 200  # characters; longer queries are refused by the HTTP layer
MAX_WORDS = 12
FIELD_WEIGHT = {"title": 3.0, "terms": 2.0, "body": 1.0}
EXACT, PREFIX, PART = 1.0, 0.8, 0.6
FUZZY = 0.5
FUZZY_CUTOFF = 80.0  # rapidfuzz ratio (0-100): "halsot"/"halsont" is 92, "hosta"/"hasta" 80
MIN_PREFIX = 3
MIN_PART = 4
STOPWORDS = frozenset(
    [
        "i",
        "och",
        "att",
        "en",
        "ett",
        "av",
        "på",
        "med",
        "för",
        "om",
        "är",
        "som",
        "har",
        "the",
        "a",
        "an",
        "of",
        "in",
        "on",
        "and",
        "or",
        "to",
        "with",
        "my",
        "is",
        "has",
        "for",
        "från",
        "till",
    ]
)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def words(text: str) -> list[str]:
    """Lower-case words, letters and digits only; å, ä and ö kept (they tell words apart in Swedish)."""
    return _WORD.findall(unicodedata.normalize("NFC", text).casefold())


def query_words(query: str) -> list[str]:
    found = [w for w in words(query[:MAX_QUERY]) if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]
    return list(dict.fromkeys(found))[:MAX_WORDS]


@dataclass(frozen=True)
class Hit:
    id: str
    score: float
    matched: int  # how many of the query's words matched
    field: str  # the best field a word matched in: title, terms or body


class GuideIndex:
    """Word -> (article, field) postings over every article, and the sorted vocabulary."""

    def __init__(self, articles: Iterable[Article]) -> None:
        self.postings: dict[str, dict[str, str]] = defaultdict(dict)  # word -> article id -> best field
        self.phrases: dict[str, set[str]] = defaultdict(set)  # a whole title or term -> articles
        self.written: set[str] = set()  # articles with hand-written guidance win a tie
        self.ages: dict[str, tuple[int, int]] = {}
        for article in articles:
            self._add(article)
            self.ages[article.id] = article.ages
            if article.written:
                self.written.add(article.id)
        self.vocabulary = sorted(self.postings)

    def _add(self, article: Article) -> None:
        title = [article.title]
        terms = [w for lang in ("sv", "en") for w in article.terms.get(lang, ())]
        body: list[Text] = [article.area, *article.findings, *article.assess, *article.advice]
        if article.summary:
            body.append(article.summary)
        for name, texts in (("body", _flat(body)), ("terms", terms), ("title", _flat(title))):
            for text in texts:
                for word in words(text):
                    if word not in STOPWORDS:
                        self.postings[word][article.id] = name  # later fields outrank earlier ones
        for phrase in [*terms, *_flat(title)]:
            self.phrases[" ".join(words(phrase))].add(article.id)

    def search(self, query: str, limit: int = 10, age: int | None = None) -> list[Hit]:
        """The articles matching ``query``, best first (empty for an empty query).

        With the patient's ``age``, articles for that age come before those for others
        (a child's sore throat after an adult's for a 35-year-old) among equally many words matched.
        """
        wanted = query_words(query)
        scores: dict[str, float] = defaultdict(float)
        matched: dict[str, int] = defaultdict(int)
        fields: dict[str, str] = {}
        for word in wanted:
            for article_id, (score, name) in self._word(word).items():
                scores[article_id] += score
                matched[article_id] += 1
                if article_id not in fields or FIELD_WEIGHT[name] > FIELD_WEIGHT[fields[article_id]]:
                    fields[article_id] = name
        for article_id in self.phrases.get(" ".join(words(query[:MAX_QUERY])), ()):
            scores[article_id] += FIELD_WEIGHT["title"] * EXACT
            matched[article_id] = max(matched[article_id], len(wanted))
            fields[article_id] = "title"
        ranked = sorted(
            scores, key=lambda a: (-matched[a], not self._fits(a, age), -scores[a], a not in self.written, a)
        )
        return [Hit(a, round(scores[a], 3), matched[a], fields[a]) for a in ranked[:limit]]

    def _fits(self, article_id: str, age: int | None) -> bool:
        youngest, oldest = self.ages.get(article_id, (0, 120))
        return age is None or youngest <= age <= oldest

    def _word(self, word: str) -> dict[str, tuple[float, str]]:
        """Each article's best match of one query word: (score, field)."""
        best: dict[str, tuple[float, str]] = {}
        for candidate, strength in self._candidates(word):
            for article_id, name in self.postings[candidate].items():
                score = strength * FIELD_WEIGHT[name]
                if score > best.get(article_id, (0.0, ""))[0]:
                    best[article_id] = (score, name)
        return best

    def _candidates(self, word: str) -> list[tuple[str, float]]:
        found: dict[str, float] = {}
        if word in self.postings:
            found[word] = EXACT
        if len(word) >= MIN_PREFIX:
            start = bisect.bisect_left(self.vocabulary, word)
            for candidate in self.vocabulary[start:]:
                if not candidate.startswith(word):
                    break
                found.setdefault(candidate, PREFIX)
        for size in range(len(word) - 1, MIN_PART - 1, -1):
            if word[:size] in self.postings:  # weighed by how much of the word it covers: "head" of "headahce" is half
                found.setdefault(word[:size], PART * size / len(word))
        if len(word) >= 4:
            cutoff = FUZZY_CUTOFF if len(word) > 5 else 85.0
            for candidate, similarity, _ in process.extract(
                word, self.vocabulary, scorer=fuzz.ratio, score_cutoff=cutoff, limit=8
            ):
                found.setdefault(candidate, FUZZY * similarity / 100)
        return list(found.items())


def _flat(texts: Iterable[Text]) -> list[str]:
    return [s for t in texts for s in (t.sv, t.en)]


def index_of(articles: Mapping[str, Article]) -> GuideIndex:
    return GuideIndex(articles.values())
