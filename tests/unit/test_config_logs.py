"""The [logs] table: since and tail checked as the screen's `o` checks them,
errors in one line with the file, the line and the key."""

from __future__ import annotations

import pytest

from opsdash.config import ConfigError, load_config
from opsdash.config_logs import LogsConfig


def _load(tmp_path, text: str):
    path = tmp_path / "config.toml"
    path.write_text(f"docker = []\nhost = []\n{text}")
    return path, load_config(path, autodetect=False)


def test_logs_keys_are_read(tmp_path):
    _path, config = _load(tmp_path, '[logs]\nsince = "15m"\ntail = 200\ndirectory = "~/x"\n')
    assert config.logs.since == "15m" and config.logs.tail == 200
    assert config.logs.directory.endswith("/x") and not config.logs.directory.startswith("~")


def test_without_a_table_the_defaults_hold(tmp_path):
    _path, config = _load(tmp_path, "")
    assert config.logs == LogsConfig(since="", tail=1000, directory="")


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        ('[logs]\nsince = "yesterday"\n', "logs.since", "a duration such as 30s, 15m"),
        ('[logs]\nsince = "2026-12-03"\n', "logs.since", "RFC 3339"),
        ("[logs]\ntail = 20000\n", "logs.tail", "from 0 to 10000 lines"),
        ("[logs]\ntail = -1\n", "logs.tail", "from 0 to 10000"),
        ('[logs]\ntail = "all"\n', "logs.tail", "must be int"),
        ('[logs]\ndirectory = "relative/dir"\n', "logs.directory", "absolute path"),
        ('[logs]\ndirectory = "\\u001b]0;x"\n', "logs.directory", "escape"),
        ("[logs]\ntial = 5\n", "logs.tial", "did you mean 'tail'"),
        ("logs = 5\n", "logs", "must be a table"),
    ],
)
def test_bad_logs_values_are_one_line_with_file_line_and_key(tmp_path, text, key, message):
    path = tmp_path / "config.toml"
    path.write_text(f"docker = []\nhost = []\n{text}")
    with pytest.raises(ConfigError) as err:
        load_config(path, autodetect=False)
    line = str(err.value)
    assert line.startswith(f"{path}:") and f": {key}: " in line and message in line
    assert "\n" not in line and "\x1b" not in line
    if key != "logs":
        assert err.value.line is not None and err.value.line >= 3
