"""The reference for the startup, idle-output and memory figures: the smallest
Textual app, one Static, nothing polled. Run by benchmarks/run.py in a pty."""

from textual.app import App, ComposeResult
from textual.widgets import Static

READY = "bare textual app ready"


class BareApp(App):
    def compose(self) -> ComposeResult:
        yield Static(READY)


if __name__ == "__main__":
    BareApp().run()
