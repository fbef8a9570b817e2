"""Model quality in one shape, whether it comes from MLflow or Prometheus.

A `ModelRow` is one line of the Models panel: one (model, metric) of an MLflow
registry, or one label set of a Prometheus query. `ModelVersion` is what the
registry knows about one version, for the details and the promote dialog.
`AliasChange` and `AliasPlan` describe moving the serving alias, done or planned.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from datetime import datetime


class ThresholdState(enum.StrEnum):
    OK = "ok"
    WARNING = "warning"
    BREACH = "breach"
    UNKNOWN = "unknown"  # no value (missing, NaN)


def threshold_state(
    value: float | None,
    warning: float | None,
    breach: float | None,
    higher_is_better: bool = True,
) -> ThresholdState:
    """Where `value` stands against the thresholds.

    Higher is better: below `breach` is a breach, below `warning` a warning; a
    value equal to a threshold still passes it. Lower is better mirrors that
    (above `breach` is a breach). No value or NaN is UNKNOWN; without thresholds
    every value is OK.
    """
    if value is None or math.isnan(value):
        return ThresholdState.UNKNOWN

    def worse(limit: float | None) -> bool:
        if limit is None or math.isnan(limit):
            return False
        return value < limit if higher_is_better else value > limit

    if worse(breach):
        return ThresholdState.BREACH
    if worse(warning):
        return ThresholdState.WARNING
    return ThresholdState.OK


@dataclass(frozen=True, slots=True)
class MetricPoint:
    """One point of a trend: a logged metric value (MLflow) or a sample (Prometheus)."""

    at: datetime | None
    value: float
    step: int | None = None  # MLflow's step; None for Prometheus


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """One registered model version, with the latest values of the configured metrics."""

    model: str
    version: str  # MLflow versions are numbers, sent as strings
    aliases: tuple[str, ...] = ()
    stage: str = ""  # the deprecated registry stage ("None", "Staging", "Production", ...)
    status: str = ""  # READY, PENDING_REGISTRATION, FAILED_REGISTRATION
    tags: tuple[tuple[str, str], ...] = ()
    created: datetime | None = None
    updated: datetime | None = None
    run_id: str = ""
    run_name: str = ""
    run_status: str = ""  # RUNNING, FINISHED, FAILED, KILLED; "" when the run was not read
    source: str = ""  # the artifact location the version was registered from
    metrics: tuple[tuple[str, float], ...] = ()  # configured metrics the run logged
    description: str = ""
    user: str = ""
    # The orchestrator tags found on the version or its run (airflow.dag_id,
    # airflow.dag_run_id, kfp.run_id, ...): which pipeline run produced it
    # (`opsdash.model.lineage`).
    lineage: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> str:
        return f"{self.model}/{self.version}"

    def metric(self, name: str) -> float | None:
        return next((value for key, value in self.metrics if key == name), None)


@dataclass(frozen=True, slots=True)
class ModelRow:
    """What the Models panel shows for one model (or Prometheus label set) and metric.

    MLflow: `version`/`value` are the serving version's (the one the serving
    alias, e.g. champion, points at; the newest version when no version has the
    alias, then `alias` is ""), `trend` is that version's run history, and the
    challenger columns hold the challenger alias's version.
    Prometheus: `version` is the version label, `value` the current sample and
    `trend` the range query's samples; there is no challenger.
    """

    source: str  # the source's label, e.g. "mlflow:prod"
    kind: str  # "mlflow" or "prometheus"
    model: str
    metric: str
    version: str = ""
    value: float | None = None
    direction: str = "higher"  # "higher" or "lower" is better
    state: ThresholdState = ThresholdState.UNKNOWN
    warning: float | None = None
    breach: float | None = None
    trend: tuple[MetricPoint, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()  # Prometheus: the configured labels' values
    alias: str = ""  # the serving alias that picked `version`; "" for a fallback
    challenger_alias: str = ""
    challenger_version: str = ""
    challenger_value: float | None = None
    serving_changed_at: datetime | None = None  # when the serving alias last moved (best effort)
    previous_version: str = ""  # what a rollback would restore; "" when nothing is recorded
    run_id: str = ""
    note: str = ""  # why something is missing, e.g. "run has no metric loss"
    stale: bool = False  # set by the UI while its source fails: the last good value

    @property
    def key(self) -> str:
        labels = ",".join(f"{k}={v}" for k, v in self.labels)
        return f"{self.source}/{self.model}/{self.metric}/{labels or self.version}"

    @property
    def higher_is_better(self) -> bool:
        return self.direction != "lower"

    @property
    def champion_version(self) -> str:
        return self.version

    @property
    def champion_value(self) -> float | None:
        return self.value

    @property
    def difference(self) -> float | None:
        """Challenger minus serving value; None unless both are numbers."""
        if self.value is None or self.challenger_value is None:
            return None
        diff = self.challenger_value - self.value
        return None if math.isnan(diff) else diff

    @property
    def challenger_better(self) -> bool | None:
        """True if the challenger beats the serving version in this metric's direction."""
        diff = self.difference
        if diff is None:
            return None
        return diff > 0 if self.higher_is_better else diff < 0


@dataclass(frozen=True, slots=True)
class ModelsSnapshot:
    """One poll of one MLflow registry or one Prometheus query."""

    source: str
    kind: str  # "mlflow" or "prometheus"
    rows: tuple[ModelRow, ...] = ()
    versions: tuple[ModelVersion, ...] = ()  # MLflow: the versions read, newest first per model
    models: tuple[str, ...] = ()  # MLflow: the registered models read
    alias: str = ""  # MLflow: the serving alias (config), e.g. "champion"
    challenger: str = ""  # MLflow: the challenger alias (config)
    notes: tuple[str, ...] = ()  # partial problems worth a line, e.g. a deleted run

    def versions_of(self, model: str) -> tuple[ModelVersion, ...]:
        return tuple(v for v in self.versions if v.model == model)


@dataclass(frozen=True, slots=True)
class AliasChange:
    """A serving alias that opsdash moved."""

    model: str
    alias: str
    old_version: str  # "" when the alias did not exist before
    new_version: str
    at: datetime
    action: str = "promote"  # "promote" or "rollback"

    def __str__(self) -> str:
        old = f"v{self.old_version}" if self.old_version else "(none)"
        return f"{self.model}: {self.alias} {old} -> v{self.new_version}"


@dataclass(frozen=True, slots=True)
class AliasPlan:
    """What a promote or rollback would do; nothing has changed yet."""

    model: str
    alias: str
    action: str  # "promote" or "rollback"
    old_version: str  # "" when the alias does not exist yet
    new_version: str
    old_metrics: tuple[tuple[str, float], ...] = ()
    new_metrics: tuple[tuple[str, float], ...] = ()
    changed_at: datetime | None = None  # when opsdash last moved this alias, if known
    warning: str = ""  # something the confirmation dialog should say, e.g. a non-READY version

    @property
    def noop(self) -> bool:
        return self.old_version == self.new_version

    def __str__(self) -> str:
        old = f"v{self.old_version}" if self.old_version else "(none)"
        text = f"{self.action} {self.model}: {self.alias} {old} -> v{self.new_version}"
        old_values = dict(self.old_metrics)
        parts = []
        for name, new in self.new_metrics:
            before = old_values.get(name)
            parts.append(
                f"{name} {before:g} -> {new:g}" if before is not None else f"{name} {new:g}"
            )
        return f"{text} ({', '.join(parts)})" if parts else text
