"""Deployment events from what opsdash sees, kept in the store for the DORA keys.

UI-free; called from poll workers, so a slow disk never blocks the screen.
"""

from __future__ import annotations

from opsdash.model import PipelineSnapshot
from opsdash.store import DeploymentEvent, Store


def record_vendor_deployments(store: Store, snapshot: PipelineSnapshot) -> int:
    """Store the deployments a CI source reported; returns how many were new.

    Each carries the source's own id, so a deployment seen on every poll (and
    across restarts) is recorded once.
    """
    new = 0
    for d in snapshot.deployments:
        new += store.add_deployment(
            DeploymentEvent(
                at=d.at.isoformat(timespec="seconds"),
                service=d.service,
                host=d.source,
                kind="app",
                image="",
                digest="",
                result=d.result,
                source=d.source,
                environment=d.environment,
                version=d.version,
                external_id=f"{d.source}:{d.id}",
            )
        )
    return new
