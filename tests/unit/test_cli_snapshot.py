"""`opsdash snapshot --json` carries the four DORA keys from the store's history."""

from __future__ import annotations

import json

from opsdash.cli import main
from opsdash.store import Store
from tests.helpers import add_sample_deployments


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
