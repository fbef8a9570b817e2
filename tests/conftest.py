"""Shared fixtures: the private Docker engine the harness starts and stops itself."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# CI runs the same examples every time (a red build must be reproducible, and a
# new example is found by a developer's run, not by a submission's); locally
# hypothesis keeps exploring. Its example database stays out of the tree.
from hypothesis import settings  # noqa: E402

from tests.missing import missing  # noqa: E402

settings.register_profile("ci", derandomize=True, database=None)
settings.register_profile("dev", database=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path, monkeypatch):
    """Never read the developer's config or write into their data or state dirs."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    # Nor the developer's Docker contexts (`docker context use` would pick the engine).
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))  # `w` on the logs screen
    monkeypatch.delenv("OPSDASH_CONFIG", raising=False)
    monkeypatch.delenv("OPSDASH_DATA_DIR", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)


def _need_docker() -> None:
    if not shutil.which("dockerd") or not (
        shutil.which("busybox") or Path("/bin/busybox").exists()
    ):
        missing("dockerd or busybox-static missing: the test command installs them")


def _private_engine():
    _need_docker()
    from devstack.docker_engine import PrivateDockerEngine

    with PrivateDockerEngine() as eng:  # starts dockerd and builds the images
        yield eng


@pytest.fixture(scope="session")
def engine():
    """One private dockerd for the whole session, with the test images built."""
    yield from _private_engine()


@pytest.fixture
def own_engine():
    """A private dockerd just for one test: for tests that kill it or turn on Swarm."""
    yield from _private_engine()


def _need_server(available: bool, what: str) -> None:
    if not available:
        reason = f"{what} is not installed (scripts/test installs it)"
        missing(reason)


@pytest.fixture(scope="session")
def buildbot():
    """One real Buildbot master and worker on 127.0.0.1 for the whole session."""
    from devstack.buildbot_server import BuildbotServer, available

    _need_server(available(), "Buildbot")
    with BuildbotServer() as server:
        yield server


@pytest.fixture(scope="session")
def airflow():
    """One real Airflow 3 (api-server, scheduler, dag-processor) on 127.0.0.1 for
    the whole session, with the test DAGs of devstack/airflow_dags parsed. It has
    .url, .username, .password, .token(), .api(method, path, body) and .client
    (trigger, wait_run, task_instances, task_log, xcom)."""
    from devstack.airflow_server import AirflowServer, available

    _need_server(available(), "Airflow")
    with AirflowServer() as server:
        yield server


@pytest.fixture(scope="module")
def _replay():
    from devstack.replay import ReplayServer

    with ReplayServer() as replay:  # one per module: stopping one takes half a second
        yield replay


@pytest.fixture
def server(_replay):
    """A replay server (devstack/replay.py) with no routes: each test adds its own."""
    _replay.reset()
    yield _replay
    _replay.reset()


@pytest.fixture(scope="session")
def postgres():
    """One private PostgreSQL cluster on 127.0.0.1 for the whole session
    (devstack/postgres.py); `postgres.new_database()` gives each test its own."""
    from devstack.postgres import PostgresServer, available

    _need_server(available(), "PostgreSQL (Debian's postgresql package)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _need_server(False, "psycopg (pip install 'psycopg[binary]')")
    with PostgresServer() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def new_store(request, tmp_path):
    """Opens stores on this test's own database, once per backend: an SQLite file,
    and a fresh database of the session's PostgreSQL. Call it again for a second
    opsdash on the same store, or for one restarted. Each is closed at the end."""
    from opsdash.store import Store

    opened: list[Store] = []
    if request.param == "sqlite":
        path = tmp_path / "store.db"

        def make() -> Store:
            opened.append(Store(path))
            return opened[-1]

    else:
        url = request.getfixturevalue("postgres").new_database()

        def make() -> Store:
            store = Store.open_url(url)
            assert store.problem is None, store.problem
            opened.append(store)
            return store

    yield make
    for store in opened:
        store.close()
