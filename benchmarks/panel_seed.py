"""What the panels benchmark seeds besides the CI runs: MLflow models, the
deployment history of the DORA services, and the config naming all of them.

- MLflow (the real server, devstack.mlflow_server): `models` registered models,
  each with two versions (champion v1, challenger v2) from finished runs that
  logged accuracy and loss; with both metrics shown that is 2 rows a model.
- The store (opsdash's own SQLite file, opsdash.store): 90 days of production
  deploys of `services` services, some failed, some followed by a health spell,
  as opsdash records them from redeploys; the [[service]] tables gather the CI
  sources and the models under those services, so the panel has exactly that
  many rows (plus "all services").
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

from devstack.mlflow_server import rest
from opsdash.store import DeploymentEvent, Store

MODEL_METRICS = ("accuracy", "loss")
TRAINING_RUNS = 10  # the versions' runs: models share them (a run's metrics are all a row reads)


def model_name(index: int) -> str:
    return f"model-{index:03d}"


def service_name(index: int) -> str:
    return f"svc-{index + 1:02d}"


# --- MLflow ------------------------------------------------------------------------


def seed_mlflow(url: str, models: int) -> float:
    """`models` registered models, 2 versions each, aliased; seconds it took."""
    started = time.perf_counter()
    now = int(time.time() * 1000)
    experiment = rest(url, "POST", "experiments/create", {"name": "bench"})["experiment_id"]
    run_ids = []
    for index in range(TRAINING_RUNS):
        start = now - (TRAINING_RUNS - index) * 3_600_000
        run = rest(
            url,
            "POST",
            "runs/create",
            {"experiment_id": experiment, "run_name": f"train-{index}", "start_time": start},
        )["run"]["info"]["run_id"]
        accuracy = [0.70 + 0.02 * step + 0.005 * index for step in range(5)]
        metrics = [
            {"key": key, "value": value, "timestamp": start + step * 1000, "step": step}
            for step, acc in enumerate(accuracy)
            for key, value in (("accuracy", round(acc, 4)), ("loss", round(1 - acc, 4)))
        ]
        rest(url, "POST", "runs/log-batch", {"run_id": run, "metrics": metrics})
        rest(url, "POST", "runs/update", {"run_id": run, "status": "FINISHED", "end_time": start})
        run_ids.append(run)

    def one(index: int) -> None:
        name = model_name(index)
        rest(url, "POST", "registered-models/create", {"name": name})
        for offset in (0, 1):
            run = run_ids[(index + offset) % len(run_ids)]
            body = {"name": name, "source": f"runs:/{run}/model", "run_id": run}
            rest(url, "POST", "model-versions/create", body)
        for alias, version in (("champion", "1"), ("challenger", "2")):
            body = {"name": name, "alias": alias, "version": version}
            rest(url, "POST", "registered-models/alias", body)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(one, range(models)))
    return time.perf_counter() - started


# --- the DORA history ----------------------------------------------------------------


def seed_store(path: Path, services: int, now: datetime) -> int:
    """90 days of deploys of each service into opsdash's store; events written."""
    store = Store(path)
    written = 0
    try:
        for index in range(services):
            service = service_name(index)
            every = timedelta(hours=8 + 13 * (index % 7))  # 8 h to 86 h between deploys
            at = now - timedelta(days=90) + timedelta(minutes=37 * index)
            number = 0
            while at < now - timedelta(minutes=30):
                failed = number % (5 + index % 4) == 3
                event = DeploymentEvent(
                    at=at.isoformat(),
                    service=service,
                    host="bench",
                    kind="app",
                    image=f"registry.example.com/{service}:{number}",
                    digest="",
                    result="failed" if failed else "success",
                    source="redeploy",
                    environment="production",
                    version=f"{service}-{number:04d}",
                    external_id=f"bench:{service}:{number}",
                )
                written += store.add_deployment(event)
                if number % 6 == 5:  # a spell of trouble after a deploy that succeeded
                    start = at + timedelta(minutes=10)
                    store.open_issue(service, "docker:bench", f"{service} unhealthy", start)
                    store.close_issue(service, "docker:bench", start + timedelta(minutes=25))
                at += every
                number += 1
    finally:
        store.close()
    return written


# --- the config ------------------------------------------------------------------------


def _list(names: list[str]) -> str:
    return "[" + ", ".join(f'"{n}"' for n in names) + "]"


def panels_config(urls: dict[str, str], runs: int, models: int, services: int) -> str:
    """Only the four CI sources, MLflow and the services; `runs` shown per source.
    Docker and the local host are turned off (`= []`), so no other source polls:
    the Host panel's 2 s refresh would otherwise be in every figure."""
    ci = ("gh", "gl", "jk", "kf")
    text = f"""\
docker = []
host = []

[[github]]
name = "gh"
url = "{urls["github"]}"
repo = "acme/shop"
token = "bench-token"
runs = {runs}

[[gitlab]]
name = "gl"
url = "{urls["gitlab"]}"
project = "acme/shop"
token = "bench-token"
runs = {runs}

[[jenkins]]
name = "jk"
url = "{urls["jenkins"]}"
jobs = ["shop/app"]
runs = {runs}

[[kubeflow]]
name = "kf"
url = "{urls["kubeflow"]}"
runs = {runs}

[[mlflow]]
name = "registry"
url = "{urls["mlflow"]}"
metrics = {_list(list(MODEL_METRICS))}
lower_is_better = ["loss"]
"""
    for index in range(services):
        mine = [model_name(m) for m in range(models) if m % services == index]
        text += f'\n[[service]]\nname = "{service_name(index)}"\n'
        text += f'match_name = "{service_name(index)}-*"\n'
        if index < len(ci):
            text += f'pipelines = ["{ci[index]}"]\n'
        if mine:
            text += f"models = {_list(mine)}\n"
    return text
