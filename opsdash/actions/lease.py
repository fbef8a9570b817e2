"""The store's lease on an action's target, held for as long as the action runs.

`TargetLease.take` claims it (or says who holds it); while held, a daemon
thread renews it every third of the store's `lease_timeout`, so a live action
keeps it however long it takes and a dead opsdash's lease expires; `release`
stops the renewing and deletes it. The local busy set (`ActionRunner`) still
refuses a second action of this very opsdash before the store is asked.

A lease's token names its machine and process, so an opsdash restarted after a
crash takes over its dead predecessor's lease at once (and recovery sees the
interrupted action) instead of waiting for the timeout: only a holder on
another machine is trusted to be alive until its lease expires.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from datetime import datetime

from opsdash.actions.engine_marks import pid_alive
from opsdash.eventlog import event
from opsdash.store import Lease, Store, StoreError


def dead_here(lease: Lease) -> bool:
    """Its holder was a process of this machine that is gone."""
    parts = lease.token.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return False
    machine, pid, _random = parts
    return machine == socket.gethostname() and not pid_alive(int(pid))


def busy_reason(target: str, lease: Lease) -> str:
    """The refusal: who acts on the target and since when."""
    try:
        since = datetime.fromisoformat(lease.since).strftime("%Y-%m-%d %H:%M:%S %z").strip()
    except ValueError:
        since = lease.since
    return f"an action on {target} is already running (by {lease.holder} since {since})"


class TargetLease:
    """One action's lease on `key` in `store`, renewed until released."""

    def __init__(self, store: Store, key: str, holder: str, service: str = ""):
        self.store = store
        self.key = key
        self.service = service
        self.holder = holder
        # This action's own: only it renews or releases; machine and pid say who.
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def take(self) -> Lease | None:
        """None when taken (and renewing from now on), else the lease that holds
        the target. StoreError when the store cannot be written."""
        held = self.store.take_lease(self.key, self.holder, self.token, service=self.service)
        if held is not None and dead_here(held):
            held = self.store.take_lease(
                self.key, self.holder, self.token, service=self.service, replacing=held.token
            )
        if held is not None:
            return held
        self._thread = threading.Thread(target=self._renew, name=f"lease {self.key}", daemon=True)
        self._thread.start()
        return None

    def _renew(self) -> None:
        interval = max(1.0, self.store.lease_timeout / 3)
        while not self._stop.wait(interval):
            try:
                if not self.store.renew_lease(self.key, self.token):
                    event(f"lease on {self.key} lost: another opsdash took it", warning=True)
                    return
            except StoreError as exc:  # the next renewal tries again, before expiry
                event(f"lease on {self.key} not renewed: {exc}", warning=True)

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            self.store.release_lease(self.key, self.token)
        except StoreError as exc:  # it expires after its timeout instead
            event(f"lease on {self.key} not released: {exc}", warning=True)
