"""Replay in the running app: the panels show what was recorded at a moment.

Entered from `opsdash replay` or, in the live dashboard, with `b` (back in
time); `B` returns to live. While replaying, the panel feed reads a
`ReplayPoller` instead of the live poller, so the panels are drawn by the very
code that draws live polls; the live sources go on polling (and recording)
behind it. The header says REPLAY and the moment shown, and whose recording
it is when several opsdash recorded into the store. Actions are refused
(`OpsdashApp._refused_while_starting`): the rows are history, not targets.

Keys (`opsdash.replay_keys`, bound on the app): `[` and `]` step to the recorded poll
before or after, `T` jumps to a time, space plays and pauses, `+` and `-`
change the speed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from opsdash.formatting import show_moment
from opsdash.replay_timeline import ReplayPoller, ReplayTimeline, as_local, parse_moment
from opsdash.safetext import strip_unsafe

if TYPE_CHECKING:
    from opsdash.app import OpsdashApp

SPEEDS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


def session_name(session: str) -> str:
    """How replay names a session; '' is what was recorded before sessions were."""
    return strip_unsafe(session) if session else "an older opsdash"


class ReplayFlow:
    def __init__(self, app: OpsdashApp, timeline: ReplayTimeline):
        self.app = app
        self.timeline = timeline
        self.poller = ReplayPoller(timeline)
        self.playing = False
        self.speed = 1

    @property
    def shown_at(self) -> datetime:
        return self.poller.shown_at

    def enter(self, at: datetime | None = None) -> None:
        """The panels show the recording at `at` (the last recorded moment if None)."""
        self.app.feed.poller = self.poller
        self.app.replaying = self
        last = self.timeline.moments[-1] if self.timeline.moments else 0.0
        self.show(at or as_local(last))

    def leave(self) -> None:
        """Back to the live poller: every panel drawn from it again."""
        self.app.replaying = None
        show_moment(None)  # ages count from the clock again
        self.app.feed.poller = self.app.poller
        for feeds in self.app.feed.panels:
            self.app.feed.render(feeds)
        self.app.feed.tick()

    def show(self, at: datetime) -> None:
        self.poller.show(at)
        show_moment(self.shown_at)  # "3m ago" counted from the moment shown, as live drew it
        feed = self.app.feed
        if not self.app.has_main:
            return
        with self.app.batch_update():
            for feeds in feed.panels:
                feed.render(feeds)
            self.draw_header()

    def draw_header(self) -> None:
        if not self.app.has_main:
            return
        refresh = [s.refresh for s in self.poller.sources.values()]
        self.app.main.show_health(
            self.poller.all_health(), self.shown_at, refresh, notice=self.header()
        )

    def header(self) -> str:
        at = self.shown_at.strftime("%Y-%m-%d %H:%M:%S %Z").strip()
        state = f"playing x{self.speed}" if self.playing else f"paused (x{self.speed})"
        if self.timeline.empty:
            return "REPLAY: nothing recorded yet"
        if len(self.timeline.sessions) > 1:
            shown = self.timeline.sessions_at(self.shown_at.timestamp())
            if shown:
                return f"REPLAY {at} {state}, recorded by {', '.join(map(session_name, shown))}"
        return f"REPLAY {at} {state}"

    def tick(self) -> None:
        """Once a second (instead of the live header's tick): play on."""
        if not self.playing:
            self.draw_header()
            return
        at = self.shown_at + timedelta(seconds=self.speed)
        last = as_local(self.timeline.moments[-1]) if self.timeline.moments else at
        if at >= last:
            at, self.playing = last, False
        self.show(at)

    # --- keys ----------------------------------------------------------------

    def step(self, steps: int) -> None:
        moment = self.timeline.step(self.shown_at.timestamp(), steps)
        if moment is None:
            self.app.notify("Nothing recorded yet.", timeout=3)
            return
        self.show(as_local(moment))

    def toggle_play(self) -> None:
        self.playing = not self.playing
        self.draw_header()

    def faster(self, up: bool) -> None:
        i = SPEEDS.index(self.speed) + (1 if up else -1)
        self.speed = SPEEDS[max(0, min(len(SPEEDS) - 1, i))]
        self.draw_header()

    def ask_time(self) -> None:
        from opsdash.screens.actions import AskScreen

        def given(value: str | None) -> None:
            if not value:
                return
            try:
                moment = parse_moment(value, self.shown_at)
            except ValueError as exc:
                self.app.notify(f"Replay: {exc}", severity="warning", timeout=5)
                return
            self.show(moment)

        self.app.push_screen(
            AskScreen(
                "Jump to a time",
                "A time: 03:12, 2026-12-03T03:12:00Z, or how long ago (15m, 2h)",
                self.shown_at.strftime("%H:%M:%S"),
            ),
            given,
        )
