"""A CI token from the config never reaches a screen, the --log file, the store or
the audit log, even when the server echoes it back in its error bodies."""

from __future__ import annotations

from pathlib import Path

from devstack.replay import ReplayServer, Reply, load_fixture
from opsdash.config import load_config
from opsdash.eventlog import log_to, logger
from opsdash.screens.actions import ConfirmScreen, ProgressScreen
from opsdash.screens.pipeline import RunScreen
from opsdash.store import Store
from opsdash.widgets.resource_table import ResourceTable
from tests.helpers import real_app, screen_text, settle, wait_for

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "github"
TOKEN = "ghp_0pSd4shT3stT0k3nN3v3rSh0wn000000000"
RUNS = "/repos/acme/shop/actions/runs"


async def test_token_appears_nowhere(tmp_path, monkeypatch):
    monkeypatch.setenv("OPSDASH_TEST_GH_TOKEN", TOKEN)
    echo = {"message": f"Bad credentials: {TOKEN}", "documentation_url": "https://docs.github.com"}
    with ReplayServer() as server:
        server.add("GET", RUNS, load_fixture(FIXTURES / "runs_page3.json"))
        server.add("GET", f"{RUNS}/30433637/jobs", Reply(500, echo), Reply(500, echo))
        server.add("POST", f"{RUNS}/30433637/cancel", Reply(403, echo))
        config_file = tmp_path / "config.toml"
        config_file.write_text(
            f'docker = []\n[[github]]\nrepo = "acme/shop"\nurl = "{server.url}"\n'
            'token = "${OPSDASH_TEST_GH_TOKEN}"\nrefresh = 0.5\ntimeout = 2\n'
        )
        config = load_config(config_file, explicit=True)
        log_file = tmp_path / "opsdash.log"
        log_to(log_file)
        store = Store(tmp_path / "data" / "opsdash.db")
        screens: list[str] = []
        app = real_app(config, store=store)
        async with app.run_test(size=(160, 48)) as pilot:
            await settle(pilot)
            table = app.screen.query_one("#pipelines-table", ResourceTable)
            await wait_for(pilot, lambda: table.row_count > 0)
            screens.append(screen_text(app))
            table.focus()
            await pilot.pause()
            key = next(k for k, r in table.records.items() if r.id == "30433637")
            table.move_cursor(row=table.get_row_index(key))
            await pilot.pause()
            await pilot.press("enter")  # the jobs call fails with the echoed token
            await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
            await wait_for(pilot, lambda: "Could not load jobs" in screen_text(app))
            screens.append(screen_text(app))
            await pilot.press("c")  # cancelling the queued run fails with the echoed token
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("y")
            await wait_for(pilot, lambda: isinstance(app.screen, ProgressScreen))
            progress = app.screen
            await wait_for(pilot, lambda: progress.done)
            screens.append(screen_text(app))
            await pilot.press("escape", "escape")
            server.add("GET", RUNS, Reply(401, echo))  # now every poll fails
            await wait_for(pilot, lambda: "401" in screen_text(app), timeout=30)
            screens.append(screen_text(app))
            await pilot.press("a")
            await pilot.pause(0.2)
            screens.append(screen_text(app))
        for handler in list(logger.handlers):
            handler.close()
            logger.removeHandler(handler)
        store.close()
        sent = [r.headers.get("authorization") for r in server.calls()]
    assert sent and all(h == f"Bearer {TOKEN}" for h in sent)  # it was used...
    assert "401" in screens[-2] and "Bad credentials" in screens[-2]
    for text in screens:
        assert TOKEN not in text  # ...and shown nowhere
    log_text = log_file.read_text()
    assert "source github:shop error" in log_text and "action cancel pipeline" in log_text
    assert TOKEN not in log_text
    for path in (tmp_path / "data").iterdir():  # the SQLite file and its WAL
        assert TOKEN.encode() not in path.read_bytes(), path.name
    entry = Store(tmp_path / "data" / "opsdash.db").audit_entries()[0]
    assert entry.result == "failed" and "Bad credentials" in entry.error
