"""The [store] table: a PostgreSQL url whose password is only ever a ${ENV}
reference, libpq's TLS parameters, the lease timeout; errors in one line with
the file, the line and the key, never the secret."""

from __future__ import annotations

import pytest

from opsdash import config_store
from opsdash.config import ConfigError, load_config
from opsdash.config_store import StoreConfig, load_store_config
from opsdash.store import open_store


def _load(tmp_path, text: str):
    path = tmp_path / "config.toml"
    path.write_text(f"docker = []\nhost = []\n{text}")
    return path, load_config(path, autodetect=False)


@pytest.fixture
def driver(monkeypatch):
    """Config reading asks only whether psycopg is installed: say it is."""
    real = config_store.importlib.util.find_spec
    monkeypatch.setattr(
        config_store.importlib.util,
        "find_spec",
        lambda name, *a: object() if name == "psycopg" else real(name, *a),
    )


def test_without_a_table_the_sqlite_file_is_the_store(tmp_path):
    _path, config = _load(tmp_path, "")
    assert config.store == StoreConfig(url="", lease_timeout=120.0)
    store = open_store(config.store)
    assert store.dialect == "sqlite" and str(store.path).endswith("opsdash.db")
    store.close()


def test_the_password_comes_from_the_environment_percent_encoded(tmp_path, monkeypatch, driver):
    monkeypatch.setenv("OPSDASH_DB_PASSWORD", "p@ss:/w%rd")
    text = (
        "[store]\n"
        'url = "postgresql://opsdash:${OPSDASH_DB_PASSWORD}@db.example:5432/opsdash'
        '?sslmode=verify-full&sslrootcert=/etc/ssl/team-ca.pem"\n'
        "lease_timeout = 45\n"
    )
    _path, config = _load(tmp_path, text)
    assert config.store.url == (
        "postgresql://opsdash:p%40ss%3A%2Fw%25rd@db.example:5432/opsdash"
        "?sslmode=verify-full&sslrootcert=/etc/ssl/team-ca.pem"
    )
    assert config.store.lease_timeout == 45.0
    monkeypatch.setenv("PW", "a&b=c")
    _path, config = _load(tmp_path, '[store]\nurl = "postgresql://opsdash@db/x?password=${PW}"\n')
    assert config.store.url == "postgresql://opsdash@db/x?password=a%26b%3Dc"
    assert "p@ss" not in repr(config.store)
    assert not config.warnings


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://opsdash:hunter22@db/opsdash", "holds a literal password"),
        ("postgresql://opsdash@db/opsdash?password=hunter22", "holds a literal password"),
        ("postgresql://opsdash:x${PW}@db/opsdash", "holds a literal password"),
        ("postgresql://db/opsdash?sslmode=sometimes", "sslmode must be one of"),
        ("mysql://db/opsdash", "must be a postgresql://"),
        ("postgresql://opsdash:${NOT_SET_ANYWHERE}@db/opsdash", "NOT_SET_ANYWHERE is not set"),
    ],
)
def test_a_bad_url_is_one_line_with_file_line_and_key(tmp_path, driver, url, message):
    path = tmp_path / "config.toml"
    path.write_text(f'docker = []\nhost = []\n\n[store]\nurl = "{url}"\n')
    with pytest.raises(ConfigError) as error:
        load_config(path, autodetect=False)
    text = str(error.value)
    assert text.startswith(f"{path}:5: store.url: ") and message in text, text
    assert "hunter22" not in text and "\n" not in text


def test_without_psycopg_the_error_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setattr(config_store.importlib.util, "find_spec", lambda name, *a: None)
    path = tmp_path / "config.toml"
    path.write_text('[store]\nurl = "postgresql://opsdash@db/opsdash"\n')
    with pytest.raises(ConfigError, match=r"pip install 'opsdash\[postgres\]'"):
        load_config(path, autodetect=False)


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        ("[store]\nlease_timeout = 1\n", "store.lease_timeout", "from 5 to 86400 seconds"),
        ("[store]\nurl = 5\n", "store.url", "must be str"),
        ("[store]\nulr = 'x'\n", "store.ulr", "did you mean 'url'"),
        ("store = 5\n", "store", "must be a table"),
    ],
)
def test_bad_store_keys(tmp_path, text, key, message):
    with pytest.raises(ConfigError) as error:
        _load(tmp_path, text)
    assert f": {key}: " in str(error.value) and message in str(error.value)


def test_the_audit_command_reads_the_store_table_alone(tmp_path, monkeypatch, driver):
    """`opsdash audit` finds a team's store without expanding any source's secret."""
    path = tmp_path / "config.toml"
    path.write_text(
        '[[github]]\nname = "gh"\nrepo = "o/r"\ntoken = "${NOT_SET_ANYWHERE}"\n\n'
        '[store]\nurl = "postgresql://opsdash@db.example/opsdash"\n'
    )
    monkeypatch.setenv("OPSDASH_CONFIG", str(path))
    assert load_store_config().url == "postgresql://opsdash@db.example/opsdash"
