"""`opsdash replay`: the dashboard on recorded data only.

The same app as live, without live sources: once its (empty) live polling has
started, a `ReplayFlow` takes the panels to the recorded moment asked for.
Read-only throughout; `B` (back to live) and `b` are off, as there is no live
dashboard underneath.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from opsdash.app import OpsdashApp
from opsdash.config import Config
from opsdash.poller import Poller
from opsdash.replay_timeline import ReplayTimeline


class ReplayApp(OpsdashApp):
    TITLE = "opsdash replay"
    live_underneath = False

    def __init__(
        self, config: Config, store: Any, timeline: ReplayTimeline, at: datetime | None = None
    ):
        super().__init__(replace(config, read_only=True), Poller([]), store=store)
        self.timeline = timeline
        self.start_at = at

    def _start_polling(self, labels: list[str]) -> None:
        from opsdash.replay_flow import ReplayFlow

        super()._start_polling(labels)
        ReplayFlow(self, self.timeline).enter(self.start_at)


def matching_labels(recorded: Sequence[str], names: Sequence[str]) -> tuple[list[str], list[str]]:
    """The recorded labels `names` pick (a label, `docker:local`, or a name, `local`),
    and the names that pick none."""
    picked: list[str] = []
    unknown: list[str] = []
    for name in names:
        found = [lb for lb in recorded if name in (lb, lb.partition(":")[2])]
        if not found:
            unknown.append(name)
        picked += [lb for lb in found if lb not in picked]
    return picked, unknown


def run_replay(config: Config, at_text: str | None, names: Sequence[str]) -> int:
    from opsdash.replay_timeline import parse_moment
    from opsdash.safetext import strip_unsafe
    from opsdash.store import open_store
    from opsdash.store.recording import recorded_sources

    at = None
    if at_text:
        try:
            at = parse_moment(at_text)
        except ValueError as exc:
            print(f"opsdash: replay --at: {exc}", file=sys.stderr)
            return 2
    # The configured store: with [store] url on PostgreSQL, what any opsdash of
    # the team recorded (a teammate replays the on-call engineer's session).
    store = open_store(config.store)
    try:
        recorded = recorded_sources(store)
        labels, unknown = matching_labels(recorded, names)
        if unknown:
            shown = ", ".join(strip_unsafe(n) for n in unknown)
            print(
                f"opsdash: replay --source: nothing recorded of {shown}"
                f" (recorded: {', '.join(recorded) or 'nothing'})",
                file=sys.stderr,
            )
            return 2
        timeline = ReplayTimeline(store, labels)
        if timeline.empty:
            print(
                "opsdash: replay: nothing recorded yet (the dashboard records every poll"
                " unless [record] enabled = false)",
                file=sys.stderr,
            )
            return 1
        app = ReplayApp(config, store, timeline, at)
        app.run()
        return app.return_code or 0
    finally:
        store.close()
