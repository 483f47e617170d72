"""Nurse guidance for staff (issue 24): search the articles by symptom, body part, event or synonym
(Swedish and English, typing errors forgiven), read one, or have a case's triage fill the search.

The articles and the index are built once per knowledge-base version (``direkt.triage.guidance``,
``direkt.triage.guidesearch``). A search from a case reads the case file's triage summary: only a
case the staff member may see, and audited as a read of the case (detail "guidance"), as the
phrases filled from a case are.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from direkt.queue.keys import CASE_ID_PATTERN
from direkt.server.care.workflow import Workflow
from direkt.server.errors import BadRequest, NotFound
from direkt.server.http.api import Endpoint, query_of
from direkt.server.http.requests import authed, ok
from direkt.server.identity.sessions import Session
from direkt.server.wiring import Services
from direkt.triage.guidance import Article, Guide, article_view, guide_of
from direkt.triage.guidesearch import MAX_QUERY, GuideIndex, index_of
from direkt.triage.model import KnowledgeBase

MAX_RESULTS = 10
ARTICLE_ID = re.compile(r"^[a-z][a-z0-9_]{1,40}$")


PatientAge = Annotated[int, msgspec.Meta(ge=0, le=130, description="the patient's age: articles for it first")]


class GuidanceQuery(msgspec.Struct):
    """The search: words, or a case whose triage fills them; ``lang`` picks the titles' language."""

    q: Annotated[str, msgspec.Meta(max_length=MAX_QUERY, description="symptoms, body parts, events or synonyms")] = ""
    lang: Literal["sv", "en"] = "sv"
    case: Annotated[str, msgspec.Meta(max_length=64, description="fill the search from this case's triage")] = ""
    age: PatientAge | None = None


def guide_and_index(kb: KnowledgeBase) -> tuple[Guide, GuideIndex]:
    """The articles of ``kb`` and their index, built once per version (kept in the knowledge base's memo)."""
    guide = guide_of(kb)
    key = ("guidance-index", kb.version)
    index = kb.memo.get(key)
    if not isinstance(index, GuideIndex):
        index = index_of(guide.articles)
        kb.memo[key] = index
    return guide, index


def result_view(article: Article, lang: str, field: str, score: float) -> dict[str, Any]:
    summary = article.summary.get(lang) if article.summary else None
    return {
        "id": article.id,
        "title": article.title.get(lang),
        "area": article.area.get(lang),
        "summary": summary,
        "matched": field,
        "score": score,
        "written": article.written,
    }


async def guidance_search(request: Request, svc: Services, session: Session) -> Response:
    wf = Workflow(svc)
    staff = wf.staff_of(session.principal)
    query = query_of(request, GuidanceQuery)
    guide, index = guide_and_index(svc.kb)
    words, first, searched, age = query.q, "", query.q, query.age
    findings: list[str] = []
    if query.case:
        if not CASE_ID_PATTERN.fullmatch(query.case):
            raise BadRequest("not a case id")
        file, _ = await wf.staff_case(staff, query.case, "case.read", "guidance")
        first, label, findings = _from_triage(file.triage, query.lang)
        words, searched = words or label, query.q or " ".join([label, *findings])  # typed words win
        if age is None and isinstance(file.triage.get("age"), int):
            age = file.triage["age"]
    found = [(h.id, h.field, h.score) for h in index.search(searched, MAX_RESULTS, age)]
    if first in guide.articles:  # the case's own reason leads, whatever the words find
        found = [(first, "reason", 0.0), *[f for f in found if f[0] != first]][:MAX_RESULTS]
    return ok(
        {
            "query": words,
            "lang": query.lang,
            "case": query.case or None,
            "reason": first or None,
            "findings": findings,
            "age": age,
            "kb_version": guide.version,
            "results": [result_view(guide.articles[a], query.lang, f, s) for a, f, s in found],
        }
    )


def _from_triage(triage: Any, lang: str) -> tuple[str, str, list[str]]:
    """The case's reason code, its label and the findings present, from the triage summary."""
    reason = triage.get("reason") if isinstance(triage, dict) else None
    if not isinstance(reason, dict):
        return "", "", []
    label = reason.get("label")
    label = label if isinstance(label, dict) else {}
    present = (triage.get("findings") or {}).get("present") or []
    findings = [str(f.get(lang, "")) for f in present if isinstance(f, dict)][:8]
    return str(reason.get("code") or ""), str(label.get(lang, "")), [f for f in findings if f]


async def guidance_article(request: Request, svc: Services, session: Session) -> Response:
    Workflow(svc).staff_of(session.principal)
    article_id = request.path_params["article"]
    guide, _ = guide_and_index(svc.kb)
    article = guide.articles.get(article_id) if ARTICLE_ID.fullmatch(article_id) else None
    if article is None:
        raise NotFound("no such guidance article")
    return ok(article_view(article, guide.version))


ENDPOINTS = [
    Endpoint(
        "GET",
        "/api/staff/guidance",
        authed(guidance_search),
        "Search the nurse guidance (Swedish and English, typos forgiven); case fills the search from its triage "
        "(audited)",
        who="staff",
        query=GuidanceQuery,
    ),
    Endpoint(
        "GET",
        "/api/staff/guidance/{article}",
        authed(guidance_article),
        "A guidance article: what to assess, what to ask, where to refer, self-care advice, sources",
        who="staff",
    ),
]
