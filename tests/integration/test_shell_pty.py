"""`E` for real: opsdash in a pty suspends itself, `docker exec -it` gets the
terminal, a command typed in the container's shell prints there, and `exit`
brings the dashboard back; the audit log has the argv and nothing typed."""

from __future__ import annotations

import re
import shutil
import subprocess
import time

import pytest

from opsdash.actions import shell
from opsdash.sources.docker import DockerHostConfig
from opsdash.store import Store
from tests.fakes import run_isolated, unique
from tests.tui_process import TuiProcess

pytestmark = pytest.mark.docker


def _press_until(tui: TuiProcess, key: str, shows: str, attempts: int = 5) -> bool:
    for _ in range(attempts):
        tui.clear()
        tui.keys(key)
        for _ in range(40):
            if shows in tui.text:
                return True
            time.sleep(0.1)
    return False


def test_shell_in_a_container_and_back(engine, tmp_path):
    if shutil.which("docker") is None:
        pytest.skip("the docker CLI is not on PATH")
    name = unique("shell")
    run_isolated(engine, name, "local/busybox:1", "sleep", "300")
    config = tmp_path / "config.toml"
    config.write_text(f'refresh = 1\n[[docker]]\nname = "local"\nhost = "{engine.docker_host}"\n')
    data = tmp_path / "data"
    tui = TuiProcess(
        ["--config", str(config)], {"OPSDASH_DATA_DIR": str(data), "DOCKER_HOST": "unix:///no.sock"}
    )
    try:
        tui.wait_text(name)
        assert _press_until(tui, "/", "filter: words match")
        time.sleep(0.5)  # the box has focus a moment after it shows
        tui.keys(*name, "\r")
        time.sleep(0.5)
        tui.clear()
        tui.keys("E")
        tui.wait_for(lambda: re.search(r"/ # ", tui.text), "the container's shell prompt", 30)
        tui.keys(*'echo mark""er', "\r")  # typed: mark""er; printed: marker
        tui.wait_for(lambda: re.search(r"(?m)^marker\r?$", tui.text), "marker printed", 20)
        tui.clear()
        tui.keys(*"exit", "\r")
        tui.wait_for(lambda: name in tui.text and "Shell in" in tui.text, "the dashboard back", 30)
        tui.keys("q")
        assert tui.wait_exit(30) == 0
    finally:
        tui.close()
        engine.cli("rm", "-f", name, check=False)
    store = Store(data / "opsdash.db")
    try:
        (entry,) = [e for e in store.audit_entries() if e.action == "shell"]
    finally:
        store.close()
    assert (entry.target, entry.host, entry.result) == (name, "local", "ok")
    step = entry.steps[0][2]
    assert f"--host {engine.docker_host} exec -it" in step and step.endswith("/bin/sh")
    assert "marker" not in step and "mark" not in entry.error  # never what was typed


def _exec_echo(config, container_id: str) -> subprocess.CompletedProcess[str]:
    """E's own flags and environment, with a command instead of the interactive
    shell (-it needs a terminal): does the CLI reach the container through them?"""
    argv = shell.exec_argv("docker", config, container_id)
    flags = list(argv[: argv.index("exec")])
    return subprocess.run(
        [*flags, "exec", container_id, "echo", "marker"],
        env=shell.exec_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_flags_reach_an_ssh_host(engine, monkeypatch):
    import os

    from devstack.sshd_server import SSHServer, available

    if not available() or shutil.which("docker") is None:
        pytest.skip("openssh-server or the docker CLI is not installed")
    name = unique("sshshell")
    cid = run_isolated(engine, name, "local/busybox:1", "sleep", "300")
    try:
        with SSHServer(engine.socket_path) as sshd:
            monkeypatch.setenv("PATH", f"{sshd.client('docker')}{os.pathsep}{os.environ['PATH']}")
            config = DockerHostConfig(name="ssh", host=sshd.url)
            done = _exec_echo(config, cid)
            assert done.returncode == 0 and done.stdout == "marker\n", done.stderr
    finally:
        engine.cli("rm", "-f", name, check=False)
