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
from opsdash.safetext import strip_unsafe


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


def matching_session(recorded: Sequence[str], text: str) -> tuple[str | None, str]:
    """The one recorded session id that holds `text` (or whose name as listed
    does: "an older opsdash" picks what was recorded before sessions), or None
    and why not."""
    from opsdash.replay_flow import session_name

    found = [s for s in recorded if text in s or (not s and text in session_name(s))]
    if len(found) == 1:
        return found[0], ""
    if not found:
        known = "; ".join(session_name(s) for s in recorded) or "nothing"
        return None, f"no recorded session holds {text!r} (recorded: {known})"
    shown = "; ".join(session_name(s) for s in found)
    return None, f"{len(found)} sessions hold {text!r}, say which: {shown}"


def print_sessions(store: Any) -> None:
    """`opsdash replay --sessions`: one line per recorded session."""
    from opsdash.replay_flow import session_name
    from opsdash.replay_timeline import as_local
    from opsdash.store.recording import recorded_sessions

    found = recorded_sessions(store)
    if not found:
        print("nothing recorded yet")
        return
    for s in found:
        first = as_local(s.first).strftime("%Y-%m-%d %H:%M:%S")
        last = as_local(s.last).strftime("%Y-%m-%d %H:%M:%S %Z").strip()
        sources = ", ".join(strip_unsafe(n) for n in s.sources)
        print(f"{session_name(s.session)}  {first} .. {last}  {sources}")


def run_replay(
    config: Config,
    at_text: str | None,
    names: Sequence[str],
    *,
    session: str | None = None,
    list_sessions: bool = False,
) -> int:
    from opsdash.replay_timeline import parse_moment
    from opsdash.store import open_store
    from opsdash.store.recording import recorded_sessions, recorded_sources

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
        if list_sessions:
            print_sessions(store)
            return 0
        picked = None
        if session is not None:
            picked, why = matching_session([s.session for s in recorded_sessions(store)], session)
            if picked is None:
                print(f"opsdash: replay --session: {strip_unsafe(why)}", file=sys.stderr)
                return 2
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
        timeline = ReplayTimeline(store, labels, session=picked)
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
