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
