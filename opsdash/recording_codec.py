"""The recorder's wire format: snapshots as compact JSON, and deltas between two.

Written by hand for the snapshot types of `opsdash.model` (never pickle: a
recording may be read by a teammate's opsdash from a shared store, and
unpickling runs code). Every type that may appear in a snapshot is listed in
`_CLASSES` or `_ENUMS` under a short tag; anything else is refused with
`UnknownType`, so a third-party source's snapshot is simply not recorded.

A value is encoded as JSON scalars and tagged lists:

- None, bool, int, float (NaN included), str: themselves;
- a tuple: ``["", item, ...]``;
- a dataclass: ``[tag, field0, field1, ...]`` in field order, trailing
  defaults left out (a field added at the end of a class later decodes old
  records with its default);
- an enum: ``[tag, value]``; a datetime ``["D", µs since the epoch, UTC
  offset in µs or null]``; a date ``["d", ordinal]``; a timedelta ``["T", µs]``.

A delta turns the previous snapshot of a source into the next one, so a poll
in which 3 of 200 containers changed costs those 3:

- ``["~", i, sub, ...]`` patches a dataclass: field `i` becomes `sub` applied
  to its old value;
- ``["~t", entry, ...]`` rebuilds a tuple of records matched by their `key`:
  an int `j` keeps old item `j`, ``["r", j, n]`` old items `j`..`j+n-1`,
  ``["~i", j, i, sub, ...]`` patches old item `j`; anything else is a new item;
- anything else is the new value in full.
"""

from __future__ import annotations

import enum
import json
import zlib
from dataclasses import MISSING, fields, is_dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from opsdash.dora.frequency import Frequency
from opsdash.dora.keys import Keys, KeysReport
from opsdash.dora.records import Deploy
from opsdash.model import (
    Container,
    DiskUsage,
    DockerSnapshot,
    HealthState,
    HostStats,
    MetricPoint,
    ModelRow,
    ModelsSnapshot,
    ModelVersion,
    PipelineDefinition,
    PipelineJob,
    PipelineRun,
    PipelineSnapshot,
    PipelineStep,
    Port,
    RunStatus,
    Service,
    ThresholdState,
    VendorDeployment,
)
from opsdash.model.deployments import DeploymentsSnapshot, ServiceDeployments
from opsdash.model.kube import (
    ClusterSnapshot,
    Condition,
    KubePod,
    KubeWorkload,
    PodContainer,
    RolloutState,
)

CODEC_VERSION = 1

# tag -> class; tags are part of the format: never reuse or rename one.
_CLASSES: dict[str, type] = {
    "Port": Port,
    "Ctr": Container,
    "Svc": Service,
    "Dock": DockerSnapshot,
    "Disk": DiskUsage,
    "Host": HostStats,
    "Step": PipelineStep,
    "Job": PipelineJob,
    "Run": PipelineRun,
    "VDep": VendorDeployment,
    "PDef": PipelineDefinition,
    "Pipe": PipelineSnapshot,
    "MPt": MetricPoint,
    "MVer": ModelVersion,
    "MRow": ModelRow,
    "Mods": ModelsSnapshot,
    "Dep": Deploy,
    "Freq": Frequency,
    "Keys": Keys,
    "KRep": KeysReport,
    "SDep": ServiceDeployments,
    "Deps": DeploymentsSnapshot,
    "PCtr": PodContainer,
    "Pod": KubePod,
    "Cond": Condition,
    "Wkld": KubeWorkload,
    "Clus": ClusterSnapshot,
}
_ENUMS: dict[str, type[enum.Enum]] = {
    "RunS": RunStatus,
    "Thr": ThresholdState,
    "Roll": RolloutState,
    "HSt": HealthState,
}
_TAG_OF: dict[type, str] = {cls: tag for tag, cls in {**_CLASSES, **_ENUMS}.items()}

# What snapshot types a recording may hold: the `feeds` of a source.
SNAPSHOT_TYPES: tuple[type, ...] = (
    DockerSnapshot,
    HostStats,
    PipelineSnapshot,
    ModelsSnapshot,
    DeploymentsSnapshot,
    ClusterSnapshot,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)
_US = timedelta(microseconds=1)


class UnknownType(ValueError):
    """A value of a type the format does not know (a third-party source's record)."""


class _Same:
    """What `delta` returns when nothing changed."""


SAME = _Same()


def _defaults(cls: type) -> list[Any]:
    out = []
    for f in fields(cls):
        if f.default is not MISSING:
            out.append(f.default)
        elif f.default_factory is not MISSING:
            out.append(f.default_factory())
        else:
            out.append(MISSING)
    return out


_DEFAULTS: dict[type, list[Any]] = {cls: _defaults(cls) for cls in _CLASSES.values()}
_NAMES: dict[type, tuple[str, ...]] = {
    cls: tuple(f.name for f in fields(cls)) for cls in _CLASSES.values()
}


# --- full values -------------------------------------------------------------


