"""Config limits: every number finite and ranged, strings clean, [keys] remaps checked."""

from __future__ import annotations

import pytest

from opsdash.config import ConfigError, load_config
from tests.unit.test_config import cli_error, write


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        ("refresh = inf\n", "refresh", "not inf"),
        ("refresh = -inf\n", "refresh", "not -inf"),
        ("refresh = 0\n", "refresh", "not 0"),
        ("refresh = -1\n", "refresh", "not -1"),
        ("refresh = 1e9\n", "refresh", "not 1000000000"),
        ("health_timeout = nan\n", "health_timeout", "not nan"),
        ("[[host]]\nrefresh = 0\n", "host[0].refresh", "not 0"),
        ('[[github]]\nrepo = "a/b"\ntimeout = nan\n', "github[0].timeout", "not nan"),
        ('[[github]]\nrepo = "a/b"\nruns = 100000\n', "github[0].runs", "not 100000"),
        (
            '[[prometheus]]\nurl = "http://p"\nquery = "q"\ntrend = inf\n',
            "prometheus[0].trend",
            "inf",
        ),
        (
            '[[prometheus]]\nurl = "http://p"\nquery = "q"\nbreach = nan\n',
            "prometheus[0].breach",
            "must be a finite number",
        ),
        (
            '[[mlflow]]\nurl = "http://m"\nwarning = { rmse = inf }\n',
            "mlflow[0].warning.rmse",
            "must be a finite number",
        ),
        (
            '[[github]]\nrepo = "a/b"\ndeploy_inputs = { n = nan }\n',
            "github[0].deploy_inputs.n",
            "finite",
        ),
        ("[dora]\nretention_days = 10000000000\n", "dora.retention_days", "from 1 to 3650"),
        ("[dora]\nfailure_window = 1e308\n", "dora.failure_window", "not 1e+308"),
        (
            '[[redeploy]]\nmatch_name = "x"\nargv = ["a"]\ntimeout = -5\n',
            "redeploy[0].timeout",
            "not -5",
        ),
    ],
)
def test_every_number_is_finite_and_in_range(tmp_path, text, key, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert f": {key}: " in str(err.value) and message in str(err.value)


def test_every_number_in_the_schema_has_a_documented_range():
    from pathlib import Path

    from opsdash import config
    from opsdash.config_checks import RANGES, number_text, range_of

    schemas = config.schemas()  # the sources' from their dataclasses
    numeric = (int, float, (int, float))
    for kind, schema in schemas.items():
        for name, (expected, _default) in schema.items():
            if expected in numeric or name in ("warning", "breach", "deploy_inputs"):
                range_of(f"{kind}[0].{name}")  # KeyError: a number without a range
    docs = (Path(__file__).resolve().parents[2] / "docs" / "config.md").read_text()
    for low, high, _unit in RANGES.values():
        if low > -1e300:
            assert f"{number_text(low)} to {number_text(high)}" in docs


def test_cli_refresh_must_be_in_range(capsys):
    from opsdash.cli import main

    for value in ("nan", "inf", "0", "-1", "1e12"):
        assert main(["--refresh", value, "check"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("opsdash: --refresh: must be from 0.5 to 86400 seconds")


def test_env_value_with_a_newline_or_escape_is_refused_without_showing_it(tmp_path, monkeypatch):
    monkeypatch.setenv("OPSDASH_T_HOST", "unix:///x.sock\n\x1b]0;pwned\x07")
    monkeypatch.setenv("OPSDASH_T_TOKEN", "ghp_s3cret\r\nX-Injected: 1")
    path = write(tmp_path, '[[docker]]\nhost = "${OPSDASH_T_HOST}"\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == (
        f"{path}:2: docker[0].host: contains a newline (U+000A); remove it "
        "(after expanding ${OPSDASH_T_HOST})"
    )
    path = write(tmp_path, '[[github]]\nrepo = "a/b"\ntoken = "${OPSDASH_T_TOKEN}"\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "github[0].token" in str(err.value) and "s3cret" not in str(err.value)


def test_hostile_key_names_are_shown_escaped(tmp_path):
    path = write(tmp_path, '"\\u001b]0;EVIL\\u0007\\u202e" = 1\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == f"{path}: \\x1b]0;EVIL\\x07\\u202e: unknown key"


def test_bom_is_skipped_and_bad_utf8_names_the_line(tmp_path):
    path = tmp_path / "config.toml"
    path.write_bytes(b"\xef\xbb\xbfrefresh = 3\n")
    assert load_config(path).refresh == 3.0
    path.write_bytes(b"refresh = 3\n# caf\xe9\n")
    with pytest.raises(ConfigError, match=r":2: not valid UTF-8 text"):
        load_config(path)


def test_big_files_and_fifos_are_refused(tmp_path):
    import os

    path = tmp_path / "config.toml"
    path.write_text("# padding\n" * 120_000)
    with pytest.raises(ConfigError, match="is larger than 1024 KiB"):
        load_config(path)
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match=r"is a pipe \(FIFO\), not a regular file"):
        load_config(fifo)  # opened non-blocking: no writer, no hang


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ('sort = "r"', "'r' is also the key of restart (Lists/Dashboard)"),
        ('quit = "r"', "'r' is also the key of restart (Everywhere/Dashboard)"),
        ('confirm-yes = "n"', "'n' is also the key of confirm-no (Confirm)"),
        ('quit = "down"', "'down' is a move key"),
        ('help = "ctrl+i"', "'ctrl+i' is also the key of panel-next"),  # ctrl+i is tab
        ('logs-write = "ctlr+w"', "unknown key name 'ctlr+w'"),
        ('quit = "F2"', "unknown key name 'F2'"),
    ],
)
def test_bad_remaps_name_the_binding(tmp_path, capsys, keys, message):
    path = write(tmp_path, f"[keys]\n{keys}\n")
    line = cli_error(capsys, ["--config", str(path), "check"], "keys.")
    assert message in line


def test_good_remaps_load(tmp_path):
    from opsdash.keys import validate_keymap

    text = (
        '[keys]\nfilter = "ctrl+f"\nsort = "o"\npanel-next = "tab"\nhelp = "?"\n'
        'cursor-down = "k"\ncursor-up = "j"\nquit = "ctrl+q, Q"\n'
    )
    config = load_config(write(tmp_path, text))
    validate_keymap(config)
    assert config.keys["quit"] == "ctrl+q,Q"
