"""The MLOps lines of a service's timeline: the pipeline run that trained a
model, the version it registered, the serving alias moving to it, and the
metric the serving version shows now.

Pure functions over what the panels already hold (pipeline runs, models
snapshots) and the deploys DoraSource read from the store: no I/O. Which run
produced which version is `opsdash.model.lineage.link`, by the tags the models
source copied; a run belongs to a service by its source's table (as its
deployments do) or because it produced a version of one of the service's
models. Everything is chosen by record type, never by a source's kind.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from opsdash.config import Config
from opsdash.dora.records import Deploy
from opsdash.model import PipelineRun
from opsdash.model.deployments import TimelineEntry
from opsdash.model.lineage import Lineage, link, link_tags, vendor_run_id, wanted_ids
from opsdash.model.ml import ModelRow, ModelsSnapshot, ModelVersion
from opsdash.services import service_of_model, service_of_pipeline
from opsdash.sources.mlflow_map import configured_run_tags

# Among entries at the same instant, the later step of run -> version -> alias
# move -> metric comes first (the timeline is newest first).
STEP = {"pipeline": 0, "registered": 1, "metric": 3}
LATER_STEP = 2  # deploys, alias moves, rollbacks, trouble, recoveries


def step_of(entry: TimelineEntry) -> int:
    return STEP.get(entry.what, LATER_STEP)


def newest_first(entries: list[TimelineEntry]) -> list[TimelineEntry]:
    """By time, newest first; at one instant the later step first (stable otherwise)."""
    return sorted(entries, key=lambda e: (e.at, step_of(e)), reverse=True)


def lineage_of(runs: Sequence[PipelineRun], versions: Sequence[ModelVersion]) -> Lineage:
    """`link` with the run-id tags the models source was configured with."""
    return link(runs, versions, link_tags(configured_run_tags(versions)))


def run_service(config: Config, run: PipelineRun) -> str:
    """The service a run works for, named as its source's deployments are: the
    [[service]] listing the source, else its table's `service`, else the project."""
    table = next((t for t in config.sources if f"{t.kind}:{t.name}" == run.source), None)
    default = str(getattr(table, "service_name", "") or run.project)
    return service_of_pipeline(config, run.source.split(":", 1)[-1], default)


class ServiceModels:
    """The models snapshots' records of one service (every service when None)."""

    def __init__(self, config: Config, service: str | None, models: Iterable[ModelsSnapshot]):
        self.service = service
        self.snapshots = [s for s in models if isinstance(s, ModelsSnapshot)]
        self.all_versions = [v for s in self.snapshots for v in s.versions]
        self._service_of = {
            m: service_of_model(config, m)
            for m in {v.model for v in self.all_versions}
            | {r.model for s in self.snapshots for r in s.rows}
        }

    def mine(self, model: str) -> bool:
        return self.service is None or self._service_of.get(model, model) == self.service

    def versions(self) -> list[tuple[ModelsSnapshot, ModelVersion]]:
        return [(s, v) for s in self.snapshots for v in s.versions if self.mine(v.model)]

    def rows(self) -> list[ModelRow]:
        return [r for s in self.snapshots for r in s.rows if self.mine(r.model)]

    def alias_move(self, deploy: Deploy) -> str:
        """ "churn champion -> v4" when a model deploy is the serving alias moving
        to a version of a model of the deploy's service; else ""."""
        if deploy.kind != "model":
            return ""
        for snapshot in self.snapshots:
            for version in snapshot.versions:
                if (
                    version.version == deploy.version
                    and self._service_of.get(version.model) == deploy.service
                ):
                    return f"{version.model} {snapshot.alias or 'alias'} -> v{version.version}"
        return ""


def run_title(run: PipelineRun) -> str:
    if run.number is not None:
        return f"{run.pipeline} #{run.number}"
    return f"{run.pipeline} {vendor_run_id(run)}"


def run_entries(
    config: Config,
    service: str | None,
    runs: Iterable[PipelineRun],
    lineage: Lineage,
    models: ServiceModels,
) -> list[TimelineEntry]:
    """One line per run of the service (by its source, or by the versions it
    produced): a training or deploy run says so, with what it registered."""
    entries = []
    for run in runs:
        produced = lineage.versions_for(run)
        belongs = (
            service is None
            or run_service(config, run) == service
            or any(models.mine(v.model) for v in produced)
        )
        at = run.started or run.created
        if not belongs or at is None:
            continue
        role = "training" if run.is_training else "deploy" if run.is_deploy else ""
        parts = [role, run_title(run), run.branch, run.message]
        if produced:
            parts.append("-> " + ", ".join(f"{v.model} v{v.version}" for v in produced))
        result = run.status.value
        if run.verdict:
            result = f"{result} · {run.verdict}"
        elif run.pushed:
            result = f"{result} · pushed"
        entries.append(
            TimelineEntry(at, "pipeline", " ".join(p for p in parts if p), result, run.source)
        )
    return entries


def version_entries(models: ServiceModels, lineage: Lineage) -> list[TimelineEntry]:
    """One line per registered version of the service's models, at its creation,
    with the pipeline run that produced it (or the run id its tags name, when
    that run is not among the polled ones)."""
    entries = []
    for snapshot, version in models.versions():
        if version.created is None:
            continue
        detail = f"{version.model} v{version.version}"
        run = lineage.run_for(version)
        if run is not None:
            detail += f" produced by {run_title(run)}"
        else:
            named = next(iter(wanted_ids(version, link_tags(configured_run_tags([version])))), None)
            if named is not None:
                detail += f" produced by {named[1] + ' ' if named[1] else ''}{named[0]}"
        entries.append(
            TimelineEntry(
                version.created, "registered", detail, version.status.lower(), snapshot.source
            )
        )
    return entries


def metric_entries(models: ServiceModels, now: datetime) -> list[TimelineEntry]:
    """What the serving version of each of the service's models shows now."""
    entries = []
    for row in models.rows():
        if row.value is None or not row.version or row.stale:
            continue
        serving = f"{row.alias} v{row.version}" if row.alias else f"v{row.version}"
        detail = f"{row.model} {serving} {row.metric} {row.value:.4g}"
        if row.breach is not None:
            detail += f" (breach {'<' if row.higher_is_better else '>'} {row.breach:g})"
        entries.append(TimelineEntry(now, "metric", detail, row.state.value, row.source))
    return entries
