"""Panel 6: the workloads and pods of every Kubernetes context, in one list.

One panel, two tables (workloads, pods), one shown at a time: the `:` prompt
picks the resource, a kind, a namespace and a context (`opsdash.views.kube_prompt`
parses it). The panel keeps every context's snapshot and filters them here, so
switching views costs no poll. Its own keys are the ones only Kubernetes rows
have (scale, set image, delete a pod, a crashed container's previous log);
Enter, `l`, `R` and `u` go by the selected row's type in `MainScreen`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.suggester import Suggester
from textual.widgets import Input

from opsdash.messages import ClusterAction, ShowPodLogs
from opsdash.model import SourceHealth
from opsdash.model.kube import ClusterSnapshot, KubePod, KubeWorkload, RolloutState
from opsdash.safetext import literal, strip_unsafe
from opsdash.views.kube import POD_COLUMNS, WORKLOAD_COLUMNS, pod_search_text, workload_search_text
from opsdash.views.kube_prompt import PODS, WORKLOADS, KubeView, apply_command, prompt_words
from opsdash.widgets.literal_input import LiteralInput
from opsdash.widgets.panels import FilterInput, Panel, status_line
from opsdash.widgets.quiet_static import QuietStatic
from opsdash.widgets.resource_table import KubeTable, ResourceTable
from opsdash.widgets.when_seen import when_seen


class _Words(Suggester):
    """Completes from a list that grows as namespaces are seen (no cache); the
    words are cleaned, since a namespace is the cluster's text."""

    def __init__(self, words: Callable[[], list[str]]):
        super().__init__(use_cache=False, case_sensitive=False)
        self.words = words

    async def get_suggestion(self, value: str) -> str | None:
        for word in self.words():
            if word.casefold().startswith(value) and word.casefold() != value:
                return strip_unsafe(word)
        return None


class ResourcePrompt(LiteralInput):
    """The `:` line: `deploy`, `sts`, `ds`, `pods`, `ns NAME`, `ctx NAME`."""

    def __init__(self, words: Callable[[], list[str]], **kwargs):
        super().__init__(
            placeholder="deploy, sts, ds, pods, workloads, ns NAME, ctx NAME (esc closes)",
            suggester=_Words(words),
            **kwargs,
        )

    def complete(self) -> bool:
        """Take the suggestion shown (tab); False when there is none."""
        suggestion = self._suggestion
        if not suggestion or suggestion == self.value:
            return False
        self.value = suggestion
        self.cursor_position = len(self.value)
        return True


AGES_EVERY = 30.0  # seconds: how often unchanged rows are redrawn (their AGE moves)


