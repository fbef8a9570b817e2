"""Which pipeline run produced which model version, from the tags the
training code leaves on the MLflow version or its run.

A training DAG or pipeline that logs to MLflow tags the run with its own run
id (`airflow.dag_run_id`, `kfp.run_id`, or a tag the config names); where a
pipeline tag is there too (`airflow.dag_id`, `kfp.pipeline`), it must match as
well, since an Airflow run id (``manual__2026-...``) is unique only within its
DAG. Pure functions over snapshots: the run screen, the model screen and the
service timeline all ask the same question here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from opsdash.model.ml import ModelVersion
from opsdash.model.pipelines import PipelineRun

# (run id tag, pipeline tag or "") pairs, read in this order.
LINK_TAGS: tuple[tuple[str, str], ...] = (
    ("airflow.dag_run_id", "airflow.dag_id"),
    ("kfp.run_id", "kfp.pipeline"),
    ("pipeline.run_id", "pipeline.name"),
)
# The tags the MLflow source copies from a version's run into `lineage`.
LINEAGE_TAG_NAMES: tuple[str, ...] = tuple(name for pair in LINK_TAGS for name in pair if name)


def link_tags(extra: Sequence[str] = ()) -> tuple[tuple[str, str], ...]:
    """The default pairs plus configured run-id tags (no pipeline tag)."""
    return (*LINK_TAGS, *((tag, "") for tag in extra if tag))


@dataclass(frozen=True, slots=True)
class Lineage:
    """Both directions of the produced-by relation, by key."""

    run_of: dict[str, PipelineRun] = field(default_factory=dict)  # version key -> run
    versions_of: dict[str, tuple[ModelVersion, ...]] = field(default_factory=dict)  # run key

    def run_for(self, version: ModelVersion) -> PipelineRun | None:
        return self.run_of.get(version.key)

    def versions_for(self, run: PipelineRun) -> tuple[ModelVersion, ...]:
        return self.versions_of.get(run.key, ())


def wanted_ids(version: ModelVersion, tags: Sequence[tuple[str, str]] = LINK_TAGS):
    """(run id, pipeline or "") the version names, in tag order."""
    values = dict(version.lineage) | dict(version.tags)
    for run_tag, pipeline_tag in tags:
        run_id = values.get(run_tag, "")
        if run_id:
            yield run_id, values.get(pipeline_tag, "") if pipeline_tag else ""


def vendor_run_id(run: PipelineRun) -> str:
    """The orchestrator's own run id: a source whose run ids are unique only
    within their pipeline (Airflow) qualifies `run.id` as "<pipeline>/<run id>"."""
    prefix = f"{run.pipeline_key}/"
    return run.id[len(prefix) :] if run.id.startswith(prefix) else run.id


def link(
    runs: Iterable[PipelineRun],
    versions: Iterable[ModelVersion],
    tags: Sequence[tuple[str, str]] = LINK_TAGS,
) -> Lineage:
    """Match each version to the run its tags name; runs not polled stay unlinked."""
    by_id: dict[str, list[PipelineRun]] = {}
    for run in runs:
        by_id.setdefault(run.id, []).append(run)
        own = vendor_run_id(run)
        if own != run.id:
            by_id.setdefault(own, []).append(run)
    run_of: dict[str, PipelineRun] = {}
    versions_of: dict[str, list[ModelVersion]] = {}
    for version in versions:
        for run_id, pipeline in wanted_ids(version, tags):
            found = next(
                (
                    r
                    for r in by_id.get(run_id, ())
                    if not pipeline or pipeline == r.pipeline_key or pipeline == r.pipeline
                ),
                None,
            )
            if found is not None:
                run_of[version.key] = found
                versions_of.setdefault(found.key, []).append(version)
                break
    return Lineage(run_of, {key: tuple(v) for key, v in versions_of.items()})
