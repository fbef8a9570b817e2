"""Try opsdash on a realistic demo stack, with nothing configured.

Usage::

    python scripts/demo.py

Use a Python that has opsdash's dependencies (``scripts/run`` makes ``.venv``;
then ``sudo .venv/bin/python scripts/demo.py``). It needs what the integration
tests need: root (to run dockerd), Debian's docker.io and busybox-static.

What it does:

1. starts a private dockerd in a fresh temp dir, on its own socket: it never
   touches any other Docker daemon (devstack.docker_engine.PrivateDockerEngine);
2. fills it with the demo stack of devstack.sample_stack: a compose project
   "shop" (web with a healthcheck, worker), a job that exited with code 1, a
   container in a crash loop, one whose log is full of Rich markup and escape
   sequences, and a two-replica Swarm service "api";
3. starts what devstack.demo_services can (each only when installed, as
   scripts/test installs them): Buildbot with a few builds, a GitHub replay
   server with a month of runs, MLflow with a registered model, Prometheus
   scraping a model-accuracy exporter, so every panel has something to show;
4. writes a config file for all of that plus this host into a temp dir and
   runs ``python -m opsdash --config <it>`` in this terminal, with its data
   dir in the same temp dir (your own config and history stay untouched);
5. when opsdash exits (q; inside the dashboard Ctrl-C only reminds you of q),
   on Ctrl-C while the stack starts, or on SIGTERM/SIGHUP, it stops opsdash
   cleanly and removes the engine, its containers, the servers and the temp dir.

Things to try: tab or 1..5 switch panels, / filters (try "shop"), enter shows
details (environment values stay hidden), l shows logs, z zooms a panel, D
deploys, P promotes a model, ? lists every key.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devstack.demo_services import GITHUB_TOKEN, DemoServices  # noqa: E402
from devstack.docker_engine import DockerEngineError, PrivateDockerEngine  # noqa: E402
from devstack.sample_stack import start_sample_stack, wait_for_sample_stack  # noqa: E402

REQUIRED_MODULES = ("textual", "rich", "docker", "psutil", "httpx")


def say(message: str) -> None:
    print(f"demo: {message}", flush=True)


def _terminate(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


TOKEN_VAR = "OPSDASH_DEMO_GITHUB_TOKEN"


def service_tables(services: DemoServices) -> str:
    """TOML for the demo's Kubernetes, CI, MLflow and Prometheus sources (JSON strings are TOML strings)."""
    configs = services.configs()
    pipelines = [c for c in configs if c.kind not in ("mlflow", "prometheus", "kubernetes")]
    kube = [c for c in configs if c.kind == "kubernetes"]
    mlflow = [c for c in configs if c.kind == "mlflow"]
    prometheus = [c for c in configs if c.kind == "prometheus"]
    out = []
    for k in kube:
        out += [
            "[[kubernetes]]",
            f"name = {json.dumps(k.name)}",
            f"context = {json.dumps(k.context)}",
        ]
        out += [f"kubeconfig = {json.dumps(k.kubeconfig)}", "auto_undo = true", ""]
    for p in pipelines:
        out += [f"[[{p.provider}]]", f"name = {json.dumps(p.name)}", f"url = {json.dumps(p.url)}"]
        if p.provider == "github":
            out += [f"repo = {json.dumps(p.project)}", f'token = "${{{TOKEN_VAR}}}"']
        out += [
            f"deploy = {json.dumps(p.deploy)}",
            f"deploy_branch = {json.dumps(p.deploy_branch)}",
            "",
        ]
    for m in mlflow:
        out += ["[[mlflow]]", f"name = {json.dumps(m.name)}", f"url = {json.dumps(m.url)}"]
        out += ["warning = { accuracy = 0.9 }", "breach = { accuracy = 0.85 }", ""]
    for q in prometheus:
        out += ["[[prometheus]]", f"name = {json.dumps(q.name)}", f"url = {json.dumps(q.url)}"]
        out += [f"query = {json.dumps(q.query)}", "warning = 0.9", "breach = 0.85", ""]
    return "\n".join(out)


