"""A CI token from the config never reaches a screen, the --log file, the store or
the audit log, even when the server echoes it back in its error bodies."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.echo_auth import EchoAuthServer, EchoMode
from devstack.replay import ReplayServer, Reply, load_fixture
from opsdash.config import load_config
from opsdash.eventlog import log_to, logger
from opsdash.model import HealthState, PipelineRun, RunStatus
from opsdash.screens.actions import ConfirmScreen, ProgressScreen
from opsdash.screens.pipeline import RunScreen
from opsdash.store import Store
from opsdash.widgets.resource_table import ResourceTable
from tests.pilot import real_app, screen_text, settle, wait_for

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


# --- every HTTP source against a server that echoes its credentials -------------------

# Each holds characters that URL-encoding, base64 and JSON-escaping all change; no two
# share a 10-character run, so a leak names its source.
ECHO_TOKENS = {
    "github": 'ghp_G1h/Ub+Xq=Wz"Rt\\Yk&Pm%41Lc9Nv',
    "gitlab": 'glpat-K2l/Ab+Cd=Ef"Gh\\Ij&Kl%42Mn8Op',
    "jenkins": '11e7J3k/Qr+St=Uv"Wx\\Yz&Ab%43Cd7Ef',
    "buildbot": 'bbB4b/Gh+Ij=Kl"Mn\\Op&Qr%44St6Uv',
    "mlflow": 'dapiM5l/Wx+Yz=Ab"Cd\\Ef&Gh%45Ij5Kl',
    "prometheus": 'promP6r/Mn+Op=Qr"St\\Uv&Wx%46Yz4Ab',
    "airflow": 'afJ7w/Cd+Ef=Gh"Ij\\Kl&Mn%47Op3Qr',
    "kubeflow": 'kfK8q/Ij+Kl=Mn"Op\\Qr&St%48Uv2Wx',
}
ECHO_USERS = {"jenkins": "alice", "buildbot": "bob"}
ENV = {f"OPSDASH_ECHO_{kind.upper()}": token for kind, token in ECHO_TOKENS.items()}
FRAGMENT = 10  # a run this long of any form counts as shown (a token cut in half)


def secret_forms(kind: str) -> dict[str, str]:
    """Every encoding of one source's secret, computed here, not by opsdash."""
    import base64
    import json
    from urllib.parse import quote, quote_plus

    token = ECHO_TOKENS[kind]
    forms = {
        "raw": token,
        "url": quote(token, safe=""),
        "url-path": quote(token),
        "plus": quote_plus(token),
        "json": json.dumps(token)[1:-1],
        "base64": base64.b64encode(token.encode()).decode(),
    }
    if kind in ECHO_USERS:
        pair = f"{ECHO_USERS[kind]}:{token}".encode()
        forms["basic"] = base64.b64encode(pair).decode()
    return forms


ALL_FORMS = [
    (kind, name, form) for kind in ECHO_TOKENS for name, form in secret_forms(kind).items()
]


def shown_secrets(text: str) -> list[str]:
    """(source, encoding) of every secret form, or a long enough run of one, in `text`."""
    compact = "".join(text.split())  # a token wrapped over two lines is still shown
    found = []
    for kind, name, form in ALL_FORMS:
        runs = {form[i : i + FRAGMENT] for i in range(len(form) - FRAGMENT + 1)}
        if any(run in text or run in compact for run in runs):
            found.append(f"{kind}/{name}")
    return found


