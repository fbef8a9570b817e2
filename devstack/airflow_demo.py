"""A real Airflow 3 for the demo and the screenshots, with runs to look at.

Starts `devstack.airflow_server` (about 30 s) and leaves behind: a TFX-shaped
training run that was blessed and pushed, one that was not blessed, a run
whose second task failed, one that succeeded, and a slow one still running.
`link_model` tags an MLflow model version with the blessed run's ids, as
training code that logs to MLflow would, so the model screen shows which run
produced it. Stdlib only.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

from devstack.airflow_server import AirflowServer, available

TRAINING_DAG = "opsdash_tfx"


@dataclass
class AirflowDemo:
    server: AirflowServer
    runs: dict[str, str] = field(default_factory=dict)  # what it is -> dag_run_id


def start_demo_airflow(
    base_dir: Path, stack: contextlib.ExitStack, log=print
) -> AirflowDemo | None:
    """The server with its demo runs, stopped with `stack`; None when not installed."""
    if not available():
        log("Airflow is not installed (scripts/test installs it): skipped")
        return None
    log("starting Airflow 3 (about 30 s)")
    server = stack.enter_context(AirflowServer(base_dir / "airflow"))
    client = server.client
    demo = AirflowDemo(server)
    for what, dag_id, conf in (
        ("blessed", TRAINING_DAG, {"model": "churn", "bless": True}),
        ("not-blessed", TRAINING_DAG, {"model": "churn", "bless": False}),
        ("failed", "opsdash_fails", {}),
        ("ok", "opsdash_ok", {"note": "[bold]not markup[/]"}),
    ):
        demo.runs[what] = client.trigger(dag_id, conf)["dag_run_id"]
    for what, run_id in demo.runs.items():
        dag_id = {"failed": "opsdash_fails", "ok": "opsdash_ok"}.get(what, TRAINING_DAG)
        client.wait_run(dag_id, run_id, timeout=180)
    demo.runs["running"] = client.trigger("opsdash_slow")["dag_run_id"]
    return demo


def link_model(demo: AirflowDemo, mlflow_url: str, model: str, version: str) -> None:
    """Tag `model` `version` with the blessed training run, as its training code would."""
    from devstack.mlflow_server import rest

    for key, value in (
        ("airflow.dag_id", TRAINING_DAG),
        ("airflow.dag_run_id", demo.runs["blessed"]),
    ):
        rest(
            mlflow_url,
            "POST",
            "model-versions/set-tag",
            {"name": model, "version": version, "key": key, "value": value},
        )
