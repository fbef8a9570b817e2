"""The replay keys, bound on the app: `b` goes back in time from the live
dashboard, `B` returns to live; `[` `]` step, `T` jumps to a time, space plays
and pauses, `+` `-` change the speed (those only while replaying:
`check_action` hides them otherwise).

Light on purpose: the app imports it for its first frame; what replay needs is
imported when a key asks for it (`opsdash.replay_flow`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from textual.binding import Binding

if TYPE_CHECKING:
    from opsdash.app import OpsdashApp
    from opsdash.replay_flow import ReplayFlow

REPLAY_BINDINGS = [
    Binding("b", "replay_back", "Back in time", show=False, id="replay-back"),
    Binding("B", "replay_live", "Back to live", show=False, id="replay-live"),
    Binding("left_square_bracket", "replay_step(-1)", "Earlier", id="replay-earlier"),
    Binding("right_square_bracket", "replay_step(1)", "Later", id="replay-later"),
    Binding("T", "replay_time", "Jump to time", id="replay-time"),
    Binding("space", "replay_play", "Play/pause", id="replay-play"),
    Binding("plus", "replay_speed(1)", "Faster", show=False, id="replay-faster"),
    Binding("minus", "replay_speed(-1)", "Slower", show=False, id="replay-slower"),
]
_REPLAY_ONLY = frozenset({"replay_step", "replay_time", "replay_play", "replay_speed"})
BACK = timedelta(minutes=1)  # how far `b` goes back from the last recorded poll
WINDOW = timedelta(hours=6)  # what `b` reads of the recording (`opsdash replay` for older)


class ReplayKeys:
    """Mixed into the app, before Textual's App (it calls on to its check_action)."""

    replaying: ReplayFlow | None = None
    live_underneath = True  # False in `opsdash replay`: there is no live to return to

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in _REPLAY_ONLY and self.replaying is None:
            return False
        if action == "replay_live" and (self.replaying is None or not self.live_underneath):
            return False
        if action == "replay_back" and self.replaying is None and not self.live_underneath:
            return False
        return super().check_action(action, parameters)  # type: ignore[misc]

    def refused_in_replay(self) -> bool:
        """An action asked for while replaying: refused with a line, as read-only does."""
        if self.replaying is None:
            return False
        back = "; B returns to live" if self.live_underneath else ""
        self.notify(  # type: ignore[attr-defined]
            f"Replay: actions are disabled (these rows are recorded data){back}.",
            severity="warning",
            timeout=4,
        )
        return True

    def action_replay_back(self) -> None:
        if self.replaying is not None:
            self.replaying.step(-1)
            return
        app: OpsdashApp = self  # type: ignore[assignment]
        if app.store is None:
            app.notify("Still starting: nothing to replay yet.", timeout=3)
            return
        from opsdash.replay_flow import ReplayFlow
        from opsdash.replay_timeline import ReplayTimeline, as_local

        timeline = ReplayTimeline(app.store, start=datetime.now().astimezone() - WINDOW)
        if timeline.empty:
            app.notify("Nothing recorded yet to go back to.", timeout=3)
            return
        first, last = as_local(timeline.moments[0]), as_local(timeline.moments[-1])
        ReplayFlow(app, timeline).enter(max(first, last - BACK))

    def action_replay_live(self) -> None:
        if self.replaying is not None:
            self.replaying.leave()

    def action_replay_step(self, steps: int) -> None:
        if self.replaying is not None:
            self.replaying.step(steps)

    def action_replay_time(self) -> None:
        if self.replaying is not None:
            self.replaying.ask_time()

    def action_replay_play(self) -> None:
        if self.replaying is not None:
            self.replaying.toggle_play()

    def action_replay_speed(self, direction: int) -> None:
        if self.replaying is not None:
            self.replaying.faster(direction > 0)
