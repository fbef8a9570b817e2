"""Deployment events and health issues from what the sources see, for the DORA keys.

UI-free; `record_poll` is called with each successful poll's data by every
command that polls (the TUI's poll workers, so a slow disk never blocks the
screen, and `snapshot` and `check`, so a cron job builds the keys too). What it
records:

- CI sources: the deployments they report (deploy runs, GitHub deployment
  statuses, GitLab deployments) once their result is final, under the
  [[service]] that lists the source, with the result in DORA's words.
- Docker: a service whose running container now runs another image (or another
  OCI revision) than last seen, also across restarts of opsdash; Swarm services
  whose update completed with another image or ended in a rollback. opsdash's
  own redeploys are already recorded by the action runner and are not counted
  twice.
- Kubernetes: a workload's new revision with other images once its rollout
  finished (failed: ProgressDeadlineExceeded; a return to earlier images is a
  rollback), by anyone, recorded once per revision.
- Models: a serving alias that moved outside opsdash (any models source whose
  rows name the alias and the version it serves: MLflow's today).
- Health issues: a service with an unhealthy, crash-looping or failed container,
  a Swarm service short of replicas, a crash-looping pod or a workload short
  of available replicas, a model metric in breach.

The version last seen of each watched thing is kept in the store
(`watched_versions`): the first sight of something is remembered, not counted,
since nobody knows when it was deployed.

This module only routes: each snapshot type has its watcher (ci_events,
docker_events, kube_events, model_events), chosen by what the data is, never by the
source's kind, so a new source returning one of these types is watched as is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from opsdash.config import Config
from opsdash.dora.ci_events import watch_pipelines
from opsdash.dora.docker_events import watch_docker
from opsdash.dora.kube_events import watch_kubernetes
from opsdash.dora.model_events import watch_models
from opsdash.dora.seen import ACTING
from opsdash.eventlog import event
from opsdash.model import DockerSnapshot, PipelineSnapshot
from opsdash.model.kube import ClusterSnapshot
from opsdash.model.ml import ModelsSnapshot
from opsdash.store import Store

Watcher = Callable[[Store, Config, str, object, datetime], list[str]]

# The watcher of each snapshot type (a subclass is watched as its base): a new
# source needs no change here when it returns one of these.
WATCHERS: dict[type, Watcher] = {
    PipelineSnapshot: watch_pipelines,
    DockerSnapshot: watch_docker,
    ModelsSnapshot: watch_models,
    ClusterSnapshot: watch_kubernetes,
}


def record_events(
    store: Store,
    config: Config,
    label: str,
    data: object,
    now: datetime | None = None,
    acting: Iterable[str] = (),
) -> list[str]:
    """Record what one poll's data says; one line per thing recorded (for --log).

    `label` is the poll's source label ("docker:prod", "mlflow:registry", ...);
    health issues are kept under it. Data of other sources records nothing.
    `acting`: services an opsdash action is changing at this moment.
    """
    token = ACTING.set(frozenset(acting))
    try:
        return _record_events(store, config, label, data, now or datetime.now().astimezone())
    finally:
        ACTING.reset(token)


def record_poll(
    store: Store, config: Config, label: str, data: object, acting: Iterable[str] = ()
) -> list[str]:
    """`record_events` for one successful poll, as every polling command runs it.

    Each line recorded goes to the --log; a store that fails is a warning there,
    never an exception: the poll itself succeeded and its data is still shown.
    """
    try:
        recorded = record_events(store, config, label, data, acting=acting)
    except Exception as exc:  # noqa: BLE001 - the poll itself succeeded
        event(f"recording events from {label} failed: {exc}", warning=True)
        return []
    for line in recorded:
        event(line)
    return recorded


def _record_events(
    store: Store, config: Config, label: str, data: object, now: datetime
) -> list[str]:
    for snapshot_type, watcher in WATCHERS.items():
        if isinstance(data, snapshot_type):
            return watcher(store, config, label, data, now)
    return []
