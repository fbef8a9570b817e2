"""The reference for the key-latency figure: the smallest Textual app with a
DataTable of 1,000 rows (as many as opsdash's largest benchmark count), row
cursor, `j` bound to cursor down as opsdash's tables bind it, nothing polled.
Run by benchmarks/key_latency.py in a pty."""

import sys

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 1000


class BareTable(DataTable):
    BINDINGS = [Binding("j", "cursor_down", "Down", show=False)]


class BareTableApp(App):
    def compose(self) -> ComposeResult:
        yield BareTable(cursor_type="row")

    def on_mount(self) -> None:
        table = self.query_one(BareTable)
        table.add_columns("name", "status", "cpu", "memory")
        table.add_rows((f"row-{i:04d}", "running", "0.0 %", "1.0 MiB") for i in range(ROWS))
        table.focus()


if __name__ == "__main__":
    BareTableApp().run()
