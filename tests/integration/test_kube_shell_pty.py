"""`E` on a pod for real: opsdash in a pty suspends itself, the real kubectl gets
the terminal and runs `exec -it` through the emulator's WebSocket exec
(devstack/kube/exec.py, a local process in a pty standing in for the container),
a command typed there prints, and `exit` brings the dashboard back; the audit
log has the argv and nothing typed, and no credential."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from devstack.kube import KubeApiServer, write_kubeconfig
from opsdash.store import Store
from tests.missing import missing
from tests.tui_process import TuiProcess


def kubectl_binary() -> str | None:
    """OPSDASH_KUBECTL (scripts/test unpacks Debian's), else the one on PATH."""
    found = os.environ.get("OPSDASH_KUBECTL") or shutil.which("kubectl")
    return found if found and Path(found).is_file() else None


def need_kubectl() -> str:
    kubectl = kubectl_binary()
    if kubectl is None or shutil.which("openssl") is None:
        missing("no kubectl (OPSDASH_KUBECTL; scripts/test unpacks it) or no openssl")
    minor = kubectl_minor(kubectl)
    if minor is not None and minor < 30:
        # Debian bookworm's kubectl is 1.20: its exec speaks SPDY only, and the
        # emulator speaks the WebSocket protocol kubectl uses by default since 1.30
        # (KEP-4006). Not a missing install, so a skip in CI too.
        pytest.skip(f"kubectl 1.{minor} execs over SPDY only; the emulator needs >= 1.30")
    return kubectl


def kubectl_minor(kubectl: str) -> int | None:
    """The client's minor version (`kubectl version --client -o json`)."""
    done = subprocess.run(
        [kubectl, "version", "--client", "-o", "json"], capture_output=True, text=True, timeout=30
    )
    try:
        return int(json.loads(done.stdout)["clientVersion"]["minor"].rstrip("+"))
    except (ValueError, KeyError, TypeError):
        return None


@pytest.fixture
def cluster(tmp_path):
    # TLS: kubectl sends a bearer token only over HTTPS (kubernetes/kubectl#744)
    with KubeApiServer(
        token="exec-token-0123456789", ready_delay=0.05, tls_dir=tmp_path / "tls"
    ) as api:
        api.add_deployment("default", "web", "nginx:1", replicas=1)
        api.wait_until(
            lambda: [p for p in api.pods("default") if p["status"]["phase"] == "Running"]
        )
        yield api


def test_kubectl_exec_through_the_emulator_websocket(cluster, tmp_path):
    """kubectl's own exec, no terminal: stdin closed (v5 close signal), the exit
    status carried on the error channel; only GETs (the WebSocket), no SPDY POST."""
    kubectl = need_kubectl()
    config = write_kubeconfig(tmp_path / "kubeconfig", {"emu": cluster})
    pod = cluster.pods("default")[0]["metadata"]["name"]
    base = [kubectl, "--kubeconfig", str(config), "--cache-dir", str(tmp_path / "cache")]
    script = "read line; echo got:$line; echo oops >&2; exit 3"
    done = subprocess.run(
        [*base, "exec", "-i", "-n", "default", pod, "--", "/bin/sh", "-c", script],
        input="hello\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout) == (3, "got:hello\n"), done.stderr
    assert "oops" in done.stderr
    missing = subprocess.run(
        [*base, "exec", "-n", "default", pod, "--", "/no/such/shell"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert missing.returncode == 127 and "/no/such/shell" in missing.stderr
    exec_methods = {s.method for s in cluster.requests if s.path.endswith("/exec")}
    assert exec_methods == {"GET"}  # the WebSocket each time: no SPDY POST to fall back to


def test_shell_in_a_pod_and_back(cluster, tmp_path):
    kubectl = need_kubectl()
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", {"emu": cluster})
    pod = cluster.pods("default")[0]["metadata"]["name"]
    config = tmp_path / "config.toml"
    config.write_text(
        f'refresh = 1\n[[kubernetes]]\nname = "emu"\ncontext = "emu"\nkubeconfig = "{kubeconfig}"\n'
    )
    data = tmp_path / "data"
    env = {
        "OPSDASH_DATA_DIR": str(data),
        "PATH": f"{Path(kubectl).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "KUBECONFIG": str(tmp_path / "nowhere"),
        "DOCKER_HOST": "unix:///no.sock",
        "HOME": str(tmp_path),  # kubectl's cache
    }
    tui = TuiProcess(["--config", str(config)], env)
    try:
        tui.keys("6")
        tui.wait_text("web")
        tui.keys(":")
        time.sleep(0.5)
        tui.keys(*"pods", "\r")
        tui.wait_text(pod)
        time.sleep(0.5)
        tui.clear()
        tui.keys("E")
        tui.wait_for(lambda: re.search(r"\$ ", tui.text), "the pod's shell prompt", 30)
        tui.keys(*'echo mark""er', "\r")  # typed: mark""er; printed: marker
        tui.wait_for(lambda: re.search(r"(?m)^marker\r?$", tui.text), "marker printed", 20)
        tui.keys(*"stty size", "\r")  # kubectl sent the terminal's size on the resize channel
        tui.wait_for(lambda: re.search(r"(?m)^48 160\r?$", tui.text), "the pty's size", 20)
        tui.clear()
        tui.keys(*"exit", "\r")
        tui.wait_for(lambda: pod in tui.text and "Shell in" in tui.text, "the dashboard back", 30)
        tui.keys("q")
        assert tui.wait_exit(30) == 0
    finally:
        tui.close()
    store = Store(data / "opsdash.db")
    try:
        (entry,) = [e for e in store.audit_entries() if e.action == "shell"]
    finally:
        store.close()
    assert (entry.target, entry.host, entry.result) == (pod, "emu", "ok")
    step = entry.steps[0][2]
    assert f"--kubeconfig {kubeconfig} --context emu exec -it -n default {pod} -c web" in step
    assert step.endswith("-- /bin/sh")
    assert "marker" not in step and "mark" not in entry.error  # never what was typed
    assert cluster.token not in step
