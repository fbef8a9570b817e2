"""Running a config through the real CLI entry, and judging what came out.

The oracle for every hostile or malformed config: either exit 2 with exactly
one line that starts with the file and names the key, or exit 0 with a Config
that is sane (every number finite and in its documented range, every string
free of control characters, every source buildable). Never a traceback, and
no control character on stderr.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import math
import re
from pathlib import Path
from typing import Any
from unittest import mock

from opsdash import cli
from opsdash.config import Config
from opsdash.config_checks import MAX_ITEMS, range_of, shown, text

# Environment variables the generated configs may reference.
ENV = {
    "OPSDASH_T_OK": "fine-value",
    "OPSDASH_T_NL": "unix:///x.sock\nX-Injected: 1",
    "OPSDASH_T_ESC": "\x1b]0;pwned\x07\x1b]52;c;cHdu\x07",
    "OPSDASH_T_BIG": "x" * 20_000,
}
UNSET_ENV = "OPSDASH_T_UNSET"
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")  # a newline ends each line
NUMERIC_FIELDS = {
    "refresh",
    "timeout",
    "health_timeout",
    "stats_concurrency",
    "runs",
    "trend",
    "failure_window",
    "retention_days",
}
MULTILINE_FIELDS = {"query", "argv"}


@dataclasses.dataclass
class Outcome:
    code: int
    stderr: str
    config: Config | None


def run_cli(argv: list[str]) -> Outcome:
    """`opsdash.cli.main(argv)`, with `check` building the sources instead of polling them."""
    from opsdash.sources.build import build_sources

    loaded: list[Config] = []

    def build_only(config: Config) -> int:
        loaded.append(config)
        for source in build_sources(config):
            source.close()
        return 0

    err = io.StringIO()
    with mock.patch.object(cli, "run_check", build_only), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    return Outcome(code, err.getvalue(), loaded[0] if loaded else None)


def assert_clean(outcome: Outcome, where: str, key: str | None, must_fail: bool) -> str:
    """The oracle. Returns "error" or "loaded"; raises AssertionError when not clean."""
    err = outcome.stderr
    assert "Traceback" not in err, err
    assert not _CONTROL.search(err), f"control character on stderr: {err!r}"
    if outcome.code == 2:
        assert err.count("\n") == 1 and err.endswith("\n"), f"not one line: {err!r}"
        assert err.startswith(f"opsdash: {shown(where, 300)}"), f"file not named: {err!r}"
        if key is not None:
            assert shown(key, 120) in err, f"key {key!r} not named: {err!r}"
        return "error"
    assert not must_fail, f"exit {outcome.code}, expected exit 2 naming {key!r}: {err!r}"
    assert outcome.code == 0, f"exit {outcome.code}: {err!r}"
    assert outcome.config is not None
    for line in err.splitlines():
        assert line.startswith("opsdash: warning: "), err
    assert_sane(outcome.config)
    return "loaded"


def assert_sane(config: Config) -> None:
    assert math.isfinite(config.refresh) and 0.5 <= config.refresh <= 86400
    low, high, _ = range_of("health_timeout")
    assert low <= config.health_timeout <= high
    for value in config.keys.values():
        assert re.fullmatch(r"[!-~]+(,[!-~]+)*", value), value
    for binding_id in config.keys:
        text(binding_id)
    for warning in config.warnings:
        assert not _CONTROL.search(warning)
    groups = {
        "sources": config.sources,
        "redeploy": config.redeploy,
        "protect": config.protect,
        "service": config.services,
        "dora": (config.dora,),
    }
    for kind, records in groups.items():
        assert len(records) <= 64
        for record in records:
            for item in dataclasses.fields(record):
                where = getattr(record, "kind", kind)  # a source's table is its kind
                _sane_value(where, item.name, getattr(record, item.name))


def _sane_value(kind: str, name: str, value: Any) -> None:
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, int | float):
        assert math.isfinite(value), f"{kind}.{name} = {value}"
        if name in NUMERIC_FIELDS:
            low, high, _ = range_of(f"{kind}.{name}")
            assert low <= value <= high, f"{kind}.{name} = {value}"
    elif isinstance(value, str):
        text(value, multiline=name in MULTILINE_FIELDS)
    elif isinstance(value, tuple):
        assert len(value) <= MAX_ITEMS
        for item in value:
            _sane_value(kind, name, item)
    else:
        raise AssertionError(f"unexpected {kind}.{name}: {type(value).__name__}")


# --- TOML text from Python values (tomllib only reads) -----------------------------


def toml_string(value: str) -> str:
    out = ['"']
    for char in value:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"{toml_string(k)} = {toml_value(v)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    raise TypeError(type(value))


def toml_document(doc: dict[str, Any]) -> str:
    """Scalars first, then plain tables, then arrays of tables."""
    lines: list[str] = []
    tables: list[tuple[str, dict[str, Any]]] = []
    arrays: list[tuple[str, list[dict[str, Any]]]] = []
    for key, value in doc.items():
        if isinstance(value, dict):
            tables.append((key, value))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            arrays.append((key, value))
        else:
            lines.append(f"{toml_string(key)} = {toml_value(value)}")
    for key, table in tables:
        lines.append(f"[{toml_string(key)}]")
        lines += [f"{toml_string(k)} = {toml_value(v)}" for k, v in table.items()]
    for key, items in arrays:
        for table in items:
            lines.append(f"[[{toml_string(key)}]]")
            lines += [f"{toml_string(k)} = {toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def write(folder: Path, content: str | bytes, name: str = "config.toml") -> Path:
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path
