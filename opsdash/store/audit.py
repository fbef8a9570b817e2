"""The audit log and the journal of running actions: the store's tables an
action cannot run without.

An action's audit row is written when it is confirmed, each step goes into
the journal before it runs, and the outcome at its end; `unfinished_actions`
is what the next start finds when opsdash was killed between. Unlike the
history tables, a failed write here raises `StoreError`, so that no action
runs unaudited. Mixed into `Store`, which owns the connection and its lock.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Sequence
from dataclasses import astuple
from datetime import datetime
from typing import Any

from opsdash.store.backend import Backend
from opsdash.store.rows import AuditEntry, JournalRow

_AUDIT_COLUMNS = (
    "at, actor, action, kind, target, host, old_image, old_digest, new_image, new_digest,"
    " result, duration_s, error"
)


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


class AuditTables:
    """Queries on `audit`, `action_steps` and `action_journal`."""

    _lock: Any  # the connection's lock, held around each write
    _backend: Backend

    def _write(self, sql: str, params: Sequence[Any] = ()) -> Any:
        raise NotImplementedError

    def _insert(self, sql: str, params: Sequence[Any]) -> int:
        raise NotImplementedError

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        raise NotImplementedError

    # From `OutageWrites` (a shared store that is away): _away, _unreachable, _queue.
    _away: Any
    _unreachable: Any
    _queue: Any
    _cleaned: Any  # the store's: parameters without secrets or escape sequences

    # --- audit log -------------------------------------------------------------

    def add_audit(self, entry: AuditEntry) -> int:
        """One finished (or refused) action; StoreError if it cannot be written.
        While a shared store is away, a finished one is queued (id 0) for the
        flush; a running one (its steps follow) raises."""
        with self._lock:
            if entry.result != "running" and self._away():
                return self._queue_audit(entry)
            try:
                return self._insert_audit(entry)
            except Exception:
                if entry.result != "running" and self._unreachable():
                    return self._queue_audit(entry)
                raise

    def _queue_audit(self, entry: AuditEntry) -> int:
        sql = f"INSERT INTO audit_log({_AUDIT_COLUMNS}) VALUES ({', '.join('?' * 13)})"
        self._queue(sql, self._cleaned(astuple(entry)[:13]))
        return 0

    def _insert_audit(self, entry: AuditEntry) -> int:
        """The row's id; callers hold the lock."""
        return self._insert(
            f"INSERT INTO audit_log({_AUDIT_COLUMNS}) VALUES ({', '.join('?' * 13)})",
            astuple(entry)[:13],
        )

    def audit_entries(self, limit: int = 1000) -> list[AuditEntry]:
        rows = self._read(
            f"SELECT {_AUDIT_COLUMNS}, id FROM audit_log ORDER BY id DESC LIMIT ?", (limit,)
        )
        steps: dict[int, list[tuple[str, str, str]]] = {}
        if rows:
            oldest = min(row[-1] for row in rows)
            for audit_id, at, step, detail in self._read(
                "SELECT audit_id, at, step, detail FROM action_steps WHERE audit_id >= ?"
                " ORDER BY rowid",
                (oldest,),
            ):
                steps.setdefault(audit_id, []).append((at, step, detail))
        return [AuditEntry(*row, steps=tuple(steps.get(row[-1], ()))) for row in rows]

    # --- the journal: an action is written when confirmed and before each step -----

    def begin_action(self, entry: AuditEntry, target_id: str, facts: dict[str, str]) -> int:
        """The audit row (result `running`) and its journal entry, in one transaction."""
        with self._lock:
            self._write(self._backend.begin)
            audit_id = self._insert_audit(entry)
            self._write(
                "INSERT INTO action_journal(audit_id, state, pid, machine, target_id, facts,"
                " updated) VALUES (?, 'running', ?, ?, ?, ?, ?)",
                (audit_id, os.getpid(), socket.gethostname(), target_id, json.dumps(facts), _now()),
            )
            self._write("COMMIT")
        return audit_id

    def add_step(self, audit_id: int, step: str, detail: str) -> None:
        with self._lock:
            self._write(
                "INSERT INTO action_steps(audit_id, at, step, detail) VALUES (?, ?, ?, ?)",
                (audit_id, _now(), step, " ".join(detail.split())[:500]),
            )

    def note_facts(self, audit_id: int, facts: dict[str, str]) -> None:
        """Merge what recovery will need (a backup's name, the new container's id)."""
        rows = self._read("SELECT facts FROM action_journal WHERE audit_id = ?", (audit_id,))
        merged = {**json.loads(rows[0][0] if rows else "{}"), **facts}
        with self._lock:
            self._write(
                "UPDATE action_journal SET facts = ?, updated = ? WHERE audit_id = ?",
                (json.dumps(merged), _now(), audit_id),
            )

    def end_action(
        self,
        audit_id: int,
        result: str,
        *,
        duration_s: float | None = None,
        error: str = "",
        new_image: str | None = None,
        new_digest: str | None = None,
    ) -> None:
        """The outcome into the audit row; the journal entry goes."""
        sets = ["result = ?", "error = ?"]
        params: list[Any] = [result, " ".join(error.split())[:500]]
        if duration_s is not None:
            sets.append("duration_s = ?")
            params.append(round(duration_s, 2))
        if new_image:
            sets.append("new_image = ?")
            params.append(new_image)
        if new_digest:
            sets.append("new_digest = ?")
            params.append(new_digest)
        with self._lock:
            self._write(self._backend.begin)
            self._write(f"UPDATE audit_log SET {', '.join(sets)} WHERE id = ?", (*params, audit_id))
            self._write("DELETE FROM action_journal WHERE audit_id = ?", (audit_id,))
            self._write("COMMIT")

    def mark_interrupted(self, audit_id: int, result: str) -> None:
        """The action's opsdash is gone: say so in its audit row, keep the journal entry."""
        with self._lock:
            self._write(self._backend.begin)
            self._write("UPDATE audit_log SET result = ? WHERE id = ?", (result, audit_id))
            self._write(
                "UPDATE action_journal SET state = 'interrupted', updated = ? WHERE audit_id = ?",
                (_now(), audit_id),
            )
            self._write("COMMIT")

    def unfinished_actions(self) -> list[JournalRow]:
        """Every journal entry: actions running now (here or in another opsdash on
        this store) and interrupted ones. Oldest first."""
        journal = self._read(
            "SELECT audit_id, state, pid, machine, target_id, facts, updated FROM action_journal"
            " ORDER BY audit_id"
        )
        if not journal:
            return []
        entries = {e.id: e for e in self.audit_entries(limit=100_000) if e.id is not None}
        rows = []
        for audit_id, state, pid, machine, target_id, facts, updated in journal:
            entry = entries.get(audit_id)
            if entry is not None:
                rows.append(
                    JournalRow(entry, state, pid, machine, target_id, json.loads(facts), updated)
                )
        return rows
