"""Runs sources, keeps their last good data and their health.

UI-free: the TUI calls `run()` from thread workers and re-arms a one-shot timer
with `next_delay()`; `opsdash check` and `snapshot` call `poll_all_once()`.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace
from datetime import datetime, timedelta

from opsdash.model import HealthState, SourceHealth, SourceResult
from opsdash.redact import clip
from opsdash.sources.base import Source, SourceError

MAX_BACKOFF = 30.0


def _now() -> datetime:
    return datetime.now().astimezone()


def describe_error(exc: BaseException) -> str:
    """One line for the user: never a traceback, never a secret, at most 300 characters.

    The one place an error becomes text for the screen, the store and the logs:
    whatever a source put in the message, secrets are masked before the cut.
    """
    text = str(exc) if isinstance(exc, SourceError) else f"{type(exc).__name__}: {exc}"
    return clip(text, 300) or type(exc).__name__


class Poller:
    def __init__(
        self,
        sources: Iterable[Source],
        *,
        max_backoff: float = MAX_BACKOFF,
        clock: Callable[[], datetime] = _now,
    ):
        self.sources: dict[str, Source] = {s.label: s for s in sources}
        self.max_backoff = max_backoff
        self._clock = clock
        self._lock = threading.Lock()
        self._health = {
            label: SourceHealth(source=s.name, kind=s.kind) for label, s in self.sources.items()
        }
        self._data: dict[str, object] = {}
        self._started: dict[str, datetime] = {}

    def add(self, sources: Iterable[Source]) -> list[str]:
        """More sources (the TUI builds them after its first frame); their labels.

        Call from one thread (the UI's); the dict is replaced, never changed in
        place, so a poll worker reading it meanwhile sees the old or the new one."""
        added = [s for s in sources if s.label not in self.sources]
        with self._lock:
            for s in added:
                self._health[s.label] = SourceHealth(source=s.name, kind=s.kind)
        self.sources = {**self.sources, **{s.label: s for s in added}}
        return [s.label for s in added]

    def source_of(self, feeds: type, name: str) -> Source | None:
        """The source called `name` among those whose polls return `feeds`: a
        container names its engine by the engine source's name, not its label."""
        return next(
            (s for s in self.sources.values() if s.name == name and issubclass(s.feeds, feeds)),
            None,
        )

    def run(self, label: str) -> SourceResult:
        """Poll one source now (blocking) and record the outcome."""
        source = self.sources[label]
        started = self._clock()
        with self._lock:
            self._started[label] = started
        t0 = time.perf_counter()
        try:
            data = source.poll()
            error = None
        except Exception as exc:  # noqa: BLE001 - shown to the user in one line
            data, error = None, describe_error(exc)
        return self.record(label, data, error, time.perf_counter() - t0)

    def record(
        self, label: str, data: object | None, error: str | None, latency: float
    ) -> SourceResult:
        finished = self._clock()
        with self._lock:
            self._started.pop(label, None)
            health = self._health[label]
            if error is None:
                self._data[label] = data
                health = replace(
                    health,
                    state=HealthState.OK,
                    message=self.sources[label].health_note(),
                    last_ok=finished,
                    last_attempt=finished,
                    latency_s=latency,
                    failures=0,
                    next_retry=None,
                )
            else:
                failures = health.failures + 1
                health = replace(
                    health,
                    state=HealthState.ERROR,
                    message=error,
                    last_attempt=finished,
                    latency_s=latency,
                    failures=failures,
                    next_retry=finished + timedelta(seconds=self._backoff(label, failures)),
                )
            self._health[label] = health
        return SourceResult(
            source=label, data=data, error=error, latency_s=latency, finished=finished
        )

    def _backoff(self, label: str, failures: int) -> float:
        refresh = self.sources[label].refresh
        return min(refresh * (2 ** min(failures, 10)), max(self.max_backoff, refresh))

    def next_delay(self, label: str) -> float:
        """Seconds until the next poll: the refresh interval, or backoff after errors."""
        with self._lock:
            failures = self._health[label].failures
        return self._backoff(label, failures) if failures else self.sources[label].refresh

    def data(self, label: str) -> object | None:
        with self._lock:
            return self._data.get(label)

    def health(self, label: str) -> SourceHealth:
        """The health, turned STALE when a poll is overdue or hanging."""
        now = self._clock()
        with self._lock:
            health = self._health[label]
            started = self._started.get(label)
        source = self.sources[label]
        if started is not None and (now - started).total_seconds() > source.timeout:
            waited = (now - started).total_seconds()
            return replace(health, state=HealthState.STALE, message=f"no answer for {waited:.0f}s")
        if health.state is HealthState.OK and health.last_ok is not None:
            age = (now - health.last_ok).total_seconds()
            if age > 3 * source.refresh + source.timeout:
                return replace(health, state=HealthState.STALE, message=f"data {age:.0f}s old")
        return health

    def all_health(self) -> list[SourceHealth]:
        return [self.health(label) for label in self.sources]

    def poll_all_once(self, timeout: float | None = None) -> dict[str, SourceResult]:
        """Poll every source concurrently once (for the CLI commands)."""
        results: dict[str, SourceResult] = {}
        if not self.sources:
            return results
        pool = ThreadPoolExecutor(max_workers=min(8, len(self.sources)))
        futures = {label: pool.submit(self.run, label) for label in self.sources}
        for label, future in futures.items():
            limit = timeout if timeout is not None else self.sources[label].timeout + 5
            try:
                results[label] = future.result(timeout=limit)
            except FutureTimeout:
                results[label] = self.record(label, None, f"no answer within {limit:g}s", limit)
        pool.shutdown(wait=False, cancel_futures=True)
        return results

    def close(self) -> None:
        for source in self.sources.values():
            with contextlib.suppress(Exception):
                source.close()