def write_config(path: Path, docker_host: str, services: DemoServices | None = None) -> None:
    # JSON strings are valid TOML basic strings.
    path.write_text(
        "# Written by scripts/demo.py for its private servers; removed on exit.\n"
        "refresh = 1.0\n"
        "\n"
        "[[docker]]\n"
        'name = "demo"\n'
        f"host = {json.dumps(docker_host)}\n"
        "\n"
        "[[host]]\n"
        'name = "demo-host"\n'
        'disks = ["/"]\n\n' + (service_tables(services) if services else ""),
        encoding="utf-8",
    )


def stop(proc: subprocess.Popen[bytes]) -> int:
    """Stop opsdash so it restores the terminal: SIGINT first (the app shuts down
    cleanly on it; SIGTERM would leave the terminal in raw mode), then harder."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        try:
            return proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            continue
    return proc.wait()


def run_opsdash(config: Path, data_dir: Path) -> int:
    env = dict(os.environ)
    env.pop("OPSDASH_CONFIG", None)
    env["OPSDASH_DATA_DIR"] = str(data_dir)
    env[TOKEN_VAR] = GITHUB_TOKEN  # the replay server's; a real token is never needed
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.Popen([sys.executable, "-m", "opsdash", "--config", str(config)], env=env)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        try:  # the SIGINT reached opsdash too: let it shut down on its own first
            return proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return stop(proc)
    finally:
        if proc.poll() is None:  # we are exiting on a signal: stop opsdash first
            stop(proc)


def main() -> int:
    missing = [m for m in REQUIRED_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        say(f"this Python lacks {', '.join(missing)}: run it with the venv scripts/run makes")
        say("  (e.g. scripts/run --version, then .venv/bin/python scripts/demo.py)")
        return 2
    signal.signal(signal.SIGTERM, _terminate)
    with contextlib.suppress(AttributeError, ValueError):
        signal.signal(signal.SIGHUP, _terminate)

    work_dir = Path(tempfile.mkdtemp(prefix="opsdash-demo-"))
    engine = PrivateDockerEngine()
    services = DemoServices(work_dir / "servers", log=say)
    code = 1
    try:
        say(f"starting a private Docker engine in {engine.base_dir}")
        try:
            engine.start()
            say("preparing the demo images (busybox and a small web server)")
            engine.ensure_images()
            say("starting the demo stack: shop-web-1, shop-worker-1, nightly-backup,")
            say("  flaky-consumer, noisy-logger and the Swarm service api (2 replicas)")
            start_sample_stack(engine)
            say("waiting until the stack is up")
            started = time.monotonic()
            try:
                wait_for_sample_stack(engine, timeout=60)
                say(f"stack ready in {time.monotonic() - started:.1f}s")
            except DockerEngineError as exc:
                say(f"not everything is up yet, starting anyway ({exc})")
        except (DockerEngineError, OSError, subprocess.SubprocessError) as exc:
            say(f"could not start the demo engine: {exc}")
            if hasattr(os, "geteuid") and os.geteuid() != 0:
                say("dockerd needs root: try sudo with the same Python")
            return 1

        say("starting Buildbot, a GitHub replay, MLflow and Prometheus (what is installed)")
        try:
            services.start()
        except Exception as exc:  # noqa: BLE001 - the containers alone still make a demo
            say(f"pipelines and models left out: {exc}")
        config = work_dir / "config.toml"
        write_config(config, engine.docker_host, services)
        say(f"config written to {config}")
        say(f"starting: opsdash --config {config}   (q quits, ? lists the keys)")
        time.sleep(1)  # let the messages be read before the screen switches
        code = run_opsdash(config, work_dir / "data")
        say(f"opsdash exited with code {code}")
    except KeyboardInterrupt:
        say("interrupted")
        code = 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # cleanup must finish
        say("stopping the demo servers, removing the engine and its containers (a few seconds)")
        services.close()
        engine.cleanup()
        shutil.rmtree(work_dir, ignore_errors=True)
        say("done")
    return code


if __name__ == "__main__":
    sys.exit(main())