class ClusterPanel(Panel):
    """Workloads or pods of every configured context; CONTEXT shows when there are several."""

    FEEDS = ClusterSnapshot
    NOUN = "Kubernetes context"
    BINDINGS = [
        Binding("s", "cluster('scale')", "Scale", id="kube-scale"),
        Binding("i", "cluster('set-image')", "Set image", id="kube-set-image"),
        Binding("x", "cluster('delete')", "Delete pod", id="kube-delete"),
        Binding("p", "previous_log", "Previous log", id="kube-previous-log"),
    ]
    # Which rows each of the panel's actions takes.
    TAKES: dict[str, type] = {
        "scale": KubeWorkload,
        "set-image": KubeWorkload,
        "delete": KubePod,
    }

    def __init__(self, number: int, *, id: str):
        super().__init__(number, id=id)
        self.view = KubeView()
        self.snapshots: list[ClusterSnapshot] = []
        self.multi_context = False
        self._problems: Sequence[SourceHealth] = ()
        self._configured = True
        self._drawn_at = float("-inf")

    def compose(self) -> ComposeResult:
        yield QuietStatic(id="kube-status", classes="panel-status", hide_empty=True)
        yield ResourcePrompt(self._words, id="kube-prompt", classes="prompt")
        yield FilterInput("kube-workloads-table", id="kube-workloads-filter", classes="filter")
        yield FilterInput("kube-pods-table", id="kube-pods-filter", classes="filter")
        yield KubeTable(WORKLOAD_COLUMNS, workload_search_text, id="kube-workloads-table")
        yield KubeTable(POD_COLUMNS, pod_search_text, id="kube-pods-table")

    def on_mount(self) -> None:
        self._redraw()
        self.show_message(Text("Waiting for the first poll…", style="dim"))

    # --- what it holds --------------------------------------------------------

    @property
    def contexts(self) -> list[str]:
        return list(dict.fromkeys(s.context for s in self.snapshots))

    @property
    def namespaces(self) -> list[str]:
        seen = [n for s in self.snapshots for n in s.namespaces]
        seen += [r.namespace for s in self.snapshots for r in (*s.workloads, *s.pods)]
        return sorted(set(seen))

    def _words(self) -> list[str]:
        return prompt_words(self.contexts, self.namespaces)

    @property
    def table(self) -> ResourceTable:
        """The table in view."""
        name = "pods" if self.view.resource == PODS else "workloads"
        return self.query_one(f"#kube-{name}-table", ResourceTable)

    @property
    def prompt(self) -> ResourcePrompt:
        return self.query_one(ResourcePrompt)

    @property
    def focus_targets(self) -> list:
        return [self.table]

    @property
    def selected(self) -> KubeWorkload | KubePod | None:
        record = self.table.selected
        return record if isinstance(record, KubeWorkload | KubePod) else None

    # --- data in --------------------------------------------------------------

    @when_seen
    def update_data(
        self,
        snapshots: Sequence[ClusterSnapshot],
        *,
        problems: Sequence[SourceHealth],
        configured: bool,
        multi_context: bool,
    ) -> None:
        snapshots = list(snapshots)
        now = time.monotonic()
        same = (
            len(snapshots) == len(self.snapshots)
            and all(a is b for a, b in zip(snapshots, self.snapshots, strict=True))
            and list(problems) == list(self._problems)
            and (configured, multi_context) == (self._configured, self.multi_context)
        )
        # A source hands back the very same snapshot while nothing changed: 5,000
        # rows are not compared again then, only their ages now and then.
        if same and now - self._drawn_at < AGES_EVERY:
            return
        self.snapshots = snapshots
        self.multi_context = multi_context
        self._problems = problems
        self._configured = configured
        self._drawn_at = now
        self._redraw()

    def _redraw(self) -> None:
        view = self.view
        hidden = set() if self.multi_context else {"context"}
        # Failed rollouts are said in the pods view too: the pods are why.
        scope = replace(view, resource=WORKLOADS, kind=None)
        failing = [
            w
            for s in self.snapshots
            for w in s.workloads
            if w.rollout is RolloutState.FAILED and scope.shows(w)
        ]
        # Only the table in view is drawn: the other is drawn when the prompt
        # switches to it (each redraw renders every row's cells).
        if view.resource == PODS:
            table = self.query_one("#kube-pods-table", ResourceTable)
            records = [p for s in self.snapshots for p in s.pods if view.shows(p)]
        else:
            table = self.query_one("#kube-workloads-table", ResourceTable)
            records = [w for s in self.snapshots for w in s.workloads if view.shows(w)]
        table.set_hidden_columns(hidden)
        table.update_records(records)
        self.set_class(view.resource == PODS, "-pods")
        self.set_class(view.resource != PODS, "-workloads")
        self.border_title = literal(f"{self.number} Kubernetes · {view.title()}")
        self._show_status(failing)

    def _show_status(self, failing: Sequence[KubeWorkload]) -> None:
        if not self._configured:
            self.show_message(Text(self.not_configured, style="yellow"))
            return
        text = status_line(self._problems)
        for w in failing:
            if text:
                text.append("\n")
            text.append_text(literal(f"{w.ref} ({w.namespace}) failed: ", "bold red"))
            text.append_text(literal(w.rollout_message or "rollout failed", "red"))
        for note in dict.fromkeys(n for s in self.snapshots for n in s.notes):
            if text:
                text.append("\n")
            text.append_text(literal(note, "dim"))
        self.show_message(text or None)

    def show_message(self, message: Text | None) -> None:
        self.query_one("#kube-status", QuietStatic).show(message)

    # --- the prompt -----------------------------------------------------------

    def open_prompt(self) -> ResourcePrompt:
        prompt = self.prompt
        prompt.value = ""
        prompt.add_class("-visible")
        return prompt

    def close_prompt(self) -> None:
        self.prompt.value = ""
        self.prompt.remove_class("-visible")
        self.table.focus()

    def set_view(self, view: KubeView) -> None:
        self.view = view
        self._redraw()

    @on(Input.Submitted, "#kube-prompt")
    def _command(self, event: Input.Submitted) -> None:
        event.stop()
        view, error = apply_command(self.view, event.value, self.contexts)
        if error:
            self.notify(error, severity="warning", timeout=4)
        else:
            self.set_view(view)
        self.close_prompt()

    # --- keys -----------------------------------------------------------------

    def action_cluster(self, action: str) -> None:
        record = self.selected
        wanted = self.TAKES[action]
        if not isinstance(record, wanted):
            what = "a workload" if wanted is KubeWorkload else "a pod (:pods)"
            self.notify(f"{action}: select {what} first.", severity="warning", timeout=3)
            return
        self.post_message(ClusterAction(action, record))

    def action_previous_log(self) -> None:
        record = self.selected
        if not isinstance(record, KubePod):
            self.notify("Select a pod first (:pods).", severity="warning", timeout=3)
            return
        self.post_message(ShowPodLogs(record, previous=True))
