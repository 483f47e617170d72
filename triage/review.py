"""The clinician review pack: one HTML page per contact reason and an index, to review and sign a version.

Pure: a knowledge base, the golden cases and the development vignettes in, HTML out. Every text is
escaped; each page carries its own CSS, needs nothing from the network and prints on A4. Swedish
comes first with English beside it. The locked held-out vignettes are never given to it: the team
does not tune the knowledge base to them.

This module gathers what is known about a reason; ``reviewpages`` makes the pages and
``reviewhtml`` holds their words and HTML pieces.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from direkt.triage import evaluate
from direkt.triage.answerer import AnswererError
from direkt.triage.errors import TriageFailure
from direkt.triage.model import KnowledgeBase, Level, Reason
from direkt.triage.paths import rule_reach, walk_reason
from direkt.triage.replay import check as check_case
from direkt.triage.replay import outcome_fields, run_case

# -- what is known about a reason ----------------------------------------------------------


@dataclass(frozen=True)
class Golden:
    """A golden case and what the triage gives for it now."""

    case: Mapping[str, Any]
    level: str | None  # None: the case cannot be run
    decided_by: str | None
    differences: tuple[str, ...]


@dataclass(frozen=True)
class Review:
    """One contact reason with the check's figures, its golden cases and its development vignettes."""

    reason: Reason
    levels: frozenset[Level]  # reached by the check's walk or by a witness of one of its rules
    reached: frozenset[str]  # the reason's rules that some patient reaches
    lengths: tuple[int, ...]  # questions asked on each path shape
    golden: tuple[Golden, ...]
    vignettes: tuple[tuple[Mapping[str, Any], evaluate.Scored], ...]

    @property
    def golden_ok(self) -> int:
        return sum(not g.differences for g in self.golden)

    @property
    def exact(self) -> int:
        return sum(s.exact for _, s in self.vignettes)


def review(
    kb: KnowledgeBase, code: str, golden: Iterable[Mapping[str, Any]], vignettes: Iterable[Mapping[str, Any]]
) -> Review:
    """Run ``code``'s golden cases and the development vignettes whose reason it is, with the check's figures."""
    reason = kb.reasons[code]
    walked = walk_reason(kb, reason)
    reached, levels, _ = rule_reach(kb, reason)
    mine = [v for v in vignettes if v.get("reason") == code]
    return Review(
        reason,
        frozenset(walked.levels | levels),
        frozenset(reached),
        tuple(walked.lengths),
        tuple(_golden(kb, case) for case in golden),
        tuple((v, evaluate.score(kb, v)) for v in mine),
    )


def _golden(kb: KnowledgeBase, case: Mapping[str, Any]) -> Golden:
    try:
        got = outcome_fields(run_case(kb, case))
        return Golden(case, got["level"], got["decided_by"], tuple(check_case(kb, case)))
    except (TriageFailure, AnswererError, KeyError, TypeError, ValueError) as exc:
        return Golden(case, None, None, (f"{type(exc).__name__}: {getattr(exc, 'message', exc)}",))
