"""Docker contexts, read from a temporary DOCKER_CONFIG laid out as the docker
CLI writes it (`docker context create` / `docker context use`): the order the
CLI follows without a config, `[[docker]] context`, `--context`, TLS material,
and one line naming the file and the key for every broken piece."""

from __future__ import annotations

import json
import os

import pytest

from opsdash.config import ConfigError, load_config
from opsdash.sources import docker_contexts as contexts
from opsdash.sources.base import Detection
from opsdash.sources.docker import DockerHostConfig, DockerSource


def make_context(root, name, host, *, skip=False, tls=(), meta=None):
    """A context as the CLI stores it; `tls`: which of ca, cert, key to write."""
    digest = contexts.context_id(name)
    meta_dir = root / "contexts" / "meta" / digest
    meta_dir.mkdir(parents=True)
    document = meta or {
        "Name": name,
        "Metadata": {},
        "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": skip}},
    }
    (meta_dir / "meta.json").write_text(
        document if isinstance(document, str) else json.dumps(document)
    )
    if tls:
        tls_dir = root / "contexts" / "tls" / digest / "docker"
        tls_dir.mkdir(parents=True)
        for part in tls:
            (tls_dir / f"{part}.pem").write_text(f"{part}\n")
    return meta_dir / "meta.json"


def use(root, name):
    (root / "config.json").write_text(json.dumps({"auths": {}, "currentContext": name}))


@pytest.fixture
def docker_dir(tmp_path, monkeypatch):
    root = tmp_path / "docker-config"
    root.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(root))
    for name in ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
        monkeypatch.delenv(name, raising=False)
    return root


def detect(**env):
    return DockerSource.autodetect(Detection(environ={**os.environ, **env}))


def test_the_directory_is_named_by_the_sha256_of_the_name():
    # What `docker context create prod` made on a real CLI (28.2).
    assert contexts.context_id("prod") == (
        "6754af9632a2745e85c293e5aac0863370d9bd3330b9938c00cadfd215227d77"
    )


def test_docker_config_defaults_to_home(monkeypatch, tmp_path):
    monkeypatch.delenv("DOCKER_CONFIG", raising=False)
    assert contexts.config_dir({"HOME": str(tmp_path)}) == tmp_path / ".docker"
    assert contexts.config_dir({"DOCKER_CONFIG": str(tmp_path / "x")}) == tmp_path / "x"


def test_current_context_order(docker_dir):
    assert contexts.current_context(os.environ) == "default"  # no config.json
    use(docker_dir, "prod")
    assert contexts.current_context(os.environ) == "prod"
    assert contexts.current_context({**os.environ, "DOCKER_CONTEXT": "staging"}) == "staging"


def test_autodetect_docker_host_wins_over_every_context(docker_dir):
    make_context(docker_dir, "prod", "tcp://10.0.0.5:2375")
    use(docker_dir, "prod")
    (found,) = detect(DOCKER_HOST="unix:///tmp/x.sock", DOCKER_CONTEXT="prod")
    assert found.host == "unix:///tmp/x.sock" and found.name == "local" and not found.context


def test_autodetect_docker_context_then_current_context(docker_dir):
    make_context(docker_dir, "prod", "tcp://10.0.0.5:2375")
    make_context(docker_dir, "staging", "ssh://deploy@staging")
    use(docker_dir, "prod")
    (found,) = detect()
    assert (found.name, found.context, found.host) == ("prod", "prod", "tcp://10.0.0.5:2375")
    assert contexts.endpoint_of(found) == ("tcp://10.0.0.5:2375", None)  # plain TCP
    (found,) = detect(DOCKER_CONTEXT="staging")
    assert (found.name, found.host) == ("staging", "ssh://deploy@staging")


def test_autodetect_default_context_falls_back_to_the_socket(docker_dir):
    use(docker_dir, "default")
    found = detect()
    assert all(not c.context for c in found)  # the socket if it exists, else nothing


def test_tls_material_and_skip_verify(docker_dir):
    make_context(docker_dir, "tls", "tcp://box:2376", tls=("ca", "cert", "key"))
    make_context(docker_dir, "ca-only", "tcp://box:2376", tls=("ca",))
    make_context(docker_dir, "skip", "tcp://box:2376", skip=True)
    tls_dir = docker_dir / "contexts" / "tls" / contexts.context_id("tls") / "docker"
    assert contexts.load_context("tls").tls == contexts.TLSFiles(
        ca=str(tls_dir / "ca.pem"),
        cert=str(tls_dir / "cert.pem"),
        key=str(tls_dir / "key.pem"),
        verify=True,
    )
    only_ca = contexts.load_context("ca-only").tls
    assert only_ca is not None and only_ca.ca and not only_ca.cert and only_ca.verify
    assert contexts.load_context("skip").tls == contexts.TLSFiles(verify=False)


def test_the_client_gets_the_contexts_tls(docker_dir):
    """What docker_client.connect hands docker-py (no engine needed: no call is made)."""
    from opsdash.sources.docker_client import connect

    make_context(docker_dir, "tls", "tcp://127.0.0.1:1", tls=("ca", "cert", "key"))
    config = DockerHostConfig(name="t", context="tls", timeout=1).completed()
    tls_dir = docker_dir / "contexts" / "tls" / contexts.context_id("tls") / "docker"
    import docker.tls

    seen = {}
    real = docker.tls.TLSConfig.__init__

    def spy(self, **kw):
        seen.update(kw)
        real(self, **kw)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(docker.tls.TLSConfig, "__init__", spy)
        mp.setattr("docker.APIClient._retrieve_server_version", lambda self: "1.41")
        client = connect(config)
    assert client.base_url == "https://127.0.0.1:1"
    assert seen == {
        "client_cert": (str(tls_dir / "cert.pem"), str(tls_dir / "key.pem")),
        "ca_cert": str(tls_dir / "ca.pem"),
        "verify": True,
    }
    client.close()


