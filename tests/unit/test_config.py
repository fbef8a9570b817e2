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
    assert config.of_kind("docker")[0].host == "tcp://127.0.0.1:2376"
    assert config.of_kind("docker")[0].name == "remote"


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
    assert [d.name for d in config.of_kind("docker")] == ["a", "b"]
    assert config.of_kind("docker")[1].read_only
    dup = write(tmp_path, '[[docker]]\nname = "a"\n[[docker]]\nname = "a"\n')
    with pytest.raises(ConfigError, match="duplicate source name"):
        load_config(dup)


def test_missing_file_autodetects_docker_host(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///tmp/some.sock")
    config = load_config(tmp_path / "absent.toml")
    assert config.path is None
    assert config.of_kind("docker")[0].host == "unix:///tmp/some.sock"
    assert len(config.of_kind("host")) == 1


def test_explicit_missing_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "absent.toml", explicit=True)


def test_empty_docker_array_disables_autodetect(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///tmp/some.sock")
    config = load_config(write(tmp_path, "docker = []\n"))
    assert config.of_kind("docker") == ()


def test_cli_flags_override(tmp_path):
    config = load_config(write(tmp_path, "refresh = 5\n"), read_only=True, refresh=1.5)
    assert config.read_only and config.refresh == 1.5
    assert all(h.refresh == 1.5 for h in config.of_kind("host"))


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
    github, jenkins, buildbot = config.of_kind("github", "jenkins", "buildbot")
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
    (mlflow,) = config.of_kind("mlflow")
    (prom,) = config.of_kind("prometheus")
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


def _ci_found(start):
    """What the CI sources autodetect in the checkout holding `start`."""
    from opsdash.sources.base import Detection
    from opsdash.sources.registry import source_class

    detection = Detection(cwd=start)
    return tuple(c for k in ("github", "gitlab") for c in source_class(k).autodetect(detection))


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
    _checkout(tmp_path / "repo", url)
    nested = tmp_path / "repo" / "src" / "pkg"
    nested.mkdir(parents=True)
    for var in ("GITHUB_TOKEN", "GH_TOKEN", "GITLAB_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    assert _ci_found(nested) == ()  # no token: nothing
    monkeypatch.setenv("GH_TOKEN" if provider == "github" else "GITLAB_TOKEN", "t0ken")
    (found,) = _ci_found(nested)
    assert (found.provider, found.project, found.url, found.token) == (
        provider,
        project,
        api,
        "t0ken",
    )


def test_zero_config_ignores_other_hosts(tmp_path, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "x")
    _checkout(tmp_path, "https://bitbucket.org/acme/api.git")
    assert _ci_found(tmp_path) == ()


# --- the twelve configs of issue 10 that were not clean ---------------------------
# Each must end in exit 2 and one line naming the file and the key (and line).


def cli_error(capsys, argv, key):
    """Run the real CLI entry; return its one stderr line, checked for file, key, no escape."""
    from opsdash.cli import main

    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert "Traceback" not in err and "\x1b" not in err
    assert key in err, err
    return err.strip()


@pytest.mark.parametrize("case", ["missing", "directory", "dev-zero", "not-pem"])
def test_bad_ca_bundle_is_one_line(tmp_path, capsys, case):
    not_pem = tmp_path / "notes.txt"
    not_pem.write_text("hello\n")
    bundle = {
        "missing": str(tmp_path / "absent.pem"),
        "directory": str(tmp_path),
        "dev-zero": "/dev/zero",
        "not-pem": str(not_pem),
    }[case]
    path = write(tmp_path, f'[[github]]\nrepo = "a/b"\nca_bundle = "{bundle}"\n')
    line = cli_error(capsys, ["--config", str(path), "check"], "github[0].ca_bundle")
    assert line.startswith(f"opsdash: {path}:3: github[0].ca_bundle: {bundle}: ")


def test_a_good_ca_bundle_loads(tmp_path):
    import certifi

    path = write(tmp_path, f'[[mlflow]]\nurl = "https://m"\nca_bundle = "{certifi.where()}"\n')
    assert load_config(path).of_kind("mlflow")[0].ca_bundle == certifi.where()


@pytest.mark.parametrize("how", ["--config", "OPSDASH_CONFIG"])
def test_config_dev_zero_is_refused_without_reading_it(capsys, monkeypatch, how):
    if how == "--config":
        argv = ["--config", "/dev/zero", "check"]
    else:
        monkeypatch.setenv("OPSDASH_CONFIG", "/dev/zero")
        argv = ["check"]
    line = cli_error(capsys, argv, "/dev/zero")
    assert line.startswith("opsdash: /dev/zero: is a character device, not a regular file")


def test_refresh_nan_is_refused(tmp_path, capsys):
    path = write(tmp_path, "refresh = nan\n")
    line = cli_error(capsys, ["--config", str(path), "check"], "refresh")
    assert line == f"opsdash: {path}:1: refresh: must be from 0.5 to 86400 seconds, not nan"


def test_stats_concurrency_is_bounded(tmp_path, capsys):
    path = write(tmp_path, '[[docker]]\nhost = "unix:///x.sock"\nstats_concurrency = 100000000\n')
    line = cli_error(capsys, ["--config", str(path), "check"], "docker[0].stats_concurrency")
    assert line.endswith("must be from 1 to 64, not 100000000")


def test_deep_nesting_is_one_line(tmp_path, capsys):
    path = write(tmp_path, "refresh = 2\nx = " + "[" * 5000 + "\n")
    line = cli_error(capsys, ["--config", str(path), "check"], str(path))
    assert line == f"opsdash: {path}:2: arrays or inline tables nested deeper than 100"


def test_keys_value_with_an_escape_is_refused(tmp_path, capsys):
    path = write(tmp_path, '[keys]\nquit = "\\u001b]0;TITLE\\u0007"\n')
    line = cli_error(capsys, ["--config", str(path), "check"], "keys.quit")
    assert line.startswith(f"opsdash: {path}:2: keys.quit: must be key names of printable ASCII")


def test_opsdash_config_naming_a_missing_file_is_an_error(tmp_path, capsys, monkeypatch):
    missing = tmp_path / "absent.toml"
    monkeypatch.setenv("OPSDASH_CONFIG", str(missing))
    line = cli_error(capsys, ["check"], str(missing))
    assert line == f"opsdash: {missing}: config file not found (named by $OPSDASH_CONFIG)"


def test_a_remap_onto_a_move_key_names_both_ids(tmp_path, capsys):
    path = write(tmp_path, '[keys]\nquit = "j"\n')
    line = cli_error(capsys, ["--config", str(path), "check"], "keys.quit")
    assert (
        line == f"opsdash: {path}:2: keys.quit: 'j' is a move key (cursor-down); pick another key"
    )
