"""docs/config.md's key table of each source, written from the config dataclasses.

`scripts/config_doc.py` puts `source_tables()` between the two markers of
docs/config.md; a unit test checks that the file holds what this writes, so a
new key (or a new source kind) cannot go undocumented.
"""

from __future__ import annotations

from dataclasses import MISSING
from typing import Any

from opsdash.config_checks import number_text
from opsdash.config_tables import Key, schema_of

BEGIN = "<!-- source-keys: written by scripts/config_doc.py from the config dataclasses -->"
END = "<!-- /source-keys -->"

_TYPE_WORDS = {
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "number",
    float | None: "number",
    tuple[str, ...]: "list of strings",
    tuple[tuple[str, str], ...]: "inline table",
    tuple[tuple[str, float], ...]: "inline table of numbers",
}


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return number_text(float(value))
    if isinstance(value, str):
        return f'"{value}"' if value else '""'
    if isinstance(value, tuple):
        if value and isinstance(value[0], tuple):
            return "{ " + ", ".join(f"{k} = {_value(v)}" for k, v in value) + " }"
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return "none" if value is None else str(value)


def _default(key: Key, cls: type) -> str:
    if key.option.default_doc:
        return key.option.default_doc
    if key.field == "name" and key.default is MISSING:  # read_table's default
        kind = cls.kind  # type: ignore[attr-defined]
        if hasattr(cls, "default_name"):
            return "set by the source"
        return f'`"{kind}"`, then `"{kind}1"`, ...'
    if key.option.from_refresh:
        return "the top-level `refresh`"
    if key.required or key.default is MISSING:
        return "required"
    if key.default == () and key.annotation != tuple[str, ...]:
        return "`{}`"
    return f"`{_value(key.default)}`"


def key_table(cls: type) -> str:
    """The markdown table of one source's keys."""
    lines = ["| key | type | default | what it is |", "|---|---|---|---|"]
    for key in schema_of(cls).keys:
        default = "required" if key.required else _default(key, cls)
        lines.append(
            f"| `{key.name}` | {_TYPE_WORDS[key.annotation]} | {default} | {key.option.doc} |"
        )
    return "\n".join(lines)


def source_tables() -> str:
    """A heading and a key table per installed source kind, in the panels' order."""
    from opsdash.config import _build_order
    from opsdash.sources.registry import installed_kinds, source_class

    parts = []
    for kind in _build_order(installed_kinds()):
        cls = source_class(kind).config_class
        summary = (cls.__doc__ or "").strip().splitlines()[0]
        parts.append(f"### `[[{kind}]]`\n\n{summary}\n\n{key_table(cls)}\n")
    return "\n".join(parts)


def with_tables(document: str) -> str:
    """`document` with `source_tables()` between its markers (ValueError without them)."""
    head, begin, rest = document.partition(BEGIN)
    _, end, tail = rest.partition(END)
    if not begin or not end:
        raise ValueError(f"docs/config.md lacks the markers {BEGIN} ... {END}")
    return f"{head}{BEGIN}\n\n{source_tables()}\n{END}{tail}"
