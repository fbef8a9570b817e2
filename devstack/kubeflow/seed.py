"""The emulator's seeded state: two experiments of one namespace, three pipelines
and runs of every outcome the panel shows.

- ``churn-tfx``: a TFX pipeline (CsvExampleGen ... Evaluator, Pusher); one run
  blessed and pushed, one not blessed (its Pusher SKIPPED), one failed in Trainer.
- ``flaky-train``: new runs fail at ``push-model``; one seeded run failed there
  (it reached its push step), one failed in ``train``.
- ``etl-daily``: one run still RUNNING (its steps take a day), one succeeded,
  one CANCELED.

Run ids are fixed so tests can name them (`RUN_*`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from devstack.kubeflow.runs import Pipeline, Run

if TYPE_CHECKING:
    from devstack.kubeflow.server import KubeflowServer

NAMESPACE = "team-a"
OTHER_NAMESPACE = "team-b"
DEFAULT_EXPERIMENT = "exp-default"
EXP_PROD = "exp-prod"
EXP_DEV = "exp-dev"
TFX = (
    "CsvExampleGen",
    "StatisticsGen",
    "SchemaGen",
    "Transform",
    "Trainer",
    "Evaluator",
    "Pusher",
)
HOUR = 3600.0
DAY = 24 * HOUR

RUN_BLESSED = "0b1e55ed-0000-4000-8000-000000000001"
RUN_NOT_BLESSED = "0b1e55ed-0000-4000-8000-000000000002"
RUN_PUSH_FAILED = "0b1e55ed-0000-4000-8000-000000000003"
RUN_RUNNING = "0b1e55ed-0000-4000-8000-000000000004"
RUN_ETL_OK = "0b1e55ed-0000-4000-8000-000000000005"
RUN_TRAIN_FAILED = "0b1e55ed-0000-4000-8000-000000000006"
RUN_TFX_FAILED = "0b1e55ed-0000-4000-8000-000000000007"
RUN_CANCELED = "0b1e55ed-0000-4000-8000-000000000008"
RUN_OTHER_NS = "0b1e55ed-0000-4000-8000-000000000009"


def seed(server: KubeflowServer, now: float) -> None:
    server.add_experiment(DEFAULT_EXPERIMENT, "Default", NAMESPACE)
    server.add_experiment(EXP_PROD, "prod", NAMESPACE)
    server.add_experiment(EXP_DEV, "dev", NAMESPACE)
    server.add_experiment("exp-b", "b", OTHER_NAMESPACE)
    tfx = server.add_pipeline(
        Pipeline(
            "p-churn",
            "churn-tfx",
            TFX,
            NAMESPACE,
            now - 30 * DAY,
            [("v-churn-1", "v1", now - 30 * DAY), ("v-churn-2", "v2", now - 10 * DAY)],
        )
    )
    flaky = server.add_pipeline(
        Pipeline(
            "p-flaky",
            "flaky-train",
            ("prepare", "train", "push-model"),
            NAMESPACE,
            now - 20 * DAY,
            [("v-flaky-1", "v1", now - 20 * DAY)],
            fail_at="push-model",
        )
    )
    etl = server.add_pipeline(
        Pipeline(
            "p-etl",
            "etl-daily",
            ("extract", "clean", "load"),
            NAMESPACE,
            now - 25 * DAY,
            [("v-etl-1", "v1", now - 25 * DAY)],
        )
    )
    other = server.add_pipeline(
        Pipeline("p-b", "b-only", ("step",), OTHER_NAMESPACE, now - DAY, [("v-b-1", "v1", now)])
    )

    def add(run_id, name, experiment, pipeline, version, hours, **kw):
        params = kw.pop("parameters", {"epochs": 5})
        terminate = kw.pop("terminate_after", None)
        run = Run.plan(
            run_id=run_id,
            display_name=name,
            experiment_id=experiment,
            pipeline=pipeline,
            version_id=version,
            parameters=params,
            created=now - hours * HOUR,
            **kw,
        )
        if terminate is not None:
            run.terminate(run.pending_until + terminate)
        server.add_run(run)

    add(RUN_BLESSED, "churn retrain 12-01", EXP_PROD, tfx, "v-churn-2", 2,
        parameters={"model": "churn", "epochs": 5, "learning_rate": 0.01})  # fmt: skip
    add(RUN_NOT_BLESSED, "churn retrain 11-30", EXP_PROD, tfx, "v-churn-2", 26,
        skip=("Pusher",), parameters={"model": "churn", "epochs": 1})  # fmt: skip
    add(RUN_PUSH_FAILED, "flaky nightly", EXP_PROD, flaky, "v-flaky-1", 3)
    add(RUN_RUNNING, "etl 12-02", EXP_DEV, etl, "v-etl-1", 0.5, step=DAY,
        parameters={"day": "2026-12-02"})  # fmt: skip
    add(RUN_ETL_OK, "etl 12-01", EXP_DEV, etl, "v-etl-1", 24, parameters={"day": "2026-12-01"})
    add(RUN_TRAIN_FAILED, "flaky manual", EXP_DEV, flaky, "v-flaky-1", 30, fail_at="train")
    add(RUN_TFX_FAILED, "churn retrain 11-29", EXP_PROD, tfx, "v-churn-1", 50, fail_at="Trainer")
    add(RUN_CANCELED, "etl 11-30", EXP_DEV, etl, "v-etl-1", 48, terminate_after=12)
    add(RUN_OTHER_NS, "b run", "exp-b", other, "v-b-1", 1)
