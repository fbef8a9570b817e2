"""The store's schema as numbered migrations: an old database is upgraded in
place, one script at a time, and `PRAGMA user_version` says how far it got."""

from __future__ import annotations

_MIGRATIONS: list[str] = [
    # 1: the first schema
    """
    CREATE TABLE source_events (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        source TEXT NOT NULL,
        state TEXT NOT NULL,
        message TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX source_events_at ON source_events(at);
    CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        target TEXT NOT NULL,
        host TEXT NOT NULL,
        action TEXT NOT NULL,
        old_image TEXT NOT NULL DEFAULT '',
        new_image TEXT NOT NULL DEFAULT '',
        result TEXT NOT NULL,
        duration_s REAL,
        error TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX audit_log_at ON audit_log(at);
    CREATE TABLE deployments (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        service TEXT NOT NULL,
        image TEXT NOT NULL DEFAULT '',
        digest TEXT NOT NULL DEFAULT '',
        result TEXT NOT NULL,
        source TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX deployments_at ON deployments(at);
    CREATE TABLE metric_samples (
        at TEXT NOT NULL,
        source TEXT NOT NULL,
        name TEXT NOT NULL,
        value REAL NOT NULL
    );
    CREATE INDEX metric_samples_at ON metric_samples(at);
    """,
    # 2: digests in the audit log; what each container ran before its last redeploy
    """
    ALTER TABLE audit_log ADD COLUMN old_digest TEXT NOT NULL DEFAULT '';
    ALTER TABLE audit_log ADD COLUMN new_digest TEXT NOT NULL DEFAULT '';
    ALTER TABLE audit_log ADD COLUMN kind TEXT NOT NULL DEFAULT 'container';
    ALTER TABLE deployments ADD COLUMN kind TEXT NOT NULL DEFAULT 'app';
    ALTER TABLE deployments ADD COLUMN host TEXT NOT NULL DEFAULT '';
    CREATE TABLE previous_images (
        host TEXT NOT NULL,
        container TEXT NOT NULL,
        image_id TEXT NOT NULL,
        image_ref TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (host, container)
    );
    """,
    # 3: deployments reported by CI systems: environment, version, and a vendor id
    # that makes recording the same deployment twice a no-op
    """
    ALTER TABLE deployments ADD COLUMN environment TEXT NOT NULL DEFAULT '';
    ALTER TABLE deployments ADD COLUMN version TEXT NOT NULL DEFAULT '';
    ALTER TABLE deployments ADD COLUMN external_id TEXT;
    CREATE UNIQUE INDEX deployments_external ON deployments(external_id)
        WHERE external_id IS NOT NULL;
    """,
    # 4: what the DORA keys need besides deployments: spells of trouble per
    # service (unhealthy containers, model-metric breaches) and the version each
    # watched thing ran last, so a change while opsdash was away is still seen
    """
    CREATE TABLE health_issues (
        id INTEGER PRIMARY KEY,
        service TEXT NOT NULL,
        source TEXT NOT NULL,
        reason TEXT NOT NULL,
        start TEXT NOT NULL,
        end TEXT
    );
    CREATE INDEX health_issues_start ON health_issues(start);
    CREATE UNIQUE INDEX health_issues_open ON health_issues(service, source) WHERE end IS NULL;
    CREATE TABLE watched_versions (
        key TEXT PRIMARY KEY,
        service TEXT NOT NULL,
        version TEXT NOT NULL,
        at TEXT NOT NULL
    );
    """,
    # 5: a journal of every confirmed action, written before each step, so an
    # opsdash killed in the middle of one leaves a trail the next start can follow
    """
    CREATE TABLE action_steps (
        audit_id INTEGER NOT NULL,
        at TEXT NOT NULL,
        step TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX action_steps_audit ON action_steps(audit_id);
    CREATE TABLE action_journal (
        audit_id INTEGER PRIMARY KEY,
        state TEXT NOT NULL,
        pid INTEGER NOT NULL,
        machine TEXT NOT NULL,
        target_id TEXT NOT NULL DEFAULT '',
        facts TEXT NOT NULL DEFAULT '{}',
        updated TEXT NOT NULL
    );
    """,
    # 6 (h-replay; renumber after the backend's own steps): every poll of every
    # panel, compressed (opsdash.recording_codec), for `opsdash replay`. `at` is
    # Unix seconds (UTC), so a time range is a plain numeric range on both
    # backends; `kind` K is a whole snapshot, D a delta on the row before of
    # the same source, E a failed poll's message; `size` is len(data).
    """
    CREATE TABLE poll_records (
        id INTEGER PRIMARY KEY,
        at DOUBLE PRECISION NOT NULL,
        source TEXT NOT NULL,
        kind TEXT NOT NULL,
        codec INTEGER NOT NULL,
        size INTEGER NOT NULL,
        data BYTEA NOT NULL
    );
    CREATE INDEX poll_records_at ON poll_records(at);
    CREATE INDEX poll_records_source ON poll_records(source, id);
    """,
]
