"""What the panels show: each poll's snapshot routed, by its type, to the
panel that draws it, with the sources' problems and health beside it.

Split from the app, which owns polling and screens: this is the one place a
source's data meets the screen, by what its poll returns (`Source.feeds`),
never by its kind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from opsdash.alerts import BreachTracker
from opsdash.eventlog import event
from opsdash.formatting import next_age_change, shown_now
from opsdash.model import (
    Container,
    DockerSnapshot,
    HealthState,
    HostStats,
    PipelineDefinition,
    PipelineRun,
    PipelineSnapshot,
    SourceHealth,
)
from opsdash.model.deployments import DeploymentsSnapshot
from opsdash.model.kube import ClusterSnapshot
from opsdash.model.lineage import Lineage, link, link_tags
from opsdash.model.ml import ModelsSnapshot, ModelVersion

if TYPE_CHECKING:
    from opsdash.app import OpsdashApp
    from opsdash.sources.base import Source


def _now() -> datetime:
    return shown_now()


class PanelFeed:
    def __init__(self, app: OpsdashApp):
        self.app = app
        self.poller = app.poller
        self.breaches = BreachTracker()
        self._last_states: dict[str, HealthState] = {}
        # Per panel: when an age it shows next reads differently (tick redraws it then).
        self._ages_due: dict[type, datetime | None] = {}

    @property
    def panels(self) -> dict[type, Callable[[], None]]:
        """Snapshot type -> what draws it: the one place a source's data is routed
        to the screen, by what its poll returns (`Source.feeds`), never its kind."""
        return {
            DockerSnapshot: self._render_docker,
            HostStats: self._render_hosts,
            PipelineSnapshot: self._render_pipelines,
            ModelsSnapshot: self._render_models,
            DeploymentsSnapshot: self._render_deployments,
            ClusterSnapshot: self._render_clusters,
        }

    def render(self, feeds: type) -> None:
        """Draw what `feeds` feeds, in one batch: the screen is composed once
        after every panel it touches has changed, not once per widget."""
        with self.app.batch_update():
            for snapshot_type, render in self.panels.items():
                if issubclass(feeds, snapshot_type):
                    render()

    def labels(self, feeds: type) -> list[str]:
        """The sources whose polls return `feeds` (or a subclass of it)."""
        return [label for label, s in self.poller.sources.items() if issubclass(s.feeds, feeds)]

    def explain_unconfigured(self) -> None:
        """Each panel no source feeds says which [[kind]] tables would, and what
        autodetection looked for: every installed kind, third-party ones too."""
        from opsdash.sources.registry import classes_feeding

        for feeds in self.panels:
            if not self.labels(feeds):
                self.app.main.explain_unconfigured(
                    feeds, [(c.kind, c.setup_hint) for c in classes_feeding(feeds)]
                )

    def _problems(self, labels: Iterable[str]) -> list[SourceHealth]:
        healths = [self.poller.health(label) for label in labels]
        return [h for h in healths if h.state in (HealthState.ERROR, HealthState.STALE)]

    def _render_docker(self) -> None:
        if not self.app.has_main:
            return
        labels = self.labels(DockerSnapshot)
        containers: list[Container] = []
        services = []
        for label in labels:
            snapshot = self.poller.data(label)
            if isinstance(snapshot, DockerSnapshot):
                containers.extend(snapshot.containers)
                services.extend(snapshot.services)
        with self.app.batch_update():
            self.app.main.containers_panel.update_data(
                containers,
                services,
                multi_host=len(labels) > 1,
                problems=self._problems(labels),
                configured=bool(labels),
            )

    def _render_hosts(self) -> None:
        if not self.app.has_main:
            return
        labels = self.labels(HostStats)
        hosts = [
            d for d in (self.poller.data(label) for label in labels) if isinstance(d, HostStats)
        ]
        self.app.main.host_panel.update_data(hosts, self._problems(labels), _now())

    def pipeline_runs(self) -> list[PipelineRun]:
        runs: list[PipelineRun] = []
        for label in self.labels(PipelineSnapshot):
            snapshot = self.poller.data(label)
            if isinstance(snapshot, PipelineSnapshot):
                runs.extend(snapshot.runs)
        return runs

    def _render_pipelines(self) -> None:
        if not self.app.has_main:
            return
        labels = self.labels(PipelineSnapshot)
        runs = self.pipeline_runs()
        snapshots = self.pipeline_snapshots()
        self.app.main.pipelines_panel.update_data(
            runs,
            problems=self._problems(labels),
            configured=bool(labels),
            multi_source=len(labels) > 1,
            notes=[f"{s.source}: {note}" for s in snapshots for note in s.notes],
        )
        # STARTED is the age of the start, and a running run's TOOK counts from it too.
        self._ages_shown(PipelineSnapshot, (r.started or r.created for r in runs))
        from opsdash.screens.pipeline import RunScreen
        from opsdash.screens.pipeline_list import PipelineListScreen

        if isinstance(self.app.screen, PipelineListScreen):
            self.app.screen.show_pipelines(self.pipeline_definitions())
        if isinstance(self.app.screen, RunScreen):
            fresh = next((r for r in runs if r.key == self.app.screen.run.key), None)
            if fresh is not None:
                self.app.screen.show_run(fresh)

    def model_snapshots(self) -> list[ModelsSnapshot]:
        """What every models source polled last (the service timeline links them)."""
        snapshots = (self.poller.data(label) for label in self.labels(ModelsSnapshot))
        return [s for s in snapshots if isinstance(s, ModelsSnapshot)]

    def pipeline_snapshots(self) -> list[PipelineSnapshot]:
        snapshots = (self.poller.data(label) for label in self.labels(PipelineSnapshot))
        return [s for s in snapshots if isinstance(s, PipelineSnapshot)]

    def pipeline_definitions(self) -> list[PipelineDefinition]:
        """What the `P` screen lists: every source's pipelines."""
        return [p for s in self.pipeline_snapshots() for p in s.pipelines]

    def registered_by(self, run: PipelineRun) -> tuple[tuple[ModelVersion, str], ...]:
        """The model versions `run` produced, each with its registry's label."""
        snapshots = self.model_snapshots()
        label_of = {v.key: s.source for s in snapshots for v in s.versions}
        found = self.lineage().versions_for(run)
        return tuple((v, label_of.get(v.key, "")) for v in found)

    def lineage(self) -> Lineage:
        """Which polled pipeline run produced which polled model version."""
        from opsdash.sources.mlflow_map import configured_run_tags  # not for the first frame

        versions = [v for s in self.model_snapshots() for v in s.versions]
        return link(self.pipeline_runs(), versions, link_tags(configured_run_tags(versions)))

    def _render_models(self) -> None:
        if not self.app.has_main:
            return
        labels = self.labels(ModelsSnapshot)
        snapshots = self.model_snapshots()
        problems = self._problems(labels)
        failing = {h.label for h in problems}
        rows = [
            replace(row, stale=True) if snapshot.source in failing else row
            for snapshot in snapshots
            for row in snapshot.rows
        ]
        for row in self.breaches.update([r for r in rows if not r.stale]):
            self.app.notify(
                f"{row.model} {row.metric} = {row.value:.4g} breaches its threshold"
                f" ({row.breach:g}) on {row.source}",
                title="Model metric breach",
                severity="error",
                timeout=15,
            )
        self.app.main.models_panel.update_data(
            rows,
            problems=problems,
            notes=[note for snapshot in snapshots for note in snapshot.notes],
            configured=bool(labels),
            multi_source=len(labels) > 1,
        )
        self._ages_shown(ModelsSnapshot, (r.serving_changed_at for r in rows))

    def _render_deployments(self) -> None:
        if not self.app.has_main:
            return
        labels = self.labels(DeploymentsSnapshot)
        snapshots = [self.poller.data(label) for label in labels]
        rows = [row for s in snapshots if isinstance(s, DeploymentsSnapshot) for row in s.services]
        self.app.main.deployments_panel.update_data(
            rows, problems=self._problems(labels), configured=bool(labels)
        )
        self._ages_shown(DeploymentsSnapshot, (r.last_deploy.at for r in rows if r.last_deploy))

    def _ages_shown(self, feeds: type, moments: Iterable[datetime | None]) -> None:
        """A panel was drawn showing the ages of `moments`: `tick` draws it again
        when one of them reads differently, not every second (nor never: a poll
        equal to the last one draws nothing, yet "3m ago" must become "4m ago")."""
        self._ages_due[feeds] = next_age_change(moments, _now())

    def cluster_snapshots(self) -> list[ClusterSnapshot]:
        snapshots = (self.poller.data(label) for label in self.labels(ClusterSnapshot))
        return [s for s in snapshots if isinstance(s, ClusterSnapshot)]

    def cluster_source(self, context: str) -> Source | None:
        """The source of a record's `context`: the one named so, else the one
        whose snapshot says it watches that context (a `[[kubernetes]]` table's
        `name` may differ from its `context`)."""
        named = self.poller.source_of(ClusterSnapshot, context)
        if named is not None:
            return named
        for label in self.labels(ClusterSnapshot):
            snapshot = self.poller.data(label)
            if isinstance(snapshot, ClusterSnapshot) and snapshot.context == context:
                return self.poller.sources[label]
        return None

    def _render_clusters(self) -> None:
        if not self.app.has_main:
            return
        labels = self.labels(ClusterSnapshot)
        snapshots = self.cluster_snapshots()
        self.app.main.cluster_panel.update_data(
            snapshots,
            problems=self._problems(labels),
            configured=bool(labels),
            multi_context=len(labels) > 1,
        )
        from opsdash.screens.kube import WorkloadScreen

        screen = self.app.screen
        if isinstance(screen, WorkloadScreen):
            key = screen.workload.key
            fresh = next((w for s in snapshots for w in s.workloads if w.key == key), None)
            if fresh is not None and fresh != screen.workload:
                screen.show_workload(fresh)

    def tick(self) -> None:
        """Once a second: header ages, stale detection, health history."""
        if not self.app.has_main:
            return
        healths = self.poller.all_health()
        now = _now()
        refresh = [s.refresh for s in self.poller.sources.values()]
        self.app.main.show_health(
            healths,
            now,
            refresh,
            notice=self.app.store.notice if self.app.store is not None else None,
        )
        changed: set[type] = set()
        for (label, source), health in zip(self.poller.sources.items(), healths, strict=True):
            previous = self._last_states.get(label)
            if previous is not health.state:
                self._last_states[label] = health.state
                if previous is not None or health.state is not HealthState.OK:
                    changed.add(source.feeds)
                    if health.state is not HealthState.PENDING:
                        event(
                            f"source {label} {health.state.value}: {health.message}".rstrip(": "),
                            warning=health.state in (HealthState.ERROR, HealthState.STALE),
                        )
                    if self.app.store is not None and health.state is not HealthState.PENDING:
                        self.app.store.record_health(health)
        for feeds, due in self._ages_due.items():
            if due is not None and now >= due:
                changed.add(feeds)  # an age shown there reads differently now
        for feeds in changed:
            self.render(feeds)
