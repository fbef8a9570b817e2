"""The hostile corpus (tests/hostile.py) through every CLI command that prints
text others control: `snapshot`, `snapshot --json`, `check` and `audit`.

A real HTTP server replays GitHub-shaped runs whose titles, branches, workflow
names and actors are corpus entries, and a second source answers with a
hostile error; the audit log holds hostile entries. Nothing the commands print
may carry an escape or an invisible character, markup must read as written,
and JSON must stay faithful (escaped by the encoder, not altered).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from devstack.replay import ReplayServer, Reply, load_fixture
from opsdash.cli import main
from opsdash.store import AuditEntry, Store
from tests.hostile import HOSTILE, LOG_TAIL, MARKUP, terminal_leftovers, unsafe_chars

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "github"
REPO = "/repos/acme/shop"
ERROR = f"denied [/etc/ci.conf] {LOG_TAIL}"


@pytest.fixture
def hostile_config(tmp_path, monkeypatch):
    runs = load_fixture(FIXTURES / "runs_page1.json")
    page = runs.body["workflow_runs"]
    values = list(HOSTILE.values())
    hostile_runs = []
    for index, value in enumerate(values):
        run = json.loads(json.dumps(page[index % len(page)]))
        run["id"] = 900000 + index
        run["display_title"] = value
        run["head_commit"] = {**(run.get("head_commit") or {}), "message": value}
        run["head_branch"] = value
        run["name"] = value
        run["actor"] = {**(run.get("actor") or {}), "login": value}
        hostile_runs.append(run)
    runs.body = {"total_count": len(hostile_runs), "workflow_runs": hostile_runs}
    with ReplayServer() as good, ReplayServer() as bad:
        good.add("GET", f"{REPO}/actions/runs", runs)
        bad.add("GET", f"{REPO}/actions/runs", Reply(403, {"message": ERROR}))
        monkeypatch.setenv("GH_HOSTILE_TOKEN", "ghp_hostileCliTest0123456789abcdefABCD")
        config = tmp_path / "config.toml"
        config.write_text(
            "docker = []\nhost = []\n"
            + "".join(
                f'[[github]]\nname = "{name}"\nurl = "{server.url}"\nrepo = "acme/shop"\n'
                f'token = "${{GH_HOSTILE_TOKEN}}"\nruns = {len(values)}\n'
                for name, server in (("good", good), ("bad", bad))
            )
        )
        yield config


def _run(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _assert_clean(out: str, *, colour: bool) -> None:
    if colour:
        assert terminal_leftovers(out) == [], terminal_leftovers(out)
    else:
        assert "\x1b" not in out
        assert unsafe_chars(out) == [], unsafe_chars(out)
    out.encode("utf-8")  # no lone surrogate: printing it cannot fail


@pytest.mark.parametrize("colour", [False, True], ids=["piped", "FORCE_COLOR"])
def test_snapshot_and_check_print_hostile_text_literally(
    hostile_config, capsys, monkeypatch, colour
):
    if colour:
        monkeypatch.setenv("FORCE_COLOR", "1")
    code, out = _run(capsys, "--config", str(hostile_config), "snapshot")
    assert code == 1  # the bad source failed
    _assert_clean(out, colour=colour)
    assert "denied [/etc/ci.conf]" in out
    for value in MARKUP.values():  # titles are cut to the column: compare the start
        assert value[:12] in out, value

    code, out = _run(capsys, "--config", str(hostile_config), "check")
    assert code == 1
    _assert_clean(out, colour=colour)
    assert "denied [/etc/ci.conf]" in out


def test_snapshot_json_is_escaped_and_faithful(hostile_config, capsys):
    code, out = _run(capsys, "--config", str(hostile_config), "snapshot", "--json")
    assert code == 1
    assert "\x1b" not in out and unsafe_chars(out) == []
    payload = json.loads(out)
    (good,) = [s for s in payload["sources"] if s["source"] == "github:good"]
    titles = {run["message"] for run in good["data"]["runs"]}
    for value in MARKUP.values():
        assert value in titles  # data, not display: kept as the server sent it
    (bad,) = [s for s in payload["sources"] if s["source"] == "github:bad"]
    assert "denied [/etc/ci.conf]" in bad["health"]["message"]


@pytest.mark.parametrize("colour", [False, True], ids=["piped", "FORCE_COLOR"])
def test_audit_prints_hostile_entries_literally(tmp_path, capsys, monkeypatch, colour):
    if colour:
        monkeypatch.setenv("FORCE_COLOR", "1")
    store = Store.open_default()  # the isolated XDG data dir of this test
    # SQLite cannot hold a lone surrogate: the store cleans what it is given
    # (strip_unsafe); this test is about printing what the store holds.
    storable = [v for v in HOSTILE.values() if not re.search("[\ud800-\udfff]", v)]
    for index, value in enumerate(storable):
        store.add_audit(
            AuditEntry(
                at=f"2026-12-01T10:{index:02d}:00+00:00",
                actor=value,
                action="redeploy",
                kind="container",
                target=value,
                host=value,
                old_image=value,
                old_digest="",
                new_image=value,
                new_digest="",
                result=f"failed: {value}",
                duration_s=1.0,
                error=value,
            )
        )
    store.close()
    code, out = _run(capsys, "audit")
    assert code == 0
    _assert_clean(out, colour=colour)
    for value in MARKUP.values():
        assert value[:12] in out, value
    code, out = _run(capsys, "audit", "--json")
    assert code == 0 and "\x1b" not in out and unsafe_chars(out) == []
