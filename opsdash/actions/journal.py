"""The progress callback a confirmed action gets: each step goes into the
store's journal *before* it runs, then to the screen.

So an opsdash killed at any moment leaves, in its audit row, the last step it
began and the facts recovery needs (`opsdash.actions.recovery`). The screen may
be gone (an SSH connection that dropped): showing a step never stops the action.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from opsdash.eventlog import event

if TYPE_CHECKING:
    from opsdash.store import Store

# Test hook for the crash tests: "STEP=FILE" makes the action stop for good right
# after journaling STEP, before doing it, and touch FILE, so a test can kill it
# at exactly that boundary.
HOLD_ENV = "OPSDASH_TEST_HOLD"


class ActionJournal:
    """Callable as `progress(step, detail)`; `facts(**kw)` keeps what recovery needs."""

    def __init__(
        self,
        store: Store | None,
        audit_id: int | None,
        show: Callable[[str, str], None] | None = None,
    ):
        self.store = store
        self.audit_id = audit_id
        self.show = show
        self.lost = ""  # why steps could not be journaled, once it happened
        hold = os.environ.get(HOLD_ENV, "")
        self._hold_step, _, hold_file = hold.partition("=")
        self._hold_file = Path(hold_file) if hold_file else None

    def __call__(self, step: str, detail: str) -> None:
        if self.store is not None and self.audit_id is not None:
            from opsdash.store import StoreError

            try:
                self.store.add_step(self.audit_id, step, detail)
            except StoreError as exc:
                if not self.lost:
                    # The action goes on to its end: stopping half-way would do more harm.
                    self.lost = str(exc)
                    event(f"journal: {exc}; the action goes on to its end", warning=True)
                    self._show("journal", f"{exc}; the action goes on to its end")
        if self._hold_file is not None and step == self._hold_step:
            self._hold_file.write_text(f"{os.getpid()} {step}\n")
            while True:  # until the test kills this process
                time.sleep(60)
        self._show(step, detail)

    def _show(self, step: str, detail: str) -> None:
        if self.show is not None:
            with contextlib.suppress(Exception):  # the UI is closing or gone
                self.show(step, detail)

    def facts(self, **facts: str) -> None:
        if self.store is None or self.audit_id is None:
            return
        from opsdash.store import StoreError

        with contextlib.suppress(StoreError):
            self.store.note_facts(self.audit_id, {k: str(v) for k, v in facts.items()})


def note_facts(progress: Callable[[str, str], None], **facts: str) -> None:
    """Journal facts when the action runs under a journal (tests may pass a lambda)."""
    if isinstance(progress, ActionJournal):
        progress.facts(**facts)
