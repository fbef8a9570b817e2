"""A fixed orchestrator for the UI's tests: pipelines that can be started,
runs with parameters and a TFX verdict, jobs with tries and operators, and
every orchestrator capability (trigger, pause, mark, rerun, jobs and logs),
recording what it was asked.

It names no vendor: the UI is driven only through the capability protocols
and the model's fields, as the real Airflow and Kubeflow sources drive it.
Nothing here imports Textual.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from opsdash.model import (
    PipelineDefinition,
    PipelineJob,
    PipelineRun,
    PipelineSnapshot,
    RunStatus,
)
from opsdash.model.ml import ModelVersion
from opsdash.sources.ci import CiConfig, PipelineSource
from opsdash.sources.settings import option
from tests.fakes import FixedModelsSource, sample_model_versions

# Runs start whole hours before the poll (at a whole minute), so the ages a
# snapshot shows read the same every time.
TFX_ORDER = (
    "ExampleGen",
    "StatisticsGen",
    "SchemaGen",
    "Transform",
    "Trainer",
    "Evaluator",
    "InfraValidator",
    "Pusher",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class FakeOrchestratorConfig(CiConfig):
    kind = "orchestrator"
    training: str = option("", doc="the pipeline D on a model in breach triggers")


def _now() -> datetime:
    return datetime.now().astimezone().replace(second=0, microsecond=0)


def orchestrator_runs(
    label: str, *, hostile: str = "", now: datetime | None = None
) -> tuple[PipelineRun, ...]:
    now = now or _now()

    def run(pipeline, run_id, status, hours, **kw):
        started = now - timedelta(hours=hours)
        finished = started + timedelta(minutes=12) if status.finished else None
        return PipelineRun(
            label,
            "orchestrator",
            "prod",
            pipeline,
            run_id,
            status,
            vendor_status=status.value,
            started=started,
            finished=finished,
            event="manual",
            actor="ana",
            **kw,
        )

    return (
        run(
            "train_churn",
            "manual__2026-12-01",
            RunStatus.SUCCESS,
            2,
            parameters=(("model", '"churn"'), ("epochs", "5"), ("note", '"[bold]x[/]"')),
            verdict="blessed · pushed",
            pushed=True,
            is_training=True,
        ),
        run(
            "etl_daily",
            "scheduled__2026-12-01",
            RunStatus.FAILED,
            3,
            parameters=(("day", '"2026-12-01"'),),
        ),
        run(
            hostile or "report",
            "manual__hostile",
            RunStatus.RUNNING,
            1,
            parameters=((hostile or "k", f'"{hostile}"' if hostile else '"v"'),),
            verdict=hostile or "not blessed",
        ),
    )


def orchestrator_pipelines(
    label: str, *, hostile: str = "", now: datetime | None = None
) -> tuple[PipelineDefinition, ...]:
    now = now or _now()
    return (
        PipelineDefinition(
            label,
            "orchestrator",
            "train_churn",
            "train_churn",
            paused=False,
            next_run=now + timedelta(days=1, hours=6, minutes=30),  # "in 1d06h"
            schedule="@daily",
            tags=("ml", "tfx"),
            is_training=True,
        ),
        PipelineDefinition(
            label,
            "orchestrator",
            "etl_daily",
            "etl_daily",
            paused=True,
            schedule="0 3 * * *",
            tags=("etl",),
        ),
        PipelineDefinition(
            label,
            "orchestrator",
            hostile or "report",
            hostile or "report",
            paused=None,
            tags=(hostile,) if hostile else (),
            problem=hostile or "",
        ),
    )


class FakeOrchestrator(PipelineSource):
    """TriggersPipelines, PausesPipelines, MarksRuns, RerunsRuns and RunDetails."""

    kind = "orchestrator"
    config_class = FakeOrchestratorConfig
    can_rerun_failed = True
    can_rerun_running = False
    parameters_word = "conf"
    rerun_word = "clear"

    def __init__(
        self,
        name="prod",
        *,
        training="train_churn",
        read_only=False,
        hostile="",
        notes=(),
        now: datetime | None = None,
    ):
        """`now`: a fixed instant the runs are timed from (snapshots); else the poll's."""
        config = FakeOrchestratorConfig(
            name=name,
            url="http://127.0.0.1:9",
            project="prod",
            training=training,
            read_only=read_only,
            refresh=3600,
            timeout=5,
        )
        super().__init__(config, client=None)  # type: ignore[arg-type] - nothing is fetched
        self.hostile = hostile
        self.notes = tuple(notes)
        self.now = now
        self.calls: list[tuple] = []

    @property
    def training_pipeline(self) -> str:
        return self.config.training

    def poll(self):
        return PipelineSnapshot(
            self.label,
            "orchestrator",
            orchestrator_runs(self.label, hostile=self.hostile, now=self.now),
            pipelines=orchestrator_pipelines(self.label, hostile=self.hostile, now=self.now),
            notes=self.notes,
        )

    async def fetch(self):
        return self.poll()

    async def fetch_jobs(self, run):
        return self.jobs(run)

    async def fetch_log(self, run, job):
        return self.log_tail(run, job)

    def close(self):
        pass

    def jobs(self, run):
        start = run.started or datetime(2026, 12, 1, tzinfo=UTC)
        jobs = []
        for index, name in enumerate(TFX_ORDER):
            tries = 3 if name == "Trainer" else 1
            jobs.append(
                PipelineJob(
                    name,  # ids sort otherwise (Evaluator < ExampleGen): order is the source's
                    name,
                    RunStatus.SUCCESS,
                    "success",
                    "",
                    start + timedelta(minutes=index),
                    start + timedelta(minutes=index + 1),
                    attempt=tries,
                    attempts=tries,
                    operator=f"{name}Operator" if name != "Pusher" else self.hostile,
                )
            )
        return jobs

    def log_tail(self, run, job):
        self.calls.append(("log", job.id, job.attempt))
        return f"log of {job.name} try {job.attempt}\n{self.hostile}"

    def rerun(self, run, failed_only=False):
        self.calls.append(("rerun", run.id, failed_only))
        return f"cleared {run.id}"

    def cancel(self, run):
        self.calls.append(("cancel", run.id))
        return f"cancelled {run.id}"

    def trigger(self, pipeline, parameters):
        self.calls.append(("trigger", pipeline, parameters))
        return f"run manual__new of {pipeline} queued"

    def set_paused(self, pipeline, paused):
        self.calls.append(("pause", pipeline, paused))
        return f"{pipeline} {'paused' if paused else 'unpaused'}"

    def mark(self, run, status):
        self.calls.append(("mark", run.id, status))
        return f"{run.id} marked {status.value}"


class LinkedModelsSource(FixedModelsSource):
    """The fixed registry, its newest churn version tagged with the training run."""

    def poll(self):
        from dataclasses import replace

        snapshot = super().poll()
        versions = tuple(_linked(v) if v.version == "3" else v for v in sample_model_versions())
        return replace(snapshot, versions=versions)


def _linked(version: ModelVersion) -> ModelVersion:
    from dataclasses import replace

    tags = (("pipeline.run_id", "manual__2026-12-01"), ("pipeline.name", "train_churn"))
    return replace(version, lineage=tags)
