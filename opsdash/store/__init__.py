"""The store: the audit log and journal of running actions, deployment events,
health issues, leases and source health history (see `sqlite.Store`), in the
embedded SQLite file or, for a team, in one PostgreSQL database
(`[store] url`, `postgres.PostgresBackend`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from opsdash.store.leases import Lease
from opsdash.store.rows import AuditEntry, DeploymentEvent, HealthIssueRow, JournalRow
from opsdash.store.sqlite import DB_NAME, Store, StoreError

if TYPE_CHECKING:
    from opsdash.config_store import StoreConfig

__all__ = [
    "DB_NAME",
    "AuditEntry",
    "DeploymentEvent",
    "HealthIssueRow",
    "JournalRow",
    "Lease",
    "Store",
    "StoreError",
    "open_store",
]


def open_store(settings: StoreConfig | None = None) -> Store:
    """The configured store: PostgreSQL when `[store] url` names it, else the
    SQLite file in the data dir. Never raises (a store that cannot be written
    or reached says why in `problem`)."""
    url = settings.url if settings is not None else ""
    store = Store.open_url(url) if url else Store.open_default()
    if settings is not None:
        store.lease_timeout = settings.lease_timeout
    return store