def encode(value: Any) -> Any:
    """`value` as JSON-ready data (see the module docstring)."""
    if isinstance(value, enum.Enum):  # before str: a StrEnum is a str
        tag = _TAG_OF.get(type(value))
        if tag is None:
            raise UnknownType(type(value).__name__)
        return [tag, value.value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, tuple):
        return ["", *(encode(v) for v in value)]
    kind = type(value)
    if isinstance(value, datetime):
        offset = value.utcoffset()
        if offset is None:
            return ["D", (value - _NAIVE_EPOCH) // _US, None]
        return ["D", (value - _EPOCH) // _US, offset // _US]
    if isinstance(value, date):
        return ["d", value.toordinal()]
    if isinstance(value, timedelta):
        return ["T", value // _US]
    tag = _TAG_OF.get(kind)
    if tag is None or not is_dataclass(value):
        raise UnknownType(kind.__name__)
    values = [encode(getattr(value, name)) for name in _NAMES[kind]]
    defaults = _DEFAULTS[kind]
    while values and defaults[len(values) - 1] is not MISSING:
        if getattr(value, _NAMES[kind][len(values) - 1]) != defaults[len(values) - 1]:
            break
        values.pop()
    return [tag, *values]


def decode(data: Any) -> Any:
    """The value `encode` turned into `data`."""
    if not isinstance(data, list):
        return data
    tag, rest = data[0], data[1:]
    if tag == "":
        return tuple(decode(v) for v in rest)
    if tag == "D":
        micros, offset = rest
        if offset is None:
            return _NAIVE_EPOCH + timedelta(microseconds=micros)
        zone = timezone(timedelta(microseconds=offset))
        return (_EPOCH + timedelta(microseconds=micros)).astimezone(zone)
    if tag == "d":
        return date.fromordinal(rest[0])
    if tag == "T":
        return timedelta(microseconds=rest[0])
    if tag in _ENUMS:
        return _ENUMS[tag](rest[0])
    cls = _CLASSES.get(tag)
    if cls is None:
        raise UnknownType(str(tag))
    values = [decode(v) for v in rest]
    defaults = _DEFAULTS[cls]
    for missing in defaults[len(values) :]:
        if missing is MISSING:
            raise ValueError(f"record {tag} lacks a field without a default")
        values.append(missing)
    return cls(*values)


# --- deltas ------------------------------------------------------------------


def _ident(item: Any) -> Any:
    """What matches an item of a tuple to its previous version: its key."""
    return item.key if hasattr(type(item), "key") else item


def delta(old: Any, new: Any) -> Any:
    """What turns `old` into `new` (`SAME` when they are equal)."""
    if old is new or (type(old) is type(new) and old == new):
        return SAME
    kind = type(new)
    if type(old) is kind and kind in _TAG_OF and is_dataclass(new):
        ops: list[Any] = ["~"]
        for i, name in enumerate(_NAMES[kind]):
            sub = delta(getattr(old, name), getattr(new, name))
            if sub is not SAME:
                ops += [i, sub]
        return ops
    if (
        isinstance(old, tuple)
        and isinstance(new, tuple)
        and new
        and all(type(item) in _TAG_OF and is_dataclass(item) for item in new)
    ):
        return _tuple_delta(old, new)
    return encode(new)


def _tuple_delta(old: tuple, new: tuple) -> list[Any]:
    index: dict[Any, int] = {}
    for j, item in enumerate(old):
        index.setdefault(_ident(item), j)
    out: list[Any] = ["~t"]
    run: list[int] = []  # [start, length] of unchanged old items in a row

    def flush() -> None:
        if run:
            out.append(run[0] if run[1] == 1 else ["r", run[0], run[1]])
            run.clear()

    for item in new:
        j = index.get(_ident(item))
        if j is None:
            flush()
            out.append(encode(item))
            continue
        sub = delta(old[j], item)
        if sub is SAME:
            if run and run[0] + run[1] == j:
                run[1] += 1
            else:
                flush()
                run.extend((j, 1))
            continue
        flush()
        out.append(["~i", j, *sub[1:]] if sub and sub[0] == "~" else sub)
    flush()
    return out


def apply(old: Any, change: Any) -> Any:
    """`old` changed by `change` (what `delta` returned; never `SAME`)."""
    if not isinstance(change, list) or not change:
        return decode(change)
    tag = change[0]
    if tag == "~":
        return _patch(old, change[1:])
    if tag == "~t":
        items: list[Any] = []
        for entry in change[1:]:
            if isinstance(entry, int) and not isinstance(entry, bool):
                items.append(old[entry])
            elif isinstance(entry, list) and entry and entry[0] == "r":
                items.extend(old[entry[1] : entry[1] + entry[2]])
            elif isinstance(entry, list) and entry and entry[0] == "~i":
                items.append(_patch(old[entry[1]], entry[2:]))
            else:
                items.append(decode(entry))
        return tuple(items)
    return decode(change)


def _patch(old: Any, ops: list[Any]) -> Any:
    names = _NAMES[type(old)]
    values = [getattr(old, name) for name in names]
    for i, sub in zip(ops[::2], ops[1::2], strict=True):
        values[i] = apply(values[i], sub)
    return type(old)(*values)


# --- bytes -------------------------------------------------------------------


def pack(data: Any) -> bytes:
    """Encoded data as compressed compact JSON."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return zlib.compress(text.encode("utf-8", "surrogatepass"), 6)  # hostile text kept as is


def unpack(blob: bytes) -> Any:
    return json.loads(zlib.decompress(blob).decode("utf-8", "surrogatepass"))