def echo_config(path: Path, url: str) -> Path:
    path.write_text(
        "docker = []\nhost = []\n"
        f'[[github]]\nname = "github"\nrepo = "acme/shop"\nurl = "{url}/gh"\n'
        'token = "${OPSDASH_ECHO_GITHUB}"\ndeploy = "deploy.yml"\nrefresh = 0.5\ntimeout = 3\n'
        f'[[gitlab]]\nname = "gitlab"\nproject = "acme/shop"\nurl = "{url}/gl"\n'
        'token = "${OPSDASH_ECHO_GITLAB}"\ndeploy = "deploy-prod"\nrefresh = 0.5\ntimeout = 3\n'
        f'[[jenkins]]\nname = "jenkins"\nurl = "{url}/jk"\njobs = ["shop/build"]\nuser = "alice"\n'
        'token = "${OPSDASH_ECHO_JENKINS}"\ndeploy = "shop/deploy"\nrefresh = 0.5\ntimeout = 3\n'
        f'[[buildbot]]\nname = "buildbot"\nurl = "{url}/bb"\nuser = "bob"\n'
        'password = "${OPSDASH_ECHO_BUILDBOT}"\ndeploy = "deploy"\nrefresh = 0.5\ntimeout = 3\n'
        f'[[mlflow]]\nname = "mlflow"\nurl = "{url}/ml"\n'
        'token = "${OPSDASH_ECHO_MLFLOW}"\nrefresh = 0.5\ntimeout = 3\n'
        f'[[prometheus]]\nname = "prometheus"\nurl = "{url}/prom"\nquery = "model_accuracy"\n'
        'token = "${OPSDASH_ECHO_PROMETHEUS}"\nrefresh = 0.5\ntimeout = 3\n'
        f'[[airflow]]\nname = "airflow"\nurl = "{url}/af"\napi = "v2"\n'
        'token = "${OPSDASH_ECHO_AIRFLOW}"\nrefresh = 0.5\ntimeout = 3\n'
        f'[[kubeflow]]\nname = "kubeflow"\nurl = "{url}/kf"\n'
        'token = "${OPSDASH_ECHO_KUBEFLOW}"\nrefresh = 0.5\ntimeout = 3\n'
    )
    return path


ECHO_MODES = {
    # the whole echo fits in every message: any form not redacted shows in full
    "401-json": EchoMode(401, "json"),
    # the token begins just before the old 160 (HTTP detail, Jenkins' 403) and 200
    # (Buildbot RPC, Prometheus envelope) cuts; an error object is JSON-escaped
    "403-long": EchoMode(403, "nested", pad=130, error_pad=180),
    "422-long": EchoMode(422, "json", pad=130, error_pad=180),
    # a 5xx page, retried, then shown as text
    "503-html": EchoMode(503, "html"),
}
# Buildbot's login and metadata answer, so that D reaches its JSON-RPC error path.
BUILDBOT_META = {
    "/bb/auth/login": {},
    "/bb/api/v2/builders": {"builders": [{"builderid": 1, "name": "deploy"}]},
    "/bb/api/v2/forceschedulers": {
        "forceschedulers": [{"name": "deploy", "builder_names": ["deploy"]}]
    },
}
CI_KINDS = ("github", "gitlab", "jenkins", "buildbot")
HTTP_KINDS = (*CI_KINDS, "mlflow", "prometheus", "airflow", "kubeflow")


def run_cli(args: list[str], env: dict[str, str]) -> str:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "opsdash", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 1, (args, done.returncode, done.stderr[-2000:])  # sources failed
    return done.stdout + done.stderr


