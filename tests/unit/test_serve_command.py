"""`opsdash serve` before it listens: which addresses need a token, the token's
sources, the shell command of each browser session's app process (quoted, the
same Python and config, `--read-only` unless `--allow-actions`) and the audit
name it runs under."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from opsdash import cli
from opsdash.actions.runner import current_actor
from tests.integration.serve_fixtures import need

TOKEN = "file-token-0123456789abcdef"


@pytest.fixture
def serve():
    need("textual_serve")
    from opsdash import serve

    return serve


def _settings(serve, **kw):
    base = dict(
        host="127.0.0.1",
        port=8765,
        public_url=None,
        token_file=None,
        allow_actions=False,
        environ={},
    )
    return serve.settings_for(**{**base, **kw})


def test_loopback_without_a_token_makes_one_and_prints_it(serve):
    settings = _settings(serve)
    assert settings.token_generated
    assert len(settings.token) >= 32
    assert settings.url_with_token == f"http://127.0.0.1:8765/?token={settings.token}"
    assert _settings(serve).token != settings.token


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.4", "dash.example.com"])
def test_a_reachable_address_refuses_to_start_without_a_token(serve, host):
    with pytest.raises(serve.ServeError) as err:
        _settings(serve, host=host)
    assert "not a loopback address" in str(err.value)
    assert "--token-file" in str(err.value)
    assert "OPSDASH_SERVE_TOKEN" in str(err.value)


def test_the_token_comes_from_the_file_then_the_environment(serve, tmp_path):
    path = tmp_path / "token"
    path.write_text(f"{TOKEN}\n")
    env = {"OPSDASH_SERVE_TOKEN": "env-token-0123456789abcdef"}
    from_file = _settings(serve, host="0.0.0.0", token_file=path, environ=env)
    assert (from_file.token, from_file.token_generated) == (TOKEN, False)
    assert from_file.public_url.endswith(":8765")
    assert _settings(serve, host="0.0.0.0", environ=env).token == env["OPSDASH_SERVE_TOKEN"]


def test_a_bad_token_or_port_is_one_line_without_the_token(serve, tmp_path):
    short = tmp_path / "short"
    short.write_text("abc")
    with pytest.raises(serve.ServeError, match="too short"):
        _settings(serve, token_file=short)
    with pytest.raises(serve.ServeError, match="cannot read it"):
        _settings(serve, token_file=tmp_path / "missing")
    with pytest.raises(serve.ServeError, match="--port"):
        _settings(serve, port=0)
    with pytest.raises(serve.ServeError, match="--public-url"):
        _settings(serve, public_url="ftp://x")


def test_the_app_command_survives_any_path_through_the_shell(serve, tmp_path):
    """The command runs through `sh -c`: every word reaches the app as it was."""
    fake_python = tmp_path / "my python $(touch pwned)"
    fake_python.write_text(
        "#!/bin/sh\n"
        f"exec {shlex.quote(sys.executable)} -c "
        + shlex.quote(
            "import json, os, sys; print(json.dumps([sys.argv[1:], os.environ['OPSDASH_ACTOR']]))"
        )
        + ' "$@"\n'
    )
    fake_python.chmod(0o755)
    config = "/tmp/odd dir/it's; rm -rf ~ `x`.toml"
    command = serve.app_command(["--config", config, "--read-only"], python=str(fake_python))
    full = serve.session_command(command, "web:0a1b2c3d@box")
    out = subprocess.run(
        ["sh", "-c", full], capture_output=True, text=True, cwd=tmp_path, check=True
    ).stdout
    argv, actor = json.loads(out)
    assert argv == ["-m", "opsdash", "--config", config, "--read-only", "tui"]
    assert actor == "web:0a1b2c3d@box"
    assert not (tmp_path / "pwned").exists()


def test_each_session_runs_the_same_python_and_config_read_only(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("docker = []\nhost = []\n")
    args = cli._parser().parse_args(["--config", str(config), "--theme", "nord", "serve"])
    loaded = cli.load_config(config, explicit=True)
    from opsdash.serve_cli import _tui_args

    words = _tui_args(args, loaded, read_only=True)
    assert words == ["--config", str(config.resolve()), "--theme", "nord", "--read-only"]
    assert "--read-only" not in _tui_args(args, loaded, read_only=False)


def test_the_server_spawns_no_app_outside_a_browser_session(serve):
    server = serve.OpsdashServer("python -m opsdash tui", _settings(serve))
    with pytest.raises(RuntimeError):
        _ = server.command
    token = serve._session.set("web:feedbeef@box")
    try:
        assert server.command.startswith("exec env OPSDASH_ACTOR=web:feedbeef@box ")
    finally:
        serve._session.reset(token)


async def test_the_servers_app_has_the_guard_on_every_route(serve):
    from aiohttp.test_utils import TestClient, TestServer

    server = serve.OpsdashServer("python -m opsdash tui", _settings(serve))
    async with TestClient(TestServer(await server._make_app())) as client:
        for path in ("/", "/static/js/textual.js", "/download/x"):
            assert (await client.get(path)).status == 403, path
        page = await client.get(f"/?token={server.settings.token}")
        assert page.status == 200
        assert "textual.js" in await page.text()


def test_a_missing_extra_is_one_line(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "textual_serve", None)  # import raises ImportError
    config = tmp_path / "config.toml"
    config.write_text("docker = []\nhost = []\n")
    assert cli.main(["--config", str(config), "serve"]) == 2
    err = capsys.readouterr().err
    assert err == "opsdash serve: textual-serve is not installed: pip install 'opsdash[serve]'\n"


def test_the_audit_actor_of_a_browser_session(monkeypatch):
    monkeypatch.setenv("OPSDASH_ACTOR", "web:0a1b2c3d@box")
    assert current_actor() == "web:0a1b2c3d@box"
    monkeypatch.setenv("OPSDASH_ACTOR", "web:\x1b[31mred\x1b[0m\nx@box")
    assert current_actor() == "web:red x@box"
    monkeypatch.delenv("OPSDASH_ACTOR")
    assert current_actor().endswith(f"@{os.uname().nodename}")


def test_reads_paths_as_paths():
    assert isinstance(cli._parser().parse_args(["serve", "--token-file", "t"]).token_file, Path)
