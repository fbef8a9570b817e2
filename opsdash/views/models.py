"""ML models: the threshold badge, the models panel and the model screen's version table."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text

from opsdash.formatting import age, metric_value, sparkline
from opsdash.model.lineage import vendor_run_id
from opsdash.model.ml import ModelRow, ModelVersion, ThresholdState
from opsdash.model.pipelines import PipelineRun
from opsdash.safetext import literal
from opsdash.views.common import Column, badge, labels_text, search_text, short

THRESHOLD_LOOK = {
    ThresholdState.OK: ("✓", "green"),
    ThresholdState.WARNING: ("▲", "yellow bold"),
    ThresholdState.BREACH: ("✗", "red bold reverse"),
    ThresholdState.UNKNOWN: ("?", "dim"),
}


def threshold_text(state: ThresholdState) -> Text:
    return badge(THRESHOLD_LOOK, state)


def _serving(row: ModelRow) -> Text:
    text = literal(f"v{row.version}" if row.version else "-", "bold")
    if row.alias:
        text.append_text(literal(f" {row.alias}", "dim"))
    return text


def _challenger(row: ModelRow) -> Text:
    if not row.challenger_version:
        return Text("-", style="dim")
    text = literal(f"v{row.challenger_version} ")
    text.append(metric_value(row.challenger_value))
    return text


def _difference(row: ModelRow) -> Text:
    diff = row.difference
    if diff is None:
        return Text("")
    better = row.challenger_better
    style = "green" if better else "red" if better is False and diff != 0 else "dim"
    word = "better" if better else "worse" if better is False and diff != 0 else "same"
    return Text(f"{diff:+.3g} {word}", style=style)


def _threshold_hint(row: ModelRow) -> str:
    sign = "<" if row.higher_is_better else ">"
    if row.breach is not None:
        return f"breach {sign} {row.breach:g}"
    if row.warning is not None:
        return f"warn {sign} {row.warning:g}"
    return ""


_STATE_ORDER = {
    ThresholdState.BREACH: 0,
    ThresholdState.WARNING: 1,
    ThresholdState.UNKNOWN: 2,
    ThresholdState.OK: 3,
}


def _model_state(row: ModelRow) -> Text:
    """The threshold word, and `stale` while the row's source fails (last good value)."""
    text = threshold_text(row.state)
    return Text.assemble(text, (" stale", "yellow")) if row.stale else text


MODEL_COLUMNS: list[Column[ModelRow]] = [
    Column(
        "state",
        "STATE",
        lambda m, _: _model_state(m),
        lambda m: _STATE_ORDER[m.state],
        search=lambda m: m.state.value,
    ),
    Column(
        "model",
        "MODEL",
        lambda m, _: literal(short(m.model, 24), "bold"),
        lambda m: m.model.lower(),
        search=lambda m: m.model,
    ),
    Column(
        "metric",
        "METRIC",
        lambda m, _: literal(m.metric),
        lambda m: m.metric,
        search=lambda m: m.metric,
    ),
    Column(
        "serving",
        "SERVING",
        lambda m, _: _serving(m),
        lambda m: m.version,
        search=lambda m: f"{m.version} {m.alias}",
    ),
    Column(
        "value",
        "VALUE",
        lambda m, _: Text(metric_value(m.value), justify="right", style="bold"),
        lambda m: -(m.value or 0.0),
    ),
    Column(
        "trend",
        "TREND",
        lambda m, _: Text(sparkline([p.value for p in m.trend]), style="cyan"),
        lambda m: len(m.trend),
    ),
    Column("challenger", "CHALLENGER", lambda m, _: _challenger(m), lambda m: m.challenger_version),
    Column("diff", "DIFF", lambda m, _: _difference(m), lambda m: m.difference or 0.0),
    Column("limit", "LIMIT", lambda m, _: Text(_threshold_hint(m), style="dim"), _threshold_hint),
    Column(
        "changed",
        "SERVING SINCE",
        lambda m, now: literal(
            age(m.serving_changed_at, now) + " ago" if m.serving_changed_at else "-"
        ),
        lambda m: -(m.serving_changed_at.timestamp() if m.serving_changed_at else 0),
    ),
    Column(
        "source",
        "SOURCE",
        lambda m, _: literal(m.source, "dim"),
        lambda m: m.source,
        search=lambda m: m.source,
    ),
]


model_search_text = search_text(MODEL_COLUMNS, labels_text)


def produced_by_text(run: PipelineRun | None) -> str:
    """ "<pipeline> <run id> <status>": the pipeline run that produced a version."""
    return f"{run.pipeline} {vendor_run_id(run)} {run.status.value}" if run is not None else ""


def version_columns(
    metrics: tuple[str, ...],
    produced_by: Callable[[ModelVersion], PipelineRun | None] | None = None,
) -> list[Column[ModelVersion]]:
    """The model screen's version table: fixed facts, then one column per metric;
    with `produced_by` (the lineage), the pipeline run each version came from."""
    columns: list[Column[ModelVersion]] = [
        Column(
            "version",
            "VERSION",
            lambda v, _: literal(f"v{v.version}", "bold"),
            lambda v: -int(v.version) if v.version.isdigit() else 0,
        ),
        Column(
            "aliases",
            "ALIASES",
            lambda v, _: literal(", ".join(v.aliases), "cyan"),
            lambda v: v.aliases,
        ),
        Column(
            "stage",
            "STAGE",
            lambda v, _: literal(v.stage if v.stage not in ("", "None") else "-"),
            lambda v: v.stage,
        ),
        Column("status", "STATUS", lambda v, _: literal(v.status or "-"), lambda v: v.status),
    ]
    for name in metrics:
        columns.append(
            Column(
                f"metric:{name}",
                name.upper(),
                lambda v, _, n=name: Text(metric_value(v.metric(n)), justify="right"),
                lambda v, n=name: -(v.metric(n) or 0.0),
            )
        )
    columns += [
        Column(
            "created",
            "CREATED",
            lambda v, now: literal(age(v.created, now) + " ago" if v.created else "-"),
            lambda v: -(v.created.timestamp() if v.created else 0),
        ),
        Column(
            "run",
            "RUN",
            lambda v, _: literal(short(v.run_name or v.run_id[:8], 24)),
            lambda v: v.run_name,
        ),
    ]
    if produced_by is not None:
        columns.append(
            Column(
                "pipeline-run",
                "PIPELINE RUN",
                lambda v, _: literal(short(produced_by_text(produced_by(v)) or "-", 44)),
                lambda v: produced_by_text(produced_by(v)),
            )
        )
    return columns
