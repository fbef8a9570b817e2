"""The embedded SQLite store: the audit log and journal of actions, deployment
events, health issues and source health history (see `sqlite.Store`)."""

from opsdash.store.rows import AuditEntry, DeploymentEvent, HealthIssueRow, JournalRow
from opsdash.store.sqlite import DB_NAME, Store, StoreError

__all__ = [
    "DB_NAME",
    "AuditEntry",
    "DeploymentEvent",
    "HealthIssueRow",
    "JournalRow",
    "Store",
    "StoreError",
]
