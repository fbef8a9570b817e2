"""MLflow's JSON as opsdash records: pure functions, no I/O (the sans-I/O idea).

`MlflowSource` fetches; these turn what it fetched into runs, metric points and
model versions, so they are tested on recorded bodies without a server
(tests/unit/test_vendor_mapping.py). The rollback record's tag names live here
too: the poll reads them and `opsdash.actions.models` writes them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from opsdash.model.lineage import LINEAGE_TAG_NAMES
from opsdash.model.ml import MetricPoint, ModelRow, ModelVersion, threshold_state
from opsdash.sources.base import SourceError

FINISHED_RUNS = frozenset({"FINISHED", "FAILED", "KILLED"})
TAG_PREVIOUS = "opsdash.previous."
TAG_SET = "opsdash.set."
TAG_CHANGED = "opsdash.changed."


def ms(value: Any) -> datetime | None:
    """MLflow's epoch milliseconds (int or string) as an aware datetime."""
    if value in (None, "", 0, "0"):
        return None
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def iso(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def pairs(items: Any) -> dict[str, str]:
    """MLflow's `[{key, value}]` tags as a dict."""
    return {str(t["key"]): str(t.get("value", "")) for t in items or ()}


def version_number(version: str) -> int:
    try:
        return int(version)
    except ValueError:
        return -1


def quote_name(name: str) -> str:
    """A model name as a string literal of MLflow's search filter."""
    return f'"{name}"' if "'" in name else f"'{name}'"


def normalize_version(version: object) -> str:
    """ "3", 3 and "v3" all mean version 3."""
    text = str(version).strip()
    if text[:1] in ("v", "V") and text[1:].isdigit():
        text = text[1:]
    if not text.isdigit():
        raise SourceError(f"{version!r} is not a model version number")
    return str(int(text))


def thin(points: list[MetricPoint], limit: int) -> tuple[MetricPoint, ...]:
    """At most `limit` points spread evenly over the series, keeping first and last."""
    if len(points) <= limit:
        return tuple(points)
    if limit < 2:
        return tuple(points[-limit:]) if limit > 0 else ()
    last = len(points) - 1
    picks = sorted({round(i * last / (limit - 1)) for i in range(limit)})
    return tuple(points[i] for i in picks)


def aliases_and_tags(model: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """A registered model's (alias -> version, tags)."""
    aliases = {str(a["alias"]): str(a["version"]) for a in model.get("aliases") or ()}
    return aliases, pairs(model.get("tags"))


def run_from(body: dict[str, Any]) -> dict[str, Any]:
    """`runs/get`: the run's name, status, latest metric values and tags (the
    orchestrator's run id among them: `lineage_of`)."""
    run = body["run"]
    info = run.get("info") or {}
    data = run.get("data") or {}
    metrics: dict[str, tuple[float, int]] = {}
    for m in data.get("metrics") or ():
        metrics[str(m["key"])] = (float(m["value"]), int(m.get("step") or 0))
    return {
        "run_name": str(info.get("run_name") or ""),
        "status": str(info.get("status") or ""),
        "metrics": {k: v for k, (v, _step) in metrics.items()},
        "tags": pairs(data.get("tags")),
    }


def lineage_of(
    version_tags: dict[str, str], run_tags: dict[str, str], names: Iterable[str]
) -> tuple[tuple[str, str], ...]:
    """The tags among `names` (the orchestrator tags, opsdash.model.lineage, and
    the configured `run_tags`) on the version or its run; the version's own tag
    wins, as someone set it on the version on purpose."""
    found = {**run_tags, **version_tags}
    wanted = dict.fromkeys(names)
    return tuple(sorted((name, found[name]) for name in wanted if found.get(name)))


def history_from(body: dict[str, Any]) -> list[MetricPoint]:
    """`metrics/get-history`: the points in step order (then time)."""
    points = [
        MetricPoint(
            ms(m.get("timestamp")),
            float(m["value"]),
            int(m["step"]) if m.get("step") is not None else None,
        )
        for m in body.get("metrics") or ()
    ]
    points.sort(key=lambda p: (p.step or 0, p.at or datetime.min.replace(tzinfo=UTC)))
    return points


def configured_run_tags(versions: Iterable[ModelVersion]) -> tuple[str, ...]:
    """The configured `run_tags` behind these versions' lineage: `lineage_of`
    copies only the orchestrators' tags (LINEAGE_TAG_NAMES) and those, so any
    other name there is one. What `link_tags` adds when linking them to runs."""
    known = set(LINEAGE_TAG_NAMES)
    return tuple(sorted({tag for v in versions for tag, _ in v.lineage} - known))


def version_from(
    model: str,
    raw: dict[str, Any],
    aliases: dict[str, list[str]],
    run: dict[str, Any] | None,
    metrics: Iterable[str],
    lineage_tags: Iterable[str] = (),
) -> ModelVersion:
    """A `model_version` object (its version already text) with its run's metrics
    and the `lineage_tags` found on it or its run."""
    version = raw["version"]
    run_metrics = (run or {}).get("metrics", {})
    tags = pairs(raw.get("tags"))
    return ModelVersion(
        model=model,
        version=version,
        aliases=tuple(sorted(aliases.get(version, ()))),
        stage=str(raw.get("current_stage") or ""),
        status=str(raw.get("status") or ""),
        tags=tuple(sorted(tags.items())),
        created=ms(raw.get("creation_timestamp")),
        updated=ms(raw.get("last_updated_timestamp")),
        run_id=str(raw.get("run_id") or ""),
        run_name=(run or {}).get("run_name", ""),
        run_status=(run or {}).get("status", ""),
        source=str(raw.get("source") or ""),
        metrics=tuple((m, run_metrics[m]) for m in metrics if m in run_metrics),
        description=str(raw.get("description") or ""),
        user=str(raw.get("user_id") or ""),
        lineage=lineage_of(tags, (run or {}).get("tags", {}), lineage_tags),
    )


def recorded(tags: dict[str, str], alias: str, current: str) -> tuple[datetime | None, str]:
    """(when opsdash moved `alias`, the version before) if the alias is still where
    opsdash put it; (None, "") when it was moved elsewhere or never by opsdash."""
    set_to = tags.get(TAG_SET + alias, "")
    if set_to and set_to != current:
        return None, ""
    return iso(tags.get(TAG_CHANGED + alias, "")), tags.get(TAG_PREVIOUS + alias, "")


def model_rows_from(
    *,
    source: str,
    name: str,
    config: Any,
    alias_of: dict[str, str],
    tags: dict[str, str],
    versions: list[ModelVersion],
    serving: str,
    trends: dict[str, tuple[MetricPoint, ...]],
) -> list[ModelRow]:
    """One row per configured metric of a model: its serving version's value
    against the thresholds, the challenger's beside it, and a note on what is
    missing. `config` is the MlflowConfig (metrics, aliases, thresholds)."""
    warning, breach = dict(config.warning), dict(config.breach)
    by_version = {v.version: v for v in versions}
    serving_v = by_version.get(serving)
    challenger = alias_of.get(config.challenger, "")
    challenger_v = by_version.get(challenger)
    changed_at, previous = recorded(tags, config.alias, serving)
    if changed_at is None and serving_v is not None:
        changed_at = serving_v.updated
    rows = []
    for metric in config.metrics:
        lower = metric in config.lower_is_better
        value = serving_v.metric(metric) if serving_v else None
        note = ""
        if not versions:
            note = "no versions registered"
        elif serving_v is not None and serving_v.run_id and not serving_v.run_status:
            note = f"run of v{serving} not readable"
        elif serving_v is not None and value is None:
            note = f"v{serving} logged no {metric}"
        elif config.alias not in alias_of:
            note = f"no {config.alias} alias: newest version shown"
        rows.append(
            ModelRow(
                source=source,
                kind="mlflow",
                model=name,
                metric=metric,
                version=serving,
                value=value,
                direction="lower" if lower else "higher",
                state=threshold_state(value, warning.get(metric), breach.get(metric), not lower),
                warning=warning.get(metric),
                breach=breach.get(metric),
                trend=trends.get(metric, ()),
                alias=config.alias if config.alias in alias_of else "",
                challenger_alias=config.challenger if challenger else "",
                challenger_version=challenger,
                challenger_value=challenger_v.metric(metric) if challenger_v else None,
                serving_changed_at=changed_at,
                previous_version=previous,
                run_id=serving_v.run_id if serving_v else "",
                note=note,
            )
        )
    return rows