def test_cert_path_tables_keep_their_meaning():
    config = DockerHostConfig(name="t", host="tcp://h:2376", tls_verify=True, cert_path="/certs")
    assert contexts.endpoint_of(config) == (
        "tcp://h:2376",
        contexts.TLSFiles("/certs/ca.pem", "/certs/cert.pem", "/certs/key.pem", True),
    )
    assert contexts.endpoint_of(DockerHostConfig(name="u", host="unix:///s")) == ("unix:///s", None)


def test_config_table_names_a_context(docker_dir, tmp_path):
    make_context(docker_dir, "prod", "ssh://ops@prod-box")
    make_context(docker_dir, "edge", "tcp://edge:2376", tls=("ca", "cert", "key"))
    path = tmp_path / "config.toml"
    path.write_text(
        '[[docker]]\ncontext = "prod"\nread_only = true\n'
        '[[docker]]\nname = "edge-eu"\ncontext = "edge"\nshell = ["/bin/bash", "-l"]\n'
    )
    prod, edge = load_config(path).of_kind("docker")
    assert (prod.name, prod.host, prod.read_only) == ("prod", "ssh://ops@prod-box", True)
    assert (edge.name, edge.host, edge.shell) == ("edge-eu", "tcp://edge:2376", ("/bin/bash", "-l"))
    assert edge.context_tls is not None and edge.context_tls.cert.endswith("cert.pem")


@pytest.mark.parametrize(
    ("meta", "says"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "must hold a JSON object"),
        ({"Name": "bad", "Endpoints": {}}, "Endpoints.docker: missing"),
        ({"Endpoints": {"docker": {"SkipTLSVerify": False}}}, "Endpoints.docker.Host: missing"),
        ({"Endpoints": {"docker": {"Host": "http://x"}}}, "Endpoints.docker.Host: 'http://x'"),
        (
            {"Endpoints": {"docker": {"Host": "tcp://x:1", "SkipTLSVerify": "yes"}}},
            "SkipTLSVerify: must be true or false",
        ),
    ],
)
def test_a_broken_meta_json_is_one_line_naming_file_and_key(docker_dir, tmp_path, meta, says):
    meta_file = make_context(docker_dir, "bad", "", meta=meta)
    path = tmp_path / "config.toml"
    path.write_text('refresh = 2\n[[docker]]\ncontext = "bad"\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert message.startswith(f"{path}:3: docker[0].context: {meta_file}: ")
    assert says in message and "\n" not in message and "Traceback" not in message


def test_unknown_and_invalid_names(docker_dir, tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[[docker]]\ncontext = "nope"\n')
    with pytest.raises(ConfigError, match=r'docker\[0\]\.context: no Docker context "nope": .*'
                       r"meta\.json does not exist"):  # fmt: skip
        load_config(path)
    path.write_text('[[docker]]\ncontext = "../../etc"\n')
    with pytest.raises(ConfigError, match="is not a Docker context name"):
        load_config(path)


def test_a_cert_without_its_key_is_named(docker_dir):
    make_context(docker_dir, "half", "tcp://x:2376", tls=("cert",))
    with pytest.raises(contexts.ContextError, match=r"docker: cert\.pem without key\.pem"):
        contexts.load_context("half")


def test_a_broken_config_json_is_shown_in_the_header_not_raised(docker_dir):
    (docker_dir / "config.json").write_text('{"currentContext": ')
    (found,) = detect()
    assert "config.json: not valid JSON" in found.context_problem
    with pytest.raises(contexts.ContextError, match=r"config\.json: not valid JSON"):
        contexts.endpoint_of(found)


def test_an_autodetected_context_that_is_gone_says_so_in_the_header(docker_dir):
    use(docker_dir, "gone")
    (found,) = detect()
    assert found.name == "gone" and 'no Docker context "gone"' in found.context_problem


def test_cli_context_replaces_the_engines(docker_dir, tmp_path, capsys):
    from opsdash.cli import main

    make_context(docker_dir, "prod", "tcp://127.0.0.1:1")
    make_context(docker_dir, "staging", "tcp://127.0.0.1:2")
    path = tmp_path / "config.toml"
    path.write_text(
        '[[docker]]\nname = "p"\ncontext = "prod"\ntimeout = 1\n'
        '[[docker]]\nname = "other"\nhost = "unix:///nonexistent.sock"\n'
    )
    config = load_config(path)
    chosen = contexts.with_contexts(config, ["prod", "staging", "prod"], DockerHostConfig)
    docker = chosen.of_kind("docker")
    assert [(c.name, c.host) for c in docker] == [
        ("p", "tcp://127.0.0.1:1"),  # the table, with its settings
        ("staging", "tcp://127.0.0.1:2"),
    ]
    assert docker[0].timeout == 1 and "docker" in chosen.tables
    assert main(["--config", str(path), "--context", "nope", "check"]) == 2
    err = capsys.readouterr().err
    assert err.startswith('opsdash: --context: no Docker context "nope"') and err.count("\n") == 1


def test_no_config_context_flag_then_check_names_the_context(docker_dir, tmp_path, capsys):
    from opsdash.cli import main

    make_context(docker_dir, "closed", "unix:///nonexistent/opsdash.sock")
    path = tmp_path / "config.toml"
    path.write_text("docker = []\n")  # --context adds the engine all the same
    code = main(["--config", str(path), "--context", "closed", "check"])
    out = capsys.readouterr().out
    assert code == 1 and "docker:closed" in out and "Traceback" not in out
