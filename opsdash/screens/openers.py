"""The app's verbs that open a screen: what each request (a key, a message, the
command palette) shows, with what it needs from the poller, the feed and the
store.

A mixin of `OpsdashApp`, apart from its lifecycle and polling. Every screen is
imported where it opens: none of them is drawn by the first frame.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opsdash.model import Container, PipelineRun, Service
    from opsdash.model.deployments import ServiceDeployments
    from opsdash.model.kube import KubePod, KubeWorkload
    from opsdash.model.ml import ModelRow


class ScreenOpeners:
    """`show_*`: the screens the app pushes (tests and the command palette call them too)."""

    # What the app provides (OpsdashApp): the poller, the feed, the store, its flows.
    poller: Any
    feed: Any
    store: Any
    pipeline_actions: Any
    push_screen: Any
    switch_screen: Any
    notify: Any
    screen: Any
    main: Any
    has_main: bool

    def _docker_source(self, host: str) -> Any:
        from opsdash.model import DockerSnapshot

        return self.poller.source_of(DockerSnapshot, host)

    def show_details(self, container: Container) -> None:
        from opsdash.screens.details import DetailsScreen

        self.push_screen(DetailsScreen(container, self._docker_source(container.host)))

    def show_record(self, record: object) -> None:
        from opsdash.screens.details import RecordScreen

        self.push_screen(RecordScreen(record))

    def show_logs(self, container: Container) -> None:
        from opsdash.screens.log_openers import container_logs_screen, first_options

        source = self._docker_source(container.host)
        options = first_options(getattr(self, "config", None))
        self.push_screen(container_logs_screen(source, container, options))

    def show_project_logs(self, container: Container, *, whole: bool = False) -> None:
        """`L`: the replicas of `container`'s compose service when it has several
        (`L` there widens to the project), else, or with `whole`, every
        container of its compose project; merged by time."""
        from opsdash.messages import ShowProjectLogs
        from opsdash.model import DockerSnapshot
        from opsdash.screens.log_openers import (
            first_options,
            merge_limit,
            project_logs_screen,
            project_members,
            service_replicas,
        )
        from opsdash.screens.logs import LogsScreen

        source = self._docker_source(container.host)
        snapshot = self.poller.data(source.label) if source is not None else None
        listed = snapshot.containers if isinstance(snapshot, DockerSnapshot) else ()
        replicas = [] if whole else service_replicas(container, listed)
        scaled = len(replicas) > 1
        project = container.compose_project
        title = f"{project}/{container.compose_service}" if scaled else project
        members = replicas if scaled else (project_members(container, listed) or [container])
        limit = merge_limit(source)
        if len(members) > limit:
            self.notify(
                f"{title} has {len(members)} containers: "
                f"showing the first {limit} ({'by name' if scaled else 'by service'}).",
                severity="warning",
                timeout=5,
            )
            members = members[:limit]
        options = first_options(getattr(self, "config", None))
        wider = (lambda: ShowProjectLogs(container, whole=True)) if scaled else None
        screen = project_logs_screen(source, project, members, options, title=title, wider=wider)
        if whole and isinstance(self.screen, LogsScreen):
            self.switch_screen(screen)  # wider in place: escape goes back to the table
        else:
            self.push_screen(screen)

    def show_service_logs(self, service: Service) -> None:
        """`L` on a Swarm service: its tasks' lines, merged by the manager."""
        from opsdash.model import DockerSnapshot
        from opsdash.screens.log_openers import first_options, service_logs_screen
        from opsdash.sources.capabilities import ServiceLogs

        source = self.poller.source_of(DockerSnapshot, service.host)
        if not isinstance(source, ServiceLogs):
            self.notify(f"No source here reads the logs of {service.name}.", timeout=4)
            return
        options = first_options(getattr(self, "config", None))
        self.push_screen(service_logs_screen(source, service, options))

    def show_workload(self, workload: KubeWorkload) -> None:
        from opsdash.screens.kube import WorkloadScreen

        self.push_screen(WorkloadScreen(workload, self.feed.cluster_source(workload.context)))

    def show_pod_logs(self, pod: KubePod, container: str = "", *, previous: bool = False) -> None:
        """One container's log; with no container named, the only one there is,
        else the picker asks (for `previous`: among those that restarted)."""
        from opsdash.screens.kube import ContainerPicker, pod_logs_screen

        source = self.feed.cluster_source(pod.context)
        names = pod.crashed if previous else pod.container_names
        if container:
            self.push_screen(pod_logs_screen(source, pod, container, previous=previous))
        elif not names:
            what = "restarted (no previous log)" if previous else "exists"
            self.notify(f"No container of {pod.name} {what}.", severity="warning", timeout=4)
        elif len(names) == 1:
            self.push_screen(pod_logs_screen(source, pod, names[0], previous=previous))
        else:

            def picked(name: str | None) -> None:
                if name:
                    self.push_screen(pod_logs_screen(source, pod, name, previous=previous))

            self.push_screen(ContainerPicker(pod, names, previous=previous), picked)

    def show_run(self, run: PipelineRun) -> None:
        from opsdash.screens.pipeline import RunScreen

        registered = self.feed.registered_by(run)
        self.push_screen(RunScreen(run, self.poller.sources.get(run.source), registered))

    def show_pipelines(self) -> None:
        """`P`: every pipeline the sources list; Enter filters the panel to its runs."""
        from opsdash.screens.pipeline_list import PipelineListScreen

        def picked(pipeline) -> None:
            if pipeline is not None and self.has_main:
                self.main.pipelines_panel.filter_to(pipeline.name)
                self.main.action_panel(3)

        self.push_screen(PipelineListScreen(self.feed.pipeline_definitions()), picked)

    def show_model(self, row: ModelRow) -> None:
        from opsdash.model.ml import ModelsSnapshot
        from opsdash.screens.models import ModelScreen

        snapshot = self.poller.data(row.source)
        versions = snapshot.versions_of(row.model) if isinstance(snapshot, ModelsSnapshot) else ()
        rows = snapshot.rows if isinstance(snapshot, ModelsSnapshot) else ()
        metrics = tuple(dict.fromkeys(r.metric for r in rows if r.model == row.model))
        metrics = metrics or (row.metric,)
        from opsdash.sources.capabilities import ModelRegistry

        registry = isinstance(self.poller.sources.get(row.source), ModelRegistry)
        lineage = self.feed.lineage()
        produced = {v.key: r for v in versions if (r := lineage.run_for(v)) is not None}
        retrain, can_retrain = self.pipeline_actions.retrain_hint(row)
        self.push_screen(
            ModelScreen(
                row,
                versions,
                metrics,
                moves_aliases=registry,
                produced_by=produced,
                retrain=retrain,
                can_retrain=can_retrain,
            )
        )

    def show_service(self, row: ServiceDeployments) -> None:
        from opsdash.model.deployments import DeploymentsSnapshot
        from opsdash.screens.deployments import ServiceScreen

        source = next(
            (self.poller.sources[label] for label in self.feed.labels(DeploymentsSnapshot)), None
        )
        self.push_screen(ServiceScreen(row, source, self.feed.pipeline_runs()))

    def show_audit(self) -> None:
        from opsdash.screens.actions import AuditScreen

        entries = self.store.audit_entries() if self.store is not None else []
        self.push_screen(AuditScreen(entries))

    def action_help(self) -> None:
        from opsdash.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())
