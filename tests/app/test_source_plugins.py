"""A source kind from another distribution, found through the `opsdash.sources`
entry points, reaches every consumer by the snapshot type it feeds: the
Pipelines or Models panel, `opsdash check`, `opsdash snapshot --json`, and
the config's list of kinds. The distribution is written for the test (a
module and its .dist-info on sys.path), as pip would install it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from opsdash.config import ConfigError, load_config
from opsdash.sources import registry
from tests.distributions import install_distribution
from tests.pilot import real_app, wait_for

PLUGIN = Path(__file__).parent.parent / "plugins" / "opsdash_dummy.py"
ROOT = Path(__file__).resolve().parents[2]
CONFIG = 'docker = []\nhost = []\n\n[[dummyci]]\nname = "nightly"\nruns = 4\n\n[[dummymodels]]\n'


@pytest.fixture
def site(tmp_path, monkeypatch) -> Path:
    """A throwaway distribution `opsdash-dummy` providing two source kinds."""
    site = install_distribution(
        tmp_path / "site",
        "opsdash-dummy",
        {
            "dummyci": "opsdash_dummy:DummyCiSource",
            "dummymodels": "opsdash_dummy:DummyModelsSource",
        },
    )
    shutil.copy(PLUGIN, site / "opsdash_dummy.py")
    monkeypatch.syspath_prepend(str(site))
    registry.forget()
    yield site
    sys.modules.pop("opsdash_dummy", None)
    registry.forget()


def _config(tmp_path: Path, text: str = CONFIG) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def _opsdash(site: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}
    return subprocess.run(
        [sys.executable, "-m", "opsdash", *args], capture_output=True, text=True, env=env
    )


def test_listing_the_kinds_imports_no_source_module(site):
    assert {"dummyci", "dummymodels", "docker", "github"} <= set(registry.installed_kinds())
    assert "opsdash_dummy" not in sys.modules
    assert registry.source_class("dummyci").kind == "dummyci"
    assert "opsdash_dummy" in sys.modules


def test_an_unknown_kind_names_the_installed_ones(site, tmp_path):
    with pytest.raises(ConfigError) as err:
        load_config(_config(tmp_path, "[[dummyy]]\n"))
    message = str(err.value)
    assert "[[dummyy]]" not in message  # one line: file:line: key: message
    assert "dummyy: unknown source kind (did you mean 'dummyci'?)" in message
    assert "dummyci" in message.split("installed:")[1]


async def test_its_runs_and_models_show_in_their_panels(site, tmp_path):
    from opsdash.widgets.resource_table import ResourceTable

    app = real_app(load_config(_config(tmp_path)))
    async with app.run_test(size=(160, 48)) as pilot:
        runs = app.screen.query_one("#pipelines-table", ResourceTable)
        models = app.screen.query_one("#models-table", ResourceTable)
        await wait_for(pilot, lambda: len(runs.records) == 4 and models.records)
        assert {r.pipeline for r in runs.records.values()} == {
            f"dummy-build-{n}" for n in range(1, 5)
        }
        assert {r.source for r in runs.records.values()} == {"dummyci:nightly"}
        (row,) = models.records.values()
        assert (row.model, row.value, row.source) == ("dummy-model", 0.93, "dummymodels:lab")


async def test_autodetected_without_a_table(site, tmp_path, monkeypatch):
    from opsdash.widgets.resource_table import ResourceTable

    monkeypatch.setenv("OPSDASH_DUMMY_CI", "found")
    config = load_config(_config(tmp_path, "docker = []\nhost = []\n"))
    assert [c.name for c in config.of_kind("dummyci")] == ["found"]
    app = real_app(config)
    async with app.run_test(size=(160, 48)) as pilot:
        runs = app.screen.query_one("#pipelines-table", ResourceTable)
        await wait_for(pilot, lambda: len(runs.records) == 3)


def test_check_and_snapshot_json_show_it(site, tmp_path):
    config = str(_config(tmp_path))
    check = _opsdash(site, "--config", config, "check")
    assert check.returncode == 0, check.stderr
    line = next(line for line in check.stdout.splitlines() if "dummyci:nightly" in line)
    assert "ok" in line and "4 runs, 0 running or queued, 2 failed" in line
    assert any("dummymodels:lab" in line and " ok " in line for line in check.stdout.splitlines())

    snapshot = _opsdash(site, "--config", config, "snapshot", "--json")
    assert snapshot.returncode == 0, snapshot.stderr
    sources = {s["source"]: s for s in json.loads(snapshot.stdout)["sources"]}
    runs = sources["dummyci:nightly"]["data"]["runs"]
    assert [r["pipeline"] for r in runs] == [f"dummy-build-{n}" for n in range(1, 5)]
    assert sources["dummymodels:lab"]["data"]["rows"][0]["model"] == "dummy-model"

    tables = _opsdash(site, "--config", config, "snapshot")
    assert "dummyci:nightly: pipeline runs" in tables.stdout
    assert "dummymodels:lab: models" in tables.stdout


async def test_a_run_of_a_source_without_run_details_says_so(site, tmp_path):
    """The dummy CI source lists runs only: its run screen says so in one line."""
    from textual.widgets import Static

    from opsdash.widgets.resource_table import ResourceTable

    app = real_app(load_config(_config(tmp_path)))
    async with app.run_test(size=(160, 48)) as pilot:
        runs = app.screen.query_one("#pipelines-table", ResourceTable)
        await wait_for(pilot, lambda: len(runs.records) == 4)
        app.show_run(next(iter(runs.records.values())))

        def status() -> str:
            found = app.screen.query("#run-jobs-status")
            return str(found.first(Static).render()) if found else ""

        await wait_for(pilot, lambda: "does not list a run's jobs" in status())
        assert status() == "Could not load jobs: dummyci:nightly does not list a run's jobs"
