"""Leases: one action at a time on a target across every opsdash on one store.

An action takes its target's lease before it starts (one statement: insert,
or take over a lease that has expired), renews it while it runs and deletes
it at its end. A second opsdash (another engineer, or another terminal) finds
the lease and is refused with who holds it and since when. A holder that dies
stops renewing, and its lease expires after the timeout.

Times: `since` is the holder's local time (ISO 8601, what the refusal shows);
`expires` is seconds since the epoch by the store's clock (`Backend.now`, the
database server's for PostgreSQL), so machines whose clocks disagree still
agree on expiry. Every method takes `now` so a test drives the clock.
Mixed into `Store`, which owns the connection and its lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from opsdash.store.backend import Backend

LEASE_TIMEOUT_S = 120.0  # [store] lease_timeout: how long a dead holder blocks a target


@dataclass(frozen=True, slots=True)
class Lease:
    target: str  # the action's key: host/kind/target
    holder: str  # user@host of the opsdash acting on it
    since: str  # ISO 8601, when it took the lease
    expires: float  # seconds since the epoch, by the store's clock
    token: str = ""  # its holder's own (the runner's: machine:pid:random)
    service: str = ""  # the service the action changes (its deploy is its to record)


class LeaseTables:
    """Queries on `action_leases`."""

    _lock: Any
    _backend: Backend
    lease_timeout: float

    def _write(self, sql: str, params: Sequence[Any] = ()) -> Any:
        raise NotImplementedError

    def _read_locked(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        raise NotImplementedError

    def _clock(self, now: float | None) -> float:
        """`now`, else the store's clock (callers hold the lock: it is a query)."""
        return self._backend.now() if now is None else now

    def take_lease(
        self,
        target: str,
        holder: str,
        token: str,
        *,
        service: str = "",
        replacing: str = "",
        now: float | None = None,
    ) -> Lease | None:
        """Take `target`'s lease for `token` (one action's own); None when taken,
        else the live lease someone else holds. `replacing`: a live lease's token
        that may be taken over all the same (its holder is known to be dead).
        StoreError if it cannot be written."""
        since = datetime.now().astimezone().isoformat(timespec="seconds")
        with self._lock:
            moment = self._clock(now)
            taken = self._write(
                "INSERT INTO action_leases(target, service, holder, token, since, expires)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(target) DO UPDATE SET"
                " service = excluded.service, holder = excluded.holder,"
                " token = excluded.token, since = excluded.since, expires = excluded.expires"
                " WHERE action_leases.expires <= ? OR action_leases.token = ?",
                (
                    target,
                    service,
                    holder,
                    token,
                    since,
                    moment + self.lease_timeout,
                    moment,
                    replacing or token,
                ),
            ).rowcount
        if taken:
            return None
        held = self.lease(target, now=moment)
        # Released between the two statements: say who had it rather than try again.
        return held or Lease(target, "another opsdash", since, moment)

    def lease(self, target: str, *, now: float | None = None) -> Lease | None:
        """The live lease on `target`, or None (none, or expired)."""
        with self._lock:
            rows = self._read_locked(
                "SELECT target, holder, since, expires, token, service FROM action_leases"
                " WHERE target = ? AND expires > ?",
                (target, self._clock(now)),
            )
        if not rows:
            return None
        target, holder, since, expires, token, service = rows[0]
        return Lease(target, holder, since, float(expires), token, service)

    def leases(self, *, now: float | None = None) -> list[Lease]:
        """Every live lease: the targets (and services) some opsdash on this
        store is acting on now."""
        with self._lock:
            rows = self._read_locked(
                "SELECT target, holder, since, expires, token, service FROM action_leases"
                " WHERE expires > ? ORDER BY target",
                (self._clock(now),),
            )
        return [Lease(t, h, s, float(e), tok, svc) for t, h, s, e, tok, svc in rows]

    def renew_lease(self, target: str, token: str, *, now: float | None = None) -> bool:
        """Push the expiry on; False when the lease is no longer this token's."""
        with self._lock:
            return (
                self._write(
                    "UPDATE action_leases SET expires = ? WHERE target = ? AND token = ?",
                    (self._clock(now) + self.lease_timeout, target, token),
                ).rowcount
                == 1
            )

    def release_lease(self, target: str, token: str) -> None:
        with self._lock:
            self._write("DELETE FROM action_leases WHERE target = ? AND token = ?", (target, token))
