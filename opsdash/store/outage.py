"""A shared store that is away: its history and audit writes go to the local
spool (`opsdash.store.spool`) and are flushed, in order, once it is back.

While the spool holds anything, new writes queue behind it (so they reach
PostgreSQL in the order they were made); the flush runs in the backend's
reconnect thread (or, for a spool left by an opsdash that stopped during an
outage, in a thread of its own at start), one row per PostgreSQL transaction
with its key in `spool_flushed`, so a flush cut short counts nothing twice.
Actions are refused meanwhile: they need their journal and lease, which
cannot wait. Mixed into `Store`, which owns the connection and its lock.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Sequence
from typing import Any

from opsdash.store.backend import Backend
from opsdash.store.spool import Spool

FLUSH_BATCH = 200


class OutageWrites:
    _lock: Any
    _backend: Backend
    _spool: Spool | None = None
    path: Any
    problem: str | None

    def attach_spool(self, spool: Spool) -> None:
        """Queue writes in `spool` while the backend is away; flush it when the
        backend (re)connects, and now if it holds rows left from before."""
        self._spool = spool
        self._flush_lock = threading.Lock()
        self.flushed = 0  # rows written from the spool (tests, benchmarks)
        callbacks = getattr(self._backend, "on_connected", None)
        if callbacks is not None:
            callbacks.append(self.flush_spool)
        if spool.count and getattr(self._backend, "connected", False):
            threading.Thread(
                target=self.flush_spool, name="opsdash-spool-flush", daemon=True
            ).start()

    @property
    def queued(self) -> int:
        return self._spool.count if self._spool is not None else 0

    def _away(self) -> bool:
        """Writes go to the spool now (callers hold the lock)."""
        spool = self._spool
        return spool is not None and (
            spool.count > 0 or not getattr(self._backend, "connected", True)
        )

    def _unreachable(self) -> bool:
        return self._spool is not None and not getattr(self._backend, "connected", True)

    def _queue(self, sql: str, params: Sequence[Any]) -> int:
        """One cleaned write into the spool; 1 as if written (0 when full)."""
        assert self._spool is not None
        if self._unreachable():
            self._say_unreachable()
        return 1 if self._spool.add(sql, list(params)) else 0

    def _say_unreachable(self) -> None:
        reason = getattr(self._backend, "reason", "") or "the connection was lost"
        self.problem = (
            f"the store is unreachable: {reason} ({self.path}); writes are queued"
            " locally until it is back, actions are refused"
        )

    @property
    def store_state(self) -> str:
        """ "ok", "reconnecting" (away, writes queued) or "flushing" (back, queue draining)."""
        if self._spool is None:
            return "ok"
        if self._unreachable():
            return "reconnecting"
        return "flushing" if self._spool.count else "ok"

    def outage_notice(self) -> str | None:
        state = self.store_state
        if state == "reconnecting":
            return f"store: reconnecting ({self.queued} queued)"
        if state == "flushing":
            return f"store: flushing ({self.queued} queued)"
        return None

    def flush_spool(self) -> int:
        """Write the spool into the backend, oldest first, until it is empty or the
        backend is away again; the rows written (not those already there)."""
        spool = self._spool
        if spool is None or not self._flush_lock.acquire(blocking=False):
            return 0
        written = 0
        try:
            while batch := spool.oldest(FLUSH_BATCH):
                for item in batch:
                    with self._lock:
                        outcome = self._flush_one(item.key, item.sql, item.params)
                        if outcome is None:
                            return written
                        spool.done(item.id)
                        written += outcome
            with self._lock:
                if not self._unreachable():
                    self.problem = None
            return written
        finally:
            self.flushed += written
            self._flush_lock.release()

    def _flush_one(self, key: str, sql: str, params: list[Any]) -> int | None:
        """1 written, 0 already there (or refused for good), None: away again."""
        backend = self._backend
        try:
            backend.execute(backend.begin)
            fresh = backend.execute(
                "INSERT INTO spool_flushed(key, at) VALUES (?, ?) ON CONFLICT DO NOTHING",
                (key, time.time()),
            ).rowcount
            if fresh == 1:
                backend.execute(sql, params)
            backend.execute("COMMIT")
            return 1 if fresh == 1 else 0
        except backend.errors:
            if backend.in_transaction:
                with contextlib.suppress(*backend.errors):
                    backend.execute("ROLLBACK")
            if not getattr(backend, "connected", True):
                return None
            return 0  # PostgreSQL refuses this row for good: it goes, the rest follow
