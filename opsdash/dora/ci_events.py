"""The deployments pipeline sources report (CI deploy runs, GitHub deployment
statuses, GitLab deployments, runs of an orchestrator's deploy or training
pipeline), recorded once their result is final."""

from __future__ import annotations

from datetime import datetime, timedelta

from opsdash.config import Config
from opsdash.dora.records import KINDS
from opsdash.dora.seen import iso
from opsdash.model import PipelineSnapshot, VendorDeployment
from opsdash.services import service_of_model, service_of_pipeline
from opsdash.store import DeploymentEvent, Store

# A vendor's result word -> DORA's. A word not here is not final (or not known):
# such a deployment is recorded once its result is, under the same vendor id.
VENDOR_RESULTS = {
    "success": "success",
    "inactive": "success",  # GitHub: succeeded, later superseded
    "warnings": "success",  # Buildbot: succeeded with warnings
    "rolled back": "rolled back",
    "failed": "failed",
    "failure": "failed",
    "error": "failed",
}
# Not here, so never recorded: "canceled"/"cancelled" (it never reached production,
# docs/dora.md) and every word of a deployment still under way.

# Swarm update states: a changed image counts once the update settled; while it


def dora_result(vendor_result: str) -> str | None:
    """ "success", "failed" or "rolled back"; None while the result is not final."""
    return VENDOR_RESULTS.get(vendor_result.strip().lower())


def service_of_deployment(config: Config | None, source_name: str, d: VendorDeployment) -> str:
    """The [[service]] whose `pipelines` name the source; for a model
    deployment (a pushed TFX run) whose table's `service` names a model, the
    [[service]] listing that model in `models`; else the table's `service`."""
    if config is None:
        return d.service
    default = service_of_model(config, d.service) if d.kind == "model" else d.service
    return service_of_pipeline(config, source_name, default)


def record_vendor_deployments(
    store: Store, snapshot: PipelineSnapshot, config: Config | None = None
) -> int:
    """Store the deployments a pipeline source reported; returns how many were new.

    Each carries the source's own id, so a deployment seen on every poll (and
    across restarts) is recorded once. With a config, a deployment counts for
    the [[service]] whose `pipelines` name the source (`service_of_deployment`).
    Its kind is the source's: "model" for a run that pushed a model, else "app".
    """
    source_name = snapshot.source.split(":", 1)[-1]
    new = 0
    for d in snapshot.deployments:
        result = dora_result(d.result)
        if result is None:
            continue  # not final yet: the same id is recorded once it is
        new += store.add_deployment(
            DeploymentEvent(
                at=iso(d.at),
                service=service_of_deployment(config, source_name, d),
                host=d.source,
                kind=d.kind if d.kind in KINDS else "app",
                image="",
                digest="",
                result=result,
                source=d.source,
                environment=d.environment,
                version=d.version,
                external_id=f"{d.source}:{d.id}",
            )
        )
    return new


def recorded_vendor_ids(store: Store, source_label: str, days: int = 90) -> set[str]:
    """The vendor ids ("deployment:42") the store holds for one CI source, so it
    need not read again what an earlier run of opsdash recorded."""
    since = datetime.now().astimezone() - timedelta(days=days + 1)
    prefix = f"{source_label}:"
    return {
        e.external_id[len(prefix) :]
        for e in store.deployments_since(since)
        if e.external_id and e.external_id.startswith(prefix)
    }


def watch_pipelines(
    store: Store, config: Config, label: str, snapshot: PipelineSnapshot, now: datetime
) -> list[str]:
    """The watcher for a PipelineSnapshot: one line when it brought new deployments."""
    new = record_vendor_deployments(store, snapshot, config)
    return [f"{new} deployments from {label}"] if new else []
