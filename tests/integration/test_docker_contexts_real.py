"""Docker contexts made by the real docker CLI (`docker context create`, `use`),
pointing at the private engine: its unix socket, and its tcp:// endpoint with
mutual TLS. opsdash reads them as the CLI does and the dashboard lists the
engine's containers under the context's name."""

from __future__ import annotations

import subprocess

import pytest

from opsdash.config import load_config
from opsdash.model import HealthState
from opsdash.widgets.resource_table import ResourceTable
from tests.fakes import run_isolated, unique
from tests.pilot import real_app, wait_for

pytestmark = pytest.mark.docker


def docker_cli(docker_config, *args: str) -> str:
    """The real CLI on a temporary config directory, pointing nowhere by itself."""
    env = {"DOCKER_CONFIG": str(docker_config), "PATH": "/usr/local/bin:/usr/bin:/bin"}
    done = subprocess.run(
        ["docker", *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def docker_config(tmp_path, monkeypatch):
    root = tmp_path / "docker-config"
    root.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(root))
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    return root


async def test_current_context_is_autodetected_and_listed(engine, docker_config, tmp_path):
    name = unique("ctx")
    run_isolated(engine, name, "local/busybox:1", "sleep", "300")
    docker_cli(
        docker_config, "context", "create", "private", "--docker", f"host={engine.docker_host}"
    )
    docker_cli(docker_config, "context", "use", "private")
    config = load_config(tmp_path / "absent.toml")  # no file: autodetected
    (docker,) = config.of_kind("docker")
    assert (docker.name, docker.context, docker.host) == ("private", "private", engine.docker_host)
    app = real_app(config)
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            table = app.screen.query_one("#containers-table", ResourceTable)
            await wait_for(
                pilot,
                lambda: any(r.name == name and r.host == "private" for r in table.records.values()),
            )
            assert app.poller.health("docker:private").state is HealthState.OK
    finally:
        engine.cli("rm", "-f", name, check=False)


async def test_a_context_at_a_tls_endpoint(docker_config, tmp_path):
    """A second engine listening on tcp:// with mutual TLS; the context holds
    copies of the certificates (the CLI stores them in contexts/tls/)."""
    from devstack.docker_engine import PrivateDockerEngine
    from tests.conftest import _need_docker

    _need_docker()
    with PrivateDockerEngine(tls=True) as eng:
        name = unique("tlsctx")
        run_isolated(eng, name, "local/busybox:1", "sh", "-c", "while :; do :; done")
        certs = eng.cert_dir
        docker_cli(
            docker_config,
            "context",
            "create",
            "secure",
            "--docker",
            f"host={eng.tcp_host},ca={certs}/ca.pem,cert={certs}/cert.pem,key={certs}/key.pem",
        )
        docker_cli(
            docker_config, "context", "create", "no-certs", "--docker", f"host={eng.tcp_host}"
        )
        path = tmp_path / "config.toml"
        path.write_text(
            'refresh = 0.5\n[[docker]]\ncontext = "secure"\n'
            '[[docker]]\ncontext = "no-certs"\ntimeout = 3\n'
            "[[host]]\n"
        )
        config = load_config(path)
        secure = config.of_kind("docker")[0]
        assert secure.host == eng.tcp_host and secure.context_tls is not None
        assert "/contexts/tls/" in secure.context_tls.ca  # the CLI's copy, not certs/
        app = real_app(config)
        async with app.run_test(size=(160, 48)) as pilot:
            table = app.screen.query_one("#containers-table", ResourceTable)
            await wait_for(
                pilot,
                lambda: any(
                    r.name == name and r.host == "secure" and r.memory_used
                    for r in table.records.values()
                ),
            )  # memory: the stats streams went over TLS as well
            await wait_for(
                pilot, lambda: app.poller.health("docker:no-certs").state is HealthState.ERROR
            )
            message = app.poller.health("docker:no-certs").message
            assert "\n" not in message and "Traceback" not in message
        # E's docker CLI flags reach the container over the same TLS endpoint.
        from tests.integration.test_shell_pty import _exec_echo

        cid = eng.cli("inspect", "--format", "{{.Id}}", name).stdout.strip()
        done = _exec_echo(secure, cid)
        assert done.returncode == 0 and done.stdout == "marker\n", done.stderr
