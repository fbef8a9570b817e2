"""Deployments and health issues from a models source: a serving alias that
moved outside opsdash, a model metric in breach.

Any models source counts whose rows say which version an alias serves (today
MLflow's); rows without an alias and a version (a Prometheus query) give
health only.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from opsdash.config import Config
from opsdash.dora.seen import already_recorded, changed, iso, not_after, record, set_issue
from opsdash.model.ml import ModelsSnapshot, ThresholdState
from opsdash.services import environment_of, service_of_model
from opsdash.store import DeploymentEvent, Store


def watch_models(
    store: Store, config: Config, label: str, snapshot: ModelsSnapshot, now: datetime
) -> list[str]:
    """The watcher for a ModelsSnapshot: each alias moved to another version is a
    deployment (recorded under the source's kind); breaches open the service's issue."""
    done: list[str] = []
    breaches: dict[str, list[str]] = defaultdict(list)
    states: dict[str, list[ThresholdState]] = defaultdict(list)
    for row in snapshot.rows:
        service = service_of_model(config, row.model)
        states[service].append(row.state)
        if row.state is ThresholdState.BREACH:
            breaches[service].append(f"{row.model} {row.metric} breach")
        if not row.alias or not row.version:  # no serving alias: health only
            continue
        at = not_after(row.serving_changed_at, now)
        key = f"model:{snapshot.source}:{row.model}:{row.alias}"
        if not changed(store, key, service, row.version, at):
            continue
        if already_recorded(store, service, at, ("model-",), row.version):
            continue  # opsdash's own promote or rollback
        done += record(
            store,
            DeploymentEvent(
                at=iso(at),
                service=service,
                host=snapshot.source,
                kind="model",
                image="",
                digest="",
                result="success",
                source=snapshot.kind,
                environment=environment_of(config, service),
                version=row.version,
                external_id=f"{snapshot.kind}:{snapshot.source}:{row.model}:{row.alias}:{row.version}:{iso(at)}",
            ),
        )
    for service, seen in states.items():
        # a metric without a value says nothing: an open breach stays open
        if breaches[service] or ThresholdState.UNKNOWN not in seen:
            done += [x for x in [set_issue(store, service, label, breaches[service], now)] if x]
    return done