@pytest.mark.parametrize("mode", list(ECHO_MODES))
async def test_echoed_credentials_appear_nowhere(mode, tmp_path, monkeypatch):
    import os

    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    data = tmp_path / "data"
    env = {**os.environ, **ENV, "OPSDASH_DATA_DIR": str(tmp_path / "cli-data")}
    env["HOME"] = str(tmp_path)
    outputs: dict[str, str] = {}
    with EchoAuthServer(ECHO_MODES[mode], succeed=BUILDBOT_META) as server:
        config_file = echo_config(tmp_path / "config.toml", server.url)
        cli_log = tmp_path / "cli.log"
        for command in (["check"], ["snapshot"], ["snapshot", "--json"]):
            text = run_cli(["--config", str(config_file), "--log", str(cli_log), *command], env)
            outputs[" ".join(command)] = text
        assert all(f"{kind}:{kind}" in outputs["check"] for kind in HTTP_KINDS)

        config = load_config(config_file, explicit=True)
        log_file = tmp_path / "opsdash.log"
        log_to(log_file)
        store = Store(data / "opsdash.db")
        app = real_app(config, store=store)
        try:
            async with app.run_test(size=(200, 60)) as pilot:
                await settle(pilot)
                poller = app.poller

                def all_failed() -> bool:
                    """every HTTP source shows its error"""
                    healths = [h for h in poller.all_health() if h.kind in HTTP_KINDS]
                    assert len(healths) == len(HTTP_KINDS)
                    return all(h.state is HealthState.ERROR for h in healths)

                await wait_for(pilot, all_failed, timeout=60)
                await pilot.pause(0.3)
                outputs["main screen"] = screen_text(app)
                for panel in ("3", "5"):  # Pipelines and Models, zoomed: whole status lines
                    await pilot.press(panel, "z")
                    await pilot.pause(0.2)
                    outputs[f"panel {panel}"] = screen_text(app)
                    await pilot.press("z")
                for kind in CI_KINDS:  # D on each CI source; the trigger fails with the echo
                    if kind == CI_KINDS[0]:
                        await pilot.press("D")
                    else:
                        app.pipeline_actions.start("deploy", run_of(f"{kind}:{kind}", kind))
                    await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
                    assert app.screen.plan.host == f"{kind}:{kind}"
                    await pilot.press("y")
                    await wait_for(pilot, lambda: isinstance(app.screen, ProgressScreen))
                    progress = app.screen
                    await wait_for(pilot, lambda p=progress: p.done, timeout=60)
                    outputs[f"deploy {kind}"] = screen_text(app)
                    await pilot.press("escape")
                    await wait_for(pilot, lambda: not isinstance(app.screen, ProgressScreen))
                await pilot.press("a")
                await pilot.pause(0.3)
                outputs["audit screen"] = screen_text(app)
                outputs["health"] = "\n".join(h.message for h in poller.all_health())
        finally:
            for handler in list(logger.handlers):
                handler.close()
                logger.removeHandler(handler)
            store.close()
        sent = server.requests()
    # The credentials were sent, and the server echoed them back.
    assert any(h.get("private-token") == ECHO_TOKENS["gitlab"] for _m, _p, h in sent)
    assert any(h.get("authorization") == f"Bearer {ECHO_TOKENS['github']}" for _m, _p, h in sent)
    assert str(ECHO_MODES[mode].status) in outputs["health"]
    outputs["--log file (TUI)"] = log_file.read_text()
    outputs["--log file (CLI)"] = cli_log.read_text()
    assert "source github:github error" in outputs["--log file (TUI)"]
    # Each deploy: one line when it starts, one with its outcome.
    assert outputs["--log file (TUI)"].count("action deploy pipeline") == 2 * len(CI_KINDS)
    entries = Store(data / "opsdash.db").audit_entries()
    assert sorted(e.host for e in entries) == sorted(f"{k}:{k}" for k in CI_KINDS)
    assert all(e.result == "failed" and e.error for e in entries)
    outputs["audit log"] = "\n".join(e.error for e in entries)
    for path in sorted(data.iterdir()) + sorted((tmp_path / "cli-data").iterdir()):
        outputs[f"{path.parent.name}/{path.name}"] = path.read_bytes().decode(
            "utf-8", "replace"
        )  # the DB and its WAL
    assert any(p.name.endswith("-wal") for p in data.iterdir())
    leaks = {sink: found for sink, text in outputs.items() if (found := shown_secrets(text))}
    assert not leaks, leaks
    print(f"{mode}: {len(HTTP_KINDS)} sources, {len(ALL_FORMS)} forms, {len(outputs)} sinks clean")


def run_of(label: str, kind: str) -> PipelineRun:
    """A run of `label`, only so that D picks that source."""
    return PipelineRun(label, kind, "acme/shop", "deploy", "1", RunStatus.SUCCESS)
