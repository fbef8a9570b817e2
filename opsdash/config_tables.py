"""Reading a [[kind]] array of tables into its source's config dataclass.

The schema is the dataclass: each field's annotation gives the TOML type
(str, bool, int, float, float | None, tuple[str, ...] from an array of
strings, tuple[tuple[str, str], ...] and tuple[tuple[str, float], ...] from an
inline table) and its `opsdash.sources.settings` metadata the rest. One
function reads every source kind, built-in or third-party, so config.py names
no source. Errors are the Reader's one-line ConfigErrors.

A table is read in three passes, each stopping at the first problem: the keys
and their TOML types (unknown keys, ${ENV} expansion, ranges: `Reader.table`),
then every required key, then each field in declaration order (conversion,
then its check); the name (the class's `default_name` hook, else the kind
numbered from the second table on) comes last and must be unique. A class with
a `completed()` method finishes the record from what its keys name outside the
file (a Docker context's endpoint); its `Invalid` names the key in `.key`.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from dataclasses import MISSING
from functools import cache
from typing import Any

from opsdash import config_checks as checks
from opsdash.config_checks import Invalid
from opsdash.config_reader import Reader
from opsdash.sources.settings import Option, option_of

# What each annotation reads from TOML: the Python types tomllib gives for it.
_TOML_TYPES: dict[Any, type | tuple[type, ...]] = {
    str: str,
    bool: bool,
    int: int,
    float: (int, float),
    float | None: (int, float),
    tuple[str, ...]: list,
    tuple[tuple[str, str], ...]: dict,
    tuple[tuple[str, float], ...]: dict,
}


@dataclasses.dataclass(frozen=True, slots=True)
class Key:
    """One key of a table: the field it fills and what it declares."""

    name: str  # the key in TOML
    field: str  # the dataclass field
    annotation: Any
    option: Option
    default: Any  # MISSING when the dataclass has none

    @property
    def required(self) -> bool | str:
        if self.option.required:
            return self.option.required
        no_default = self.default is MISSING and not self.option.from_refresh
        return no_default and self.field != "name"


@dataclasses.dataclass(frozen=True, slots=True)
class Schema:
    kind: str
    keys: tuple[Key, ...]

    @property
    def types(self) -> dict[str, tuple[type | tuple[type, ...], Any]]:
        """key -> (TOML type, default), what `Reader.table` checks."""
        return {
            k.name: (_TOML_TYPES[k.annotation], None if k.default is MISSING else k.default)
            for k in self.keys
        }

    @property
    def bounds(self) -> dict[str, tuple[float, float, str]]:
        return {k.name: k.option.bounds for k in self.keys if k.option.bounds}

    @property
    def multiline(self) -> frozenset[str]:
        return frozenset(k.name for k in self.keys if k.option.multiline)


def _is_number(annotation: Any) -> bool:
    return annotation in (int, float, float | None, tuple[tuple[str, float], ...])


@cache
def schema_of(cls: type) -> Schema:
    """The keys of `cls`'s table; TypeError for a field type TOML cannot give, or a
    number with no range (neither `bounds=` nor an entry in config_checks.RANGES)."""
    kind = cls.kind  # type: ignore[attr-defined]
    hints = typing.get_type_hints(cls)
    keys = []
    for item in dataclasses.fields(cls):
        meta = option_of(item)
        if not meta.read:
            continue
        annotation = hints[item.name]
        if annotation not in _TOML_TYPES:
            raise TypeError(f"{cls.__name__}.{item.name}: no TOML type for {annotation}")
        name = meta.toml or item.name
        if _is_number(annotation) and not meta.bounds:
            try:
                checks.range_of(f"{kind}.{name}")
            except KeyError:
                raise TypeError(f"{cls.__name__}.{item.name}: a number needs bounds=") from None
        default = item.default
        if default is MISSING and item.default_factory is not MISSING:
            default = item.default_factory()
        keys.append(Key(name, item.name, annotation, meta, default))
    return Schema(kind, tuple(keys))


def read_tables(
    reader: Reader, kind: str, tables: list[Any], cls: type, names: set[str], refresh: float
) -> list[Any]:
    """Every table of a [[kind]] array as a `cls`; `names` gathers the source names."""
    return [
        read_table(reader, kind, index, item, cls, names, refresh)
        for index, item in enumerate(tables)
    ]


def read_table(
    reader: Reader,
    kind: str,
    index: int,
    item: Any,
    cls: type,
    names: set[str],
    refresh: float,
) -> Any:
    schema = schema_of(cls)
    key = f"{kind}[{index}]"
    values = reader.table(key, item, schema.types, bounds=schema.bounds, multiline=schema.multiline)
    raw: dict[str, Any] = {}
    for k in schema.keys:  # what each key holds: given, from the environment, or absent
        value = values[k.name] if k.name in item else MISSING
        if (value is MISSING or not value) and k.option.env:
            value = _from_env(reader, f"{key}.{k.name}", k.option.env) or value
        required = k.required
        if required and (value is MISSING or not value):
            raise reader.error(
                f"{key}.{k.name}", required if isinstance(required, str) else "is required"
            )
        raw[k.field] = value
    out: dict[str, Any] = {}
    for k in schema.keys:
        value = raw[k.field]
        full = f"{key}.{k.name}"
        if value is MISSING or (k.option.blank_is_default and not value):
            if k.option.from_refresh:
                value = refresh
            elif k.default is MISSING:
                value = ""  # the name: filled below
            else:
                value = k.default
        out[k.field] = _convert(reader, full, k, value)
    if "name" in out:
        name = out["name"] or _default_name(cls, kind, index, out)
        if name in names:
            raise reader.error(f"{key}.name", f"duplicate source name {name!r}")
        names.add(name)
        out["name"] = name
    record = cls(**out)
    complete = getattr(cls, "completed", None)
    if complete is None:
        return record
    try:  # what a key names outside the file (a Docker context's endpoint)
        return complete(record)
    except Invalid as exc:
        raise reader.error(f"{key}.{getattr(exc, 'key', '') or 'name'}", str(exc)) from None


def _default_name(cls: type, kind: str, index: int, values: dict[str, Any]) -> str:
    hook = getattr(cls, "default_name", None)
    if hook is not None:
        return str(hook(index, values))
    return kind if not index else f"{kind}{index}"


def _from_env(reader: Reader, key: str, names: tuple[str, ...]) -> str:
    """The first of these variables that is set and not empty, checked like any string."""
    value = next((os.environ[v] for v in names if os.environ.get(v)), "")
    try:
        return checks.text(value)
    except Invalid as exc:
        raise reader.error(key, str(exc)) from None


def _convert(reader: Reader, key: str, k: Key, value: Any) -> Any:
    """The value for the field, by its annotation, then through the field's check."""
    try:
        if k.option.convert is not None:
            value = k.option.convert(value)
        elif value is None:
            pass
        elif k.annotation in (float, float | None):
            value = float(value)
        elif k.annotation == tuple[str, ...]:
            if not all(isinstance(v, str) and v for v in value):
                raise Invalid("must be a list of non-empty strings")
            value = tuple(value)
        elif k.annotation == tuple[tuple[str, str], ...]:
            if not all(isinstance(v, str | int | float | bool) for v in dict(value).values()):
                raise Invalid("values must be strings or numbers")
            value = tuple(
                (str(name), str(v).lower() if isinstance(v, bool) else str(v))
                for name, v in dict(value).items()
            )
        elif k.annotation == tuple[tuple[str, float], ...]:
            for inner, number in dict(value).items():
                if isinstance(number, bool) or not isinstance(number, int | float):
                    raise reader.error(f"{key}.{inner}", "must be a number")
            value = tuple((str(name), float(v)) for name, v in dict(value).items())
        if k.option.check is not None and value is not None:
            value = k.option.check(value)
    except Invalid as exc:
        raise reader.error(key, str(exc)) from None
    return value
