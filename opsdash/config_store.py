"""The `[store] table: where the history lives, and how long a lease outlives
an opsdash that died while acting.

    [store]
    url = "postgresql://opsdash:${OPSDASH_DB_PASSWORD}@db.example:5432/opsdash?sslmode=verify-full"

No url: the SQLite file in the data dir. A PostgreSQL url is libpq's (TLS
through its `sslmode`, `sslrootcert`, ... parameters); its password may only
be a `${ENV}` reference (in the user part or a `password=` parameter), never
written in the file, and it is percent-encoded when expanded so that any
character works. Its own module so `opsdash.config` stays the reader of the
top-level options; `load_store_config` reads this table alone, for commands
(`opsdash audit`) that must not read any source's secrets.
"""

from __future__ import annotations

import importlib.util
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from opsdash import config_checks as checks
from opsdash.config_reader import ConfigError, Reader

STORE_KEYS: dict[str, tuple[type | tuple[type, ...], Any]] = {
    "url": (str, ""),
    "lease_timeout": ((int, float), 120.0),
}
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
SCHEMES = ("postgresql", "postgres")
INSTALL_HINT = "pip install 'opsdash[postgres]'"
_ONLY_REF = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")


@dataclass(frozen=True, slots=True)
class StoreConfig:
    url: str = ""  # "" is the SQLite file; else a PostgreSQL URL, its ${ENV} expanded
    lease_timeout: float = 120.0  # seconds without renewal before a lease is free again

    def __repr__(self) -> str:  # the expanded url holds the password
        return (
            f"StoreConfig(url={'<set>' if self.url else ''!r}, lease_timeout={self.lease_timeout})"
        )


def read_store_table(reader: Reader, raw: dict[str, Any]) -> StoreConfig:
    table = raw.get("store", {})
    if not isinstance(table, dict):
        raise reader.error("store", f"must be a table, not {type(table).__name__}")
    url = table.get("url", "")
    if not isinstance(url, str):
        raise reader.error("store.url", f"must be str, not {type(url).__name__}")
    # The url is read apart: its password is checked as written, before expansion.
    rest = {k: v for k, v in table.items() if k != "url"}
    values = reader.table("store", rest, STORE_KEYS)
    return StoreConfig(
        url=_url(reader, url) if url else "", lease_timeout=float(values["lease_timeout"])
    )


def _url(reader: Reader, url: str) -> str:
    """The URL checked as written (a literal password is refused), then expanded."""
    key = "store.url"
    try:
        checks.text(url)
        parts = urlsplit(url)
    except (checks.Invalid, ValueError) as exc:
        raise reader.error(key, str(exc)) from None
    if parts.scheme not in SCHEMES:
        raise reader.error(key, "must be a postgresql://user@host:port/database URL")
    userinfo, at, hostport = parts.netloc.rpartition("@")
    user, colon, password = userinfo.partition(":")
    query = parse_qsl(parts.query, keep_blank_values=True)
    passwords = [password] if colon else []
    passwords += [v for k, v in query if k == "password"]
    for secret in passwords:
        if secret and not _ONLY_REF.fullmatch(secret):
            raise reader.error(
                key, "holds a literal password: write it as ${ENV_VAR} (or use ~/.pgpass)"
            )
    for name, value in query:
        if name == "sslmode" and value not in SSL_MODES:
            raise reader.error(key, f"sslmode must be one of {', '.join(SSL_MODES)}")
    if importlib.util.find_spec("psycopg") is None:
        raise reader.error(key, f"PostgreSQL needs psycopg, which is not installed: {INSTALL_HINT}")
    # Expanded piece by piece: the password percent-encoded, the rest as written.
    netloc = reader.string(key, hostport)
    if at:
        expanded_user = reader.string(key, user)
        if colon:
            secret = quote(reader.expand(key, password), safe="")
            netloc = f"{expanded_user}:{secret}@{netloc}"
        else:
            netloc = f"{expanded_user}@{netloc}"
    path = reader.string(key, parts.path)
    params = urlencode(
        [(name, reader.string(key, value)) for name, value in query], quote_via=quote, safe="/~"
    )
    return f"{parts.scheme}://{netloc}{path}" + (f"?{params}" if params else "")


def load_store_config(path: Path | None = None) -> StoreConfig:
    """The [store] table of the config file alone (the default one, or the one
    $OPSDASH_CONFIG names): no source table is read, nor its secrets expanded."""
    from opsdash.locations import config_path, env_config_path

    path = path or env_config_path() or config_path()
    if not os.path.isfile(path):
        return StoreConfig()
    try:
        text = checks.config_text(str(path))
        raw = tomllib.loads(text)
    except checks.Invalid as exc:
        raise ConfigError(path, "", str(exc), exc.line) from None
    except (tomllib.TOMLDecodeError, RecursionError, ValueError):
        raise ConfigError(path, "", "syntax error (opsdash check says where)") from None
    return read_store_table(Reader(path, text), raw)
