"""docs/grafana-direkt.json: valid JSON, and every metric it queries is one /metrics shows (and none is left out)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from direkt.server.metrics import Metrics, family_names

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana-direkt.json"
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


def exposed_names() -> dict[str, str]:
    """Every sample name of the exposition, mapped to its family."""
    metrics = Metrics()
    names = {}
    for family in metrics.families:
        for described in family.describe():
            for suffix in SUFFIXES[described.type]:
                names[described.name + suffix] = described.name
    queue_families = set(family_names(metrics)) - set(names.values())
    return names | {name: name for name in queue_families}


def expressions(node: Any) -> Iterator[str]:
    """Every PromQL expression in the dashboard: panel targets and template-variable queries."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("expr", "definition") and isinstance(value, str):
                yield value
            else:
                yield from expressions(value)
    elif isinstance(node, list):
        for item in node:
            yield from expressions(item)


def test_every_queried_metric_exists_and_every_family_is_on_the_dashboard() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    queried = {name for expr in expressions(dashboard) for name in re.findall(r"\b(direkt_[a-z0-9_]+)", expr)}
    exposed = exposed_names()
    assert queried, "the dashboard queries nothing"
    assert queried <= set(exposed), f"not exposed by /metrics: {sorted(queried - set(exposed))}"
    assert {exposed[name] for name in queried} == set(exposed.values()), "a family is missing from the dashboard"


def test_panels_have_unique_ids_and_a_data_source() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    assert all(panel["datasource"]["type"] == "prometheus" and panel["targets"] for panel in dashboard["panels"])
