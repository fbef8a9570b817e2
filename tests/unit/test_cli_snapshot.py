"""`opsdash snapshot --json` carries the four DORA keys from the store's history."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from opsdash.cli import main
from opsdash.store import Store
from tests.fakes import add_sample_deployments


def test_snapshot_json_includes_the_dora_keys(tmp_path, capsys):
    store = Store.open_default()  # the isolated XDG data dir of this test
    add_sample_deployments(store)
    store.close()
    config = tmp_path / "config.toml"
    config.write_text("docker = []\nhost = []\n")
    assert main(["--config", str(config), "snapshot", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    (dora,) = [s for s in payload["sources"] if s["source"] == "dora:keys"]
    rows = {row["service"]: row for row in dora["data"]["services"]}
    assert set(rows) == {"all services", "shop", "api", "churn"}
    shop = rows["shop"]["reports"][1]  # 30 days
    assert shop["days"] == 30
    keys = shop["current"]
    assert (
        keys["frequency"]["deploys"] == 17
    )  # 16 distinct days + the rollback and keys["frequency"]["level"] == "high"
    assert keys["cfr_level"] in ("elite", "high", "medium", "low")
    assert isinstance(keys["recovery_time"], float)  # seconds
    assert rows["churn"]["kinds"] == ["model"]


def github_with_one_deployment(server) -> None:
    from devstack.replay import Reply

    repo = "/repos/acme/shop"
    server.add("GET", f"{repo}/actions/runs", Reply(200, {"total_count": 0, "workflow_runs": []}))
    when = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    stamp = when.isoformat().replace("+00:00", "Z")
    server.add(
        "GET",
        f"{repo}/deployments",
        Reply(
            200, [{"id": 77, "sha": "ab" * 20, "environment": "production", "created_at": stamp}]
        ),
    )
    server.add(
        "GET",
        f"{repo}/deployments/77/statuses",
        Reply(200, [{"state": "success", "environment": "production", "created_at": stamp}]),
    )


def github_config(tmp_path, server) -> str:
    config = tmp_path / "config.toml"
    config.write_text(
        f'docker = []\nhost = []\n[[github]]\nname = "shop"\nrepo = "acme/shop"\n'
        f'url = "{server.url}"\ntoken = "t"\nenvironments = ["production"]\n'
    )
    return str(config)


@pytest.mark.parametrize("as_json", [True, False])
def test_snapshot_on_a_fresh_store_records_what_it_polled(tmp_path, capsys, server, as_json):
    """A cron `snapshot` builds the keys: it records through the TUI's watchers."""
    github_with_one_deployment(server)
    argv = ["--config", github_config(tmp_path, server), "snapshot"]
    assert main(argv + (["--json"] if as_json else [])) == 0
    out = capsys.readouterr().out
    if as_json:
        (dora,) = [s for s in json.loads(out)["sources"] if s["source"] == "dora:keys"]
        assert dora["data"]["events"] == 1
    store = Store.open_default()
    (event,) = store.deployments()
    store.close()
    assert (event.service, event.source, event.version) == ("acme/shop", "github:shop", "ab" * 20)


def test_check_records_what_it_polled(tmp_path, capsys, server):
    github_with_one_deployment(server)
    assert main(["--config", github_config(tmp_path, server), "check"]) == 0
    assert "dora" not in capsys.readouterr().out  # check lists the configured sources only
    store = Store.open_default()
    assert [e.external_id for e in store.deployments()] == ["github:shop:deployment:77"]
    store.close()


def test_audit_needs_no_secret_of_the_config(tmp_path, capsys, monkeypatch):
    """Reading the audit log needs no source: an unset ${ENV} is no error there."""
    monkeypatch.delenv("OPSDASH_TRUTH_UNSET", raising=False)
    config = tmp_path / "config.toml"
    config.write_text(
        'docker = []\nhost = []\n[[github]]\nrepo = "acme/shop"\ntoken = "${OPSDASH_TRUTH_UNSET}"\n'
    )
    assert main(["--config", str(config), "check"]) == 2  # the sources do need it
    capsys.readouterr()
    assert main(["--config", str(config), "audit"]) == 0
    assert capsys.readouterr().out.strip() == "no actions recorded yet"
