"""Pipelines that can be started (`P` in the Pipelines panel): columns and what `/` matches.

An orchestrator lists its pipelines beside its runs (DAGs, pipeline versions);
the columns come from `PipelineDefinition` fields only, whatever the vendor.
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from opsdash.formatting import age
from opsdash.model import PipelineDefinition
from opsdash.safetext import literal
from opsdash.views.common import Column, search_text, short


def paused_text(paused: bool | None) -> Text:
    """A word, not only a colour: "paused", "active", or "-" where there is no pause."""
    if paused is None:
        return Text("-", style="dim")
    return Text("‖ paused", style="yellow") if paused else Text("▶ active", style="green")


def _next(p: PipelineDefinition, now: datetime) -> str:
    if p.next_run is None:
        return "-"
    return "due" if p.next_run <= now else f"in {age(now, p.next_run)}"


def _role(p: PipelineDefinition) -> str:
    return " ".join(w for w, on in (("deploy", p.is_deploy), ("training", p.is_training)) if on)


DEFINITION_COLUMNS: list[Column[PipelineDefinition]] = [
    Column(
        "paused",
        "PAUSED",
        lambda p, _: paused_text(p.paused),
        lambda p: (p.paused is None, not p.paused),
        search=lambda p: "" if p.paused is None else ("paused" if p.paused else "active"),
    ),
    Column(
        "pipeline",
        "PIPELINE",
        lambda p, _: literal(short(p.name, 32), "bold"),
        lambda p: p.name.lower(),
        search=lambda p: f"{p.name} {p.id} {_role(p)}",
    ),
    Column(
        "tags",
        "TAGS",
        lambda p, _: literal(short(", ".join(p.tags), 24), "cyan"),
        lambda p: p.tags,
        search=lambda p: " ".join(p.tags),
    ),
    Column(
        "schedule",
        "SCHEDULE",
        lambda p, _: literal(short(p.schedule or "-", 18)),
        lambda p: p.schedule,
        search=lambda p: p.schedule,
    ),
    Column(
        "next",
        "NEXT RUN",
        lambda p, now: literal(_next(p, now)),
        lambda p: p.next_run.timestamp() if p.next_run else float("inf"),
    ),
    Column(
        "problem",
        "PROBLEM",
        lambda p, _: literal(short(p.problem, 40), "red"),
        lambda p: (not p.problem, p.problem),
        search=lambda p: p.problem,
    ),
    Column(
        "source",
        "SOURCE",
        lambda p, _: literal(short(p.source, 24), "dim"),
        lambda p: p.source,
        search=lambda p: p.source,
    ),
]

definition_search_text = search_text(DEFINITION_COLUMNS, lambda p: p.owners)
