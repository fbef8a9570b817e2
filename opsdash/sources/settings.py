"""The keys of a source's [[kind]] table, declared on its config dataclass.

Each field of a source's frozen `config_class` is one key of its table. The
field's type annotation says what TOML value it takes; `option(...)` puts the
rest in the field's metadata: its documentation, its TOML name where it differs
from the field's, whether it is required, the environment variables it falls
back to, whether its default is the top-level `refresh`, and a value check. A
field made with `fixed(...)` is not a key of the table (a CI provider without
users, say). `opsdash.config_tables` reads a table from these declarations and
`opsdash.config_doc` writes docs/config.md's key tables from them, so a source
states its schema once, in its own module.

Checks are pure functions of the converted value that return it (possibly
normalised) or raise `config_checks.Invalid`; the reader adds file, key and line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field
from typing import Any

from opsdash import config_checks
from opsdash.config_checks import Invalid

METADATA_KEY = "opsdash"


@dataclass(frozen=True, slots=True)
class Option:
    """What a config field declares beyond its type and default."""

    doc: str = ""
    toml: str = ""  # its key in the table, when not the field's name
    required: bool | str = False  # True: "is required"; a str: that message
    env: tuple[str, ...] = ()  # variables read when the key is absent or empty
    from_refresh: bool = False  # absent: the top-level `refresh`
    blank_is_default: bool = False  # "" or [] means the default
    check: Callable[[Any], Any] | None = None  # on the converted value
    convert: Callable[[Any], Any] | None = None  # instead of the type's conversion
    bounds: tuple[float, float, str] | None = None  # a number's range (else RANGES)
    multiline: bool = False  # a string that may hold newlines and tabs
    read: bool = True  # False: not a key of the table
    default_doc: str = ""  # how the default reads in the docs, when computed


def option(
    default: Any = MISSING,
    *,
    doc: str = "",
    toml: str = "",
    required: bool | str = False,
    env: tuple[str, ...] = (),
    from_refresh: bool = False,
    blank_is_default: bool = False,
    check: Callable[[Any], Any] | None = None,
    convert: Callable[[Any], Any] | None = None,
    bounds: tuple[float, float, str] | None = None,
    multiline: bool = False,
    secret: bool = False,
    default_doc: str = "",
) -> Any:
    """A dataclass field that is one key of the table. `secret` keeps it out of repr."""
    meta = Option(
        doc=doc,
        toml=toml,
        required=required,
        env=env,
        from_refresh=from_refresh,
        blank_is_default=blank_is_default,
        check=check,
        convert=convert,
        bounds=bounds,
        multiline=multiline,
        default_doc=default_doc,
    )
    return field(default=default, repr=not secret, metadata={METADATA_KEY: meta})


def fixed(default: Any, *, secret: bool = False) -> Any:
    """A field that is not a key of the table: it keeps `default` when read from TOML."""
    return field(default=default, repr=not secret, metadata={METADATA_KEY: Option(read=False)})


def option_of(item: Any) -> Option:
    """The Option of a dataclass field (a plain field is a key without extras)."""
    return item.metadata.get(METADATA_KEY) or Option()


def url_option(default: str, doc: str) -> Any:
    """An API's `url` key with a public default; an empty value is that default."""
    return option(default, doc=doc, check=http_url, blank_is_default=True)


def token_option(env: tuple[str, ...], doc: str = "${ENV} reference") -> Any:
    """A secret read from these variables when the table has none."""
    shown_env = ", else ".join(f"${name}" for name in env)
    return option("", doc=doc, env=env, secret=True, default_doc=shown_env)


# --- value checks shared by several sources ------------------------------------------


def http_url(value: str) -> str:
    if not re.match(r"^https?://[^/\s]+", value):
        raise Invalid(f"must be an http:// or https:// URL, not {value!r}")
    return value.rstrip("/")


def ca_bundle(value: str) -> str:
    """Checked now, so a bad file is one line at start, not a traceback at the first poll."""
    return config_checks.ca_bundle(value) if value else ""


def expand_user(value: str) -> str:
    return os.path.expanduser(value)


def one_of(*choices: str, hint: str = "") -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in choices:
            words = " or ".join(f'"{c}"' for c in choices)
            raise Invalid(f"must be {words}{hint}")
        return value

    return check
