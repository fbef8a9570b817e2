"""Reading one parsed TOML document against a schema, into one-line errors.

`Reader` checks each table's keys against its schema (type, then the value
checks of `config_checks`), expands `${ENV}` references and collects warnings;
every problem becomes a `ConfigError` naming the file, the key and its line.
The schemas: each source's config dataclass (read by `opsdash.config_tables`),
and in `opsdash.config` the tables that are not sources.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path
from typing import Any

from opsdash import config_checks as checks
from opsdash.config_checks import Invalid, line_of, shown

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SECRET_KEY = re.compile(r"(token|password|passwd|secret|api_?key|private_?key)$", re.I)


class ConfigError(Exception):
    """A config problem, rendered as one line: ``file:line: key: message``.

    Key names and values in it come from the file (or the environment), so the
    line is made safe here: control characters escaped, never a newline, cut.
    """

    def __init__(self, path: Path | str, key: str, message: str, line: int | None = None):
        self.path = str(path)
        self.key = key
        self.line = line
        self.message = message
        where = f"{shown(self.path, 300)}:{line}" if line else shown(self.path, 300)
        parts = (
            [where, shown(key, 120), shown(message, 400)] if key else [where, shown(message, 400)]
        )
        super().__init__(": ".join(parts))


_MULTILINE_KEYS = frozenset({"query", "argv"})  # a PromQL query or an argv item may span lines


def suggestion(name: str, known: Any) -> str:
    hint = difflib.get_close_matches(name, known, n=1) if len(name) <= 100 else []
    return f" (did you mean {hint[0]!r}?)" if hint else ""


class Reader:
    """Validates one parsed document, collecting warnings."""

    def __init__(self, path: Path, text: str):
        self.path = path
        self.text = text
        self.warnings: list[str] = []

    def error(self, key: str, message: str) -> ConfigError:
        return ConfigError(self.path, key, message, line_of(self.text, key))

    def expand(self, key: str, value: str) -> str:
        """Replace ${VAR} references; warn when a secret-looking key is literal."""
        if _SECRET_KEY.search(key.rsplit(".", 1)[-1]) and value and not _ENV_REF.search(value):
            self.warnings.append(
                f"{self.path}: {key}: literal secret in config; use a ${{ENV_VAR}} reference"
            )

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in os.environ:
                raise self.error(key, f"environment variable {name} is not set")
            return os.environ[name]

        return _ENV_REF.sub(replace, value)

    def string(self, key: str, value: str, *, multiline: bool = False) -> str:
        """`value` with ${VAR} expanded, checked for control characters and length."""
        expanded = self.expand(key, value)
        try:
            return checks.text(expanded, multiline=multiline)
        except Invalid as exc:
            refs = ", ".join(f"${{{ref}}}" for ref in _ENV_REF.findall(value))
            raise self.error(key, f"{exc} (after expanding {refs})" if refs else str(exc)) from None

    def number(self, key: str, value: Any, range_key: str) -> float:
        """`value` as a float if it is a finite number within `range_key`'s range."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(key, f"must be a number, not {type(value).__name__}")
        try:
            return float(checks.number(range_key, value))
        except Invalid as exc:
            raise self.error(key, str(exc)) from None

    def _value(
        self,
        key: str,
        name: str,
        range_key: str,
        value: Any,
        bounds: tuple[float, float, str] | None = None,
        multiline: frozenset[str] = _MULTILINE_KEYS,
    ) -> Any:
        """One value of a known key: strings checked, numbers ranged, lists bounded."""
        try:
            if isinstance(value, list | dict):
                checks.items(len(value))
        except Invalid as exc:
            raise self.error(key, str(exc)) from None
        if isinstance(value, str):
            return self.string(key, value, multiline=name in multiline)
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float):
            try:
                return checks.number(range_key, value, bounds)
            except Invalid as exc:
                raise self.error(key, str(exc)) from None
        if isinstance(value, list):  # item types are checked where the list is used
            return [
                self.string(key, item, multiline=name in multiline)
                if isinstance(item, str)
                else item
                for item in value
            ]
        if isinstance(value, dict):  # inline tables: deploy_inputs, thresholds
            for inner, item in value.items():  # taken as written: no ${VAR} in them
                inner_key = f"{key}.{inner}"
                try:
                    checks.text(inner)
                    if isinstance(item, str):
                        checks.text(item)
                    elif isinstance(item, int | float) and not isinstance(item, bool):
                        checks.number(range_key, item, bounds)
                except Invalid as exc:
                    raise self.error(inner_key, str(exc)) from None
            return value
        return value

    def table(
        self,
        key: str,
        raw: Any,
        schema: dict[str, tuple[type | tuple[type, ...], Any]],
        *,
        bounds: dict[str, tuple[float, float, str]] | None = None,
        multiline: frozenset[str] = _MULTILINE_KEYS,
    ) -> dict[str, Any]:
        """`raw` checked against `schema` (key -> (TOML type, default)), defaults filled.

        `bounds` gives the range of a number key that config_checks.RANGES does not
        know (a third-party source's); `multiline` the string keys that may span lines.
        """
        if not isinstance(raw, dict):
            raise self.error(key, f"must be a table, not {type(raw).__name__}")
        kind = key.split("[", 1)[0]
        out: dict[str, Any] = {}
        for name, value in raw.items():
            full = f"{key}.{name}"
            if name not in schema:
                raise self.error(full, f"unknown key{suggestion(name, schema)}")
            expected, _default = schema[name]
            if isinstance(value, bool) and expected in ((int, float), int):
                raise self.error(full, "must be a number, not a boolean")
            if not isinstance(value, expected):
                names = (
                    " or ".join(t.__name__ for t in expected)
                    if isinstance(expected, tuple)
                    else expected.__name__
                )
                raise self.error(full, f"must be {names}, not {type(value).__name__}")
            out[name] = self._value(
                full, name, f"{kind}.{name}", value, (bounds or {}).get(name), multiline
            )
        for name, (_expected, default) in schema.items():
            out.setdefault(name, default)
        return out

    def array_of_tables(self, key: str, raw: Any) -> list[Any]:
        if not isinstance(raw, list):
            raise self.error(key, f"must be an array of tables ([[{key}]]), not a single value")
        if len(raw) > checks.MAX_TABLES:
            raise self.error(key, f"has {len(raw)} tables, at most {checks.MAX_TABLES} are allowed")
        return raw
