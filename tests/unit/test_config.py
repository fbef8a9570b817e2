"""Config: every error is one line naming file, key and (for syntax) line."""

from __future__ import annotations

import pytest

from opsdash.config import ConfigError, load_config


def write(tmp_path, text):
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_syntax_error_names_file_and_line(tmp_path):
    path = write(tmp_path, 'refresh = 2\n[[docker]]\nname = "a"\nhost = \n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert message.startswith(f"{path}:4: syntax error")
    assert "\n" not in message


def test_unknown_key_suggests(tmp_path):
    path = write(tmp_path, '[[docker]]\nname = "a"\nhots = "unix:///x.sock"\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == f"{path}:3: docker[0].hots: unknown key (did you mean 'host'?)"


def test_wrong_type_names_key(tmp_path):
    path = write(tmp_path, '[[docker]]\nname = "a"\nrefresh = "fast"\n')
    with pytest.raises(ConfigError, match=r"docker\[0\]\.refresh: must be int or float, not str"):
        load_config(path)


def test_bad_scheme(tmp_path):
    path = write(tmp_path, '[[docker]]\nhost = "http://box"\n')
    with pytest.raises(ConfigError, match=r"docker\[0\]\.host: must start with unix://"):
        load_config(path)


def test_env_reference_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("MY_DOCKER", "tcp://127.0.0.1:2376")
    path = write(tmp_path, '[[docker]]\nname = "remote"\nhost = "${MY_DOCKER}"\n')
    config = load_config(path)
    assert config.docker[0].host == "tcp://127.0.0.1:2376"
    assert config.docker[0].name == "remote"


def test_missing_env_reference_is_an_error(tmp_path, monkeypatch):
    monkeypatch.delenv("NOPE_NOT_SET", raising=False)
    path = write(tmp_path, '[[docker]]\nhost = "${NOPE_NOT_SET}"\n')
    with pytest.raises(ConfigError, match="environment variable NOPE_NOT_SET is not set"):
        load_config(path)


def test_several_docker_hosts_and_duplicate_names(tmp_path):
    path = write(
        tmp_path,
        '[[docker]]\nname = "a"\nhost = "unix:///a.sock"\n'
        '[[docker]]\nname = "b"\nhost = "ssh://ops@box"\nread_only = true\n',
    )
    config = load_config(path)
    assert [d.name for d in config.docker] == ["a", "b"]
    assert config.docker[1].read_only
    dup = write(tmp_path, '[[docker]]\nname = "a"\n[[docker]]\nname = "a"\n')
    with pytest.raises(ConfigError, match="duplicate source name"):
        load_config(dup)


def test_missing_file_autodetects_docker_host(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///tmp/some.sock")
    config = load_config(tmp_path / "absent.toml")
    assert config.path is None
    assert config.docker[0].host == "unix:///tmp/some.sock"
    assert len(config.hosts) == 1


def test_explicit_missing_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "absent.toml", explicit=True)


def test_empty_docker_array_disables_autodetect(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///tmp/some.sock")
    config = load_config(write(tmp_path, "docker = []\n"))
    assert config.docker == ()


def test_cli_flags_override(tmp_path):
    config = load_config(write(tmp_path, "refresh = 5\n"), read_only=True, refresh=1.5)
    assert config.read_only and config.refresh == 1.5
    assert all(h.refresh == 1.5 for h in config.hosts)


def test_keys_table_validated_by_cli(tmp_path, capsys):
    from opsdash.cli import main

    path = write(tmp_path, '[keys]\nfliter = "f"\n')
    assert main(["--config", str(path), "check"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"opsdash: {path}:2: keys.fliter: unknown binding id (did you mean 'filter'?)"


def test_cli_reports_bad_config_in_one_line(tmp_path, capsys):
    from opsdash.cli import main

    path = write(tmp_path, "refresh = [\n")
    assert main(["--config", str(path), "snapshot"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{path}:1: syntax error" in err


def test_literal_secret_warns(tmp_path, monkeypatch):
    from opsdash.config import _Reader

    reader = _Reader(tmp_path / "c.toml", "")
    reader.expand("github[0].token", "ghp_literal")
    monkeypatch.setenv("TOKEN_X", "s3cret")
    assert reader.expand("github[0].token", "${TOKEN_X}") == "s3cret"
    assert len(reader.warnings) == 1
    assert "literal secret" in reader.warnings[0] and "ghp_literal" not in reader.warnings[0]


# --- CI, MLflow and Prometheus tables ---------------------------------------------


def test_pipeline_tables_parse_with_env_tokens(tmp_path, monkeypatch):
    monkeypatch.setenv("GH_SECRET", "ghp_s3cret")
    monkeypatch.setenv("JENKINS_TOKEN", "j3nkins")
    path = write(
        tmp_path,
        """
[[github]]
repo = "acme/api"
token = "${GH_SECRET}"
workflows = ["ci.yml"]
deploy = "deploy.yml"
deploy_branch = "main"
deploy_inputs = { env = "prod", dry_run = false }

[[jenkins]]
url = "https://ci.example.com/"
jobs = ["shop/deploy"]
user = "me"
token = "${JENKINS_TOKEN}"

[[buildbot]]
url = "http://127.0.0.1:8010"
""",
    )
    config = load_config(path)
    github, jenkins, buildbot = config.pipelines
    assert (github.provider, github.name, github.url) == ("github", "api", "https://api.github.com")
    assert github.token == "ghp_s3cret" and github.jobs == ("ci.yml",)
    assert github.deploy_inputs == (("env", "prod"), ("dry_run", "false"))
    assert "ghp_s3cret" not in repr(github)  # secrets stay out of reprs and tracebacks
    assert jenkins.url == "https://ci.example.com" and jenkins.jobs == ("shop/deploy",)
    assert buildbot.ref_parameter == "branch" and buildbot.service_name == "buildbot"
    assert not config.warnings


def test_pipeline_errors_are_one_line(tmp_path):
    cases = {
        '[[github]]\nrepo = "acme"\n': r"github\[0\]\.repo: must be \"owner/name\"",
        "[[gitlab]]\nurl = 'https://gitlab.example.com'\n": r"gitlab\[0\]\.project: is required",
        '[[jenkins]]\nurl = "https://ci"\n': r"jenkins\[0\]\.jobs: is required",
        '[[buildbot]]\nurl = "ftp://x"\n': r"buildbot\[0\]\.url: must be an http:// or https:// URL",
        '[[github]]\nrepo = "a/b"\nworkflow = ["x"]\n': r"did you mean 'workflows'",
        '[[github]]\nrepo = "a/b"\ntoken = "${NOPE_NOT_SET}"\n': r"NOPE_NOT_SET is not set",
    }
    for text, pattern in cases.items():
        path = write(tmp_path, text)
        with pytest.raises(ConfigError, match=pattern) as err:
            load_config(path)
        assert "\n" not in str(err.value)


def test_literal_token_warns(tmp_path):
    path = write(tmp_path, '[[gitlab]]\nproject = "a/b"\ntoken = "glpat-literal"\n')
    config = load_config(path)
    assert any("gitlab[0].token: literal secret" in w for w in config.warnings)
    assert all("glpat-literal" not in w for w in config.warnings)


def test_models_tables(tmp_path):
    path = write(
        tmp_path,
        """
[[mlflow]]
url = "http://127.0.0.1:5000"
metrics = ["accuracy", "rmse"]
lower_is_better = ["rmse"]
warning = { accuracy = 0.9 }
breach = { accuracy = 0.85, rmse = 2 }

[[prometheus]]
url = "http://127.0.0.1:9090"
query = 'model_accuracy{env="prod"}'
breach = 0.8
direction = "higher"
""",
    )
    config = load_config(path)
    (mlflow,) = config.mlflow
    (prom,) = config.prometheus
    assert mlflow.breach == (("accuracy", 0.85), ("rmse", 2.0))
    assert prom.breach == 0.8 and prom.warning is None
    bad = write(tmp_path, '[[prometheus]]\nurl = "http://x"\nquery = "q"\ndirection = "up"\n')
    with pytest.raises(ConfigError, match=r"prometheus\[0\]\.direction"):
        load_config(bad)


def _checkout(root, url):
    (root / ".git").mkdir(parents=True)
    (root / ".git" / "config").write_text(
        f'[core]\n\tbare = false\n[remote "origin"]\n\turl = {url}\n\tfetch = +refs/heads/*\n'
    )


@pytest.mark.parametrize(
    ("url", "provider", "project", "api"),
    [
        ("git@github.com:acme/api.git", "github", "acme/api", "https://api.github.com"),
        ("https://github.com/acme/api", "github", "acme/api", "https://api.github.com"),
        (
            "ssh://git@gitlab.example.com:2222/grp/sub/shop.git",
            "gitlab",
            "grp/sub/shop",
            "https://gitlab.example.com",
        ),
    ],
)
def test_zero_config_pipelines_from_the_checkout(
    tmp_path, monkeypatch, url, provider, project, api
):
    from opsdash.config import autodetect_pipelines

    _checkout(tmp_path / "repo", url)
    nested = tmp_path / "repo" / "src" / "pkg"
    nested.mkdir(parents=True)
    for var in ("GITHUB_TOKEN", "GH_TOKEN", "GITLAB_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    assert autodetect_pipelines(nested) == ()  # no token: nothing
    monkeypatch.setenv("GH_TOKEN" if provider == "github" else "GITLAB_TOKEN", "t0ken")
    (found,) = autodetect_pipelines(nested)
    assert (found.provider, found.project, found.url, found.token) == (
        provider,
        project,
        api,
        "t0ken",
    )


def test_zero_config_ignores_other_hosts(tmp_path, monkeypatch):
    from opsdash.config import autodetect_pipelines

    monkeypatch.setenv("GITHUB_TOKEN", "x")
    _checkout(tmp_path, "https://bitbucket.org/acme/api.git")
    assert autodetect_pipelines(tmp_path) == ()
