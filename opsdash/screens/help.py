"""`?`: every key binding with its id, as remapped by the [keys] table.

Bindings are declared where they are used (each screen's and widget's BINDINGS,
with ids); `binding_groups` only lists those classes under the names the help
screen shows. The app's own bindings are handed in, read from the running app,
because importing the app here would close a cycle (the app opens this screen).
`opsdash.keys` validates `[keys]` against the same groups.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from opsdash.safetext import strip_unsafe
from opsdash.screens.actions import AuditScreen, ChoiceScreen, ConfirmScreen, ProgressScreen
from opsdash.screens.deployments import ServiceScreen
from opsdash.screens.details import DetailsScreen
from opsdash.screens.kube import ContainerPicker, WorkloadScreen
from opsdash.screens.logs import LogsScreen
from opsdash.screens.main import MainScreen
from opsdash.screens.models import ModelScreen
from opsdash.screens.pipeline import JobLogScreen, RunScreen
from opsdash.screens.pipeline_list import PipelineListScreen
from opsdash.widgets.cluster_panel import ClusterPanel
from opsdash.widgets.panels import ModelsPanel, PipelinesPanel
from opsdash.widgets.resource_table import KubeTable, ResourceTable

EVERYWHERE = "Everywhere"
LISTS = "Lists"
# Groups on screens that hold a list: the list's bindings are live beside theirs.
WITH_LISTS = {
    "Dashboard",
    "Pipelines",
    "Models",
    "Kubernetes",
    "Kubernetes lists",
    "Pipeline run",
    "Pipeline list",
    "Service deployments",
    "Model",
    "Workload",
}


class HelpScreen(ModalScreen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Close", id="help-close"),
        Binding("q", "app.pop_screen", "Close", show=False, id="help-close-q"),
        Binding("question_mark", "app.pop_screen", "Close", show=False, id="help-close-?"),
    ]

    def compose(self) -> ComposeResult:
        keymap = getattr(self.app, "config", None)
        overrides = keymap.keys if keymap is not None else {}
        table = Table(box=None, padding=(0, 2), show_header=True, header_style="bold")
        table.add_column("Where")
        table.add_column("Keys", style="bold")
        table.add_column("Does")
        table.add_column("Binding id", style="dim")
        for where, bindings in binding_groups(getattr(self.app, "BINDINGS", ())):
            for binding in bindings:
                keys = overrides.get(binding.id or "", binding.key)
                table.add_row(  # plain Text (it wraps), cleaned: a [keys] value is anyone's
                    where,
                    Text(strip_unsafe(_pretty(keys))),
                    Text(strip_unsafe(binding.description)),
                    Text(strip_unsafe(binding.id or "")),
                )
        with VerticalScroll(id="help-box"):
            yield Static(Text("Keys (esc closes; remap any id in the [keys] table)", style="bold"))
            yield Static(table)

    def on_mount(self) -> None:
        self.query_one("#help-box").focus()


def binding_groups(everywhere: Iterable[BindingType]) -> list[tuple[str, list[Binding]]]:
    """Each group's bindings, in the order help shows them; `everywhere` is the app's."""
    moves = [
        Binding("up,down", "", "Move the cursor"),
        Binding("pageup,pagedown", "", "Page up / down"),
    ]

    def bindings(declared: Iterable[BindingType]) -> list[Binding]:
        return [b for b in declared if isinstance(b, Binding)]

    return [
        (EVERYWHERE, bindings(everywhere)),
        ("Dashboard", bindings(MainScreen.BINDINGS)),
        (LISTS, moves + bindings(ResourceTable.BINDINGS)),
        ("Pipelines", bindings(PipelinesPanel.BINDINGS)),
        ("Pipeline run", bindings(RunScreen.BINDINGS)),
        ("Job log", bindings(JobLogScreen.BINDINGS)),
        ("Pipeline list", bindings(PipelineListScreen.BINDINGS)),
        ("Service deployments", bindings(ServiceScreen.BINDINGS)),
        ("Models", bindings(ModelsPanel.BINDINGS)),
        ("Model", bindings(ModelScreen.BINDINGS)),
        ("Kubernetes", bindings(ClusterPanel.BINDINGS)),
        ("Kubernetes lists", bindings(KubeTable.BINDINGS)),
        ("Workload", bindings(WorkloadScreen.BINDINGS)),
        ("Pick a container", bindings(ContainerPicker.BINDINGS)),
        ("Details", bindings(DetailsScreen.BINDINGS)),
        ("Logs", bindings(LogsScreen.BINDINGS)),
        ("Confirm", bindings(ConfirmScreen.BINDINGS)),
        ("Choose", bindings(ChoiceScreen.BINDINGS)),
        ("Progress", bindings(ProgressScreen.BINDINGS)),
        ("Audit", bindings(AuditScreen.BINDINGS)),
        ("Help", bindings(HelpScreen.BINDINGS)),
    ]


def _pretty(keys: str) -> str:
    names = {"slash": "/", "question_mark": "?", "escape": "esc", "colon": ":"}
    return ", ".join(names.get(k.strip(), k.strip()) for k in keys.split(","))
