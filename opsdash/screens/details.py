"""Container details (inspect), fetched in a worker; environment values masked."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from opsdash.formatting import age, shown_now
from opsdash.messages import ShowLogs
from opsdash.model import ContainerDetails
from opsdash.safetext import literal
from opsdash.views.containers import container_uptime

MASK = "••••••"


def _section(title: str, rows: list[tuple[str | Text, Any]]) -> Group:
    """A titled block; the title sits above the grid so it never wraps to its width."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in rows:
        key_text = key if isinstance(key, Text) else literal(key)
        value_text = value if isinstance(value, Text) else literal(value)
        value_text.no_wrap = False
        value_text.overflow = "fold"
        table.add_row(key_text, value_text)
    if not rows:
        table.add_row(Text("none", style="dim"), "")
    return Group(Text(title, style="bold underline"), table)


def render_details(d: ContainerDetails, now: datetime) -> Group:
    c = d.container
    general = [
        ("Name", c.name),
        ("Id", c.id[:12]),
        ("Host", c.host),
        ("Image", c.image),
        ("Image id", d.image_id),
        ("Digest", ", ".join(d.image_digests) or "none (built or imported locally)"),
        ("State", f"{c.state} ({container_uptime(c, now)})"),
        ("Health", c.health or "no healthcheck"),
        (
            "Created",
            f"{c.created:%Y-%m-%d %H:%M:%S} ({age(c.created, now)} ago)" if c.created else "-",
        ),
        ("Restarts", str(c.restart_count)),
        ("Restart policy", d.restart_policy),
        ("Entrypoint", " ".join(d.entrypoint) or "-"),
        ("Command", " ".join(d.command) or "-"),
        ("Working dir", d.working_dir or "-"),
        ("User", d.user or "-"),
    ]
    if c.compose_project:
        general.append(("Compose", f"{c.compose_project} / {c.compose_service}"))
    return Group(
        _section("Container", general),
        Text(""),
        _section("Ports", [(str(p), "") for p in c.ports]),
        Text(""),
        _section("Networks", [(name, ip or "-") for name, ip in d.networks]),
        Text(""),
        _section(
            "Mounts",
            [
                (m.destination, f"{m.type} {m.source} ({'rw' if m.read_write else 'ro'})")
                for m in d.mounts
            ],
        ),
        Text(""),
        _section(
            "Environment (values hidden)", [(name, Text(MASK, style="dim")) for name in d.env_names]
        ),
        Text(""),
        _section("Labels", list(c.labels)),
        Text(""),
        _section(
            "Health log",
            [
                (
                    probe.start[:19],
                    f"exit {probe.exit_code}" + (f": {probe.output}" * bool(probe.output)),
                )
                for probe in d.health_log
            ],
        ),
    )


class DetailsScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="back"),
        Binding("q", "app.pop_screen", "Back", show=False, id="back-q"),
        Binding("l", "logs", "Logs", id="details-logs"),
    ]

    def __init__(self, container, source):
        super().__init__()
        self.container = container
        self.source = source

    def compose(self) -> ComposeResult:
        yield Static(literal(f"Details: {self.container.name}", "bold"), classes="screen-title")
        with VerticalScroll(id="details-scroll"):
            yield Static(Text("Loading…", style="dim"), id="details-body")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#details-scroll").focus()
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def load(self) -> None:
        try:
            if self.source is None:
                raise RuntimeError("its Docker source is not configured")
            details = self.source.details(self.container.id)
            body: Any = render_details(details, shown_now())
        except Exception as exc:  # noqa: BLE001 - shown to the user in one line
            body = Text("Could not load details: ", style="red bold") + literal(exc)
        self.app.call_from_thread(self._show, body)

    def _show(self, body: Any) -> None:
        if self.is_attached:
            self.query_one("#details-body", Static).update(body)

    def action_logs(self) -> None:
        self.post_message(ShowLogs(self.container))


class RecordScreen(Screen):
    """Fields of any other record (e.g. a Swarm service)."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="back"),
        Binding("q", "app.pop_screen", "Back", show=False, id="back-q"),
    ]

    def __init__(self, record: object):
        super().__init__()
        self.record = record

    def compose(self) -> ComposeResult:
        name = getattr(self.record, "name", type(self.record).__name__)
        yield Static(literal(f"Details: {name}", "bold"), classes="screen-title")
        rows = [
            (
                f.name,
                "" if getattr(self.record, f.name) is None else str(getattr(self.record, f.name)),
            )
            for f in fields(self.record)
        ]  # type: ignore[arg-type]
        with VerticalScroll(id="details-scroll"):
            yield Static(_section(type(self.record).__name__, rows))
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#details-scroll").focus()
