"""Which DAG runs a poll asks Airflow for, so an unchanged Airflow costs one
small request instead of every run again.

The first poll lists the newest `size` runs. Later polls ask only for runs
whose row changed since the previous answer (``updated_at_gte``: a state
change, a clear, a new run), from the server's own clock (its ``Date``
header, less a margin), and merge them in. Every `full_every` polls the list
is read whole again, which also drops deleted runs. Pure bookkeeping: the
source makes the requests.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from opsdash.sources.airflow_map import run_sort_key

MARGIN = timedelta(seconds=3)  # the Date header has whole seconds; requests overlap
FULL_EVERY = 20  # polls between two whole reads


class RunWindow:
    """The newest `size` DAG runs as last seen, keyed by (dag_id, dag_run_id)."""

    def __init__(self, size: int, full_every: int = FULL_EVERY):
        self.size = size
        self.full_every = full_every
        self.polls = 0
        self.since: datetime | None = None  # server time the next delta starts at
        self._runs: dict[tuple[str, str], Mapping[str, Any]] = {}

    def wants_full(self) -> bool:
        return self.since is None or self.polls % self.full_every == 0

    def delta_from(self) -> str:
        """The `updated_at_gte` of the next delta request (ISO 8601, UTC)."""
        assert self.since is not None
        return (self.since - MARGIN).isoformat().replace("+00:00", "Z")

    def take(self, runs: Iterable[Mapping[str, Any]], server_now: datetime | None, full: bool):
        """Merge one answer: a whole list replaces what was seen, a delta updates it."""
        if full:
            self._runs = {}
        for run in runs:
            key = (str(run.get("dag_id", "")), str(run.get("dag_run_id") or run.get("run_id")))
            self._runs[key] = run
        newest = sorted(self._runs.items(), key=lambda item: run_sort_key(item[1]), reverse=True)
        self._runs = dict(newest[: self.size])
        self.polls += 1
        if server_now is not None:
            self.since = server_now
        elif full:
            self.since = None  # no server clock: read whole again next time

    def reset(self) -> None:
        """Forget the watermark (the server was replaced, or a filter changed)."""
        self.since = None

    @property
    def runs(self) -> list[Mapping[str, Any]]:
        return list(self._runs.values())
