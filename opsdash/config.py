"""Load and validate the TOML config into frozen settings.

Every problem becomes a `ConfigError` whose message is one line naming the
file, the key and, for syntax errors, the line. Secrets are only accepted as
`${ENV_VAR}` references; a literal one is allowed but warned about.

This module reads what is not a source: the top-level options, [keys],
[[redeploy]], [[protect]], [[service]], [dora], [ui] and (through
`opsdash.config_logs` and `opsdash.config_store`) [logs] and [store]. Each [[kind]] of source is read by
`opsdash.config_tables` from the config dataclass its module declares, for
every kind the registry lists; nothing here names a source kind (but for
putting engines and hosts first).
"""

from __future__ import annotations

import fnmatch
import os
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from opsdash import config_checks as checks
from opsdash.config_checks import Invalid, syntax_line
from opsdash.config_logs import LOGS_KEYS, LogsConfig, read_logs_table
from opsdash.config_reader import ConfigError, suggestion
from opsdash.config_reader import Reader as _Reader
from opsdash.config_record import RECORD_KEYS, RecordConfig, read_record_table
from opsdash.config_store import STORE_KEYS, StoreConfig, read_store_table
from opsdash.config_tables import read_tables, schema_of
from opsdash.sources import base
from opsdash.theme_names import unknown_theme

DEFAULT_REFRESH = base.DEFAULT_REFRESH


@dataclass(frozen=True, slots=True)
class Matcher:
    """Matches a container or service by name glob and/or label (key or key=value)."""

    match_name: str = ""
    match_label: str = ""

    def matches(self, name: str, labels: dict[str, str]) -> bool:
        if not self.match_name and not self.match_label:
            return False
        if self.match_name and not fnmatch.fnmatchcase(name, self.match_name):
            return False
        if self.match_label:
            key, sep, value = self.match_label.partition("=")
            if key not in labels or (sep and labels[key] != value):
                return False
        return True


@dataclass(frozen=True, slots=True)
class RedeployCommand(Matcher):
    """A custom redeploy: argv run without a shell, placeholders filled per target."""

    name: str = ""
    argv: tuple[str, ...] = ()
    timeout: float = 600.0


@dataclass(frozen=True, slots=True)
class ServiceConfig(Matcher):
    """One service of the Deployments panel: what runs it and where its code is.

    Containers and Swarm services matching `match_name` / `match_label` are it;
    so are the deployments of the CI sources named in `pipelines` and the MLflow
    models named in `models` (kind "model"). `repo` is a local git checkout
    (lead time for changes, commits not yet deployed).
    """

    name: str = ""
    pipelines: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    repo: str = ""
    branch: str = "main"
    environment: str = "production"


@dataclass(frozen=True, slots=True)
class DoraConfig:
    failure_window: float = 3600.0  # seconds after a deploy in which trouble counts it as failed
    retention_days: int = 400  # deployment events and health issues older than this are dropped
    timezone: str = ""  # IANA name for day/week buckets; "" is the local zone


@dataclass(frozen=True, slots=True)
class Config:
    path: Path | None  # None when no config file exists (autodetected)
    refresh: float = DEFAULT_REFRESH
    read_only: bool = False
    # One record per [[kind]] table (or autodetected), each of its source's
    # `config_class`, in the order the sources are built.
    sources: tuple[Any, ...] = ()
    keys: dict[str, str] = field(default_factory=dict)
    redeploy: tuple[RedeployCommand, ...] = ()
    protect: tuple[Matcher, ...] = ()
    health_timeout: float = 60.0
    services: tuple[ServiceConfig, ...] = ()
    dora: DoraConfig = field(default_factory=DoraConfig)
    logs: LogsConfig = field(default_factory=LogsConfig)
    record: RecordConfig = field(default_factory=RecordConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    warnings: tuple[str, ...] = ()
    theme: str = ""  # [ui] theme (or --theme); "" is Textual's default
    # The kinds the file has a table for, and whether the kinds without one have
    # autodetected yet (`with_autodetected`; the TUI does it after its first frame).
    tables: tuple[str, ...] = ()
    detected: bool = True

    def of_kind(self, *kinds: str) -> tuple[Any, ...]:
        """The configured records of these source kinds, in build order."""
        return tuple(c for c in self.sources if c.kind in kinds)


# The top-level keys that are not source kinds; the tables' schemas below are
# key -> (TOML type or tuple of types, default).
_CORE_KEYS = {
    "refresh",
    "read_only",
    "health_timeout",
    "keys",
    "redeploy",
    "protect",
    "service",
    "dora",
    "ui",
    "logs",
    "record",
    "store",
}
PLACEHOLDERS = ("name", "id", "host", "image", "project", "service", "kind")
_REDEPLOY_KEYS: dict[str, tuple[type | tuple[type, ...], Any]] = {
    "name": (str, ""),
    "match_name": (str, ""),
    "match_label": (str, ""),
    "argv": (list, None),
    "timeout": ((int, float), 600.0),
}
_PROTECT_KEYS: dict[str, tuple[type | tuple[type, ...], Any]] = {
    "match_name": (str, ""),
    "match_label": (str, ""),
}
_NUMBER = (int, float)
_SERVICE_KEYS: dict[str, tuple[type | tuple[type, ...], Any]] = {
    "name": (str, None),
    "match_name": (str, ""),
    "match_label": (str, ""),
    "pipelines": (list, []),
    "models": (list, []),
    "repo": (str, ""),
    "branch": (str, "main"),
    "environment": (str, "production"),
}
_DORA_KEYS: dict[str, tuple[type | tuple[type, ...], Any]] = {
    "failure_window": (_NUMBER, 3600.0),
    "retention_days": (int, 400),
    "timezone": (str, ""),
}
_UI_KEYS: dict[str, tuple[type | tuple[type, ...], Any]] = {"theme": (str, "")}


def schemas() -> dict[str, dict[str, tuple[type | tuple[type, ...], Any]]]:
    """Every table's keys (key -> (TOML type, default)): the installed sources' from
    their dataclasses, then [[redeploy]], [[protect]], [[service]] and [dora]."""
    from opsdash.sources.registry import installed_kinds, source_class

    found = {kind: schema_of(source_class(kind).config_class).types for kind in installed_kinds()}
    return {
        **found,
        "redeploy": _REDEPLOY_KEYS,
        "protect": _PROTECT_KEYS,
        "service": _SERVICE_KEYS,
        "dora": _DORA_KEYS,
        "ui": _UI_KEYS,
        "logs": LOGS_KEYS,
        "record": RECORD_KEYS,
        "store": STORE_KEYS,
    }


def autodetected(refresh: float, present: Iterable[str] = ()) -> tuple[Any, ...]:
    """What each installed source kind finds by itself (env vars, sockets, the
    git checkout), for every kind without a table in the config."""
    from opsdash.sources.registry import installed_kinds, source_class

    detection = base.Detection(refresh=refresh)
    found: list[Any] = []
    for kind in installed_kinds():
        if kind not in present:
            found.extend(source_class(kind).autodetect(detection))
    return _in_panel_order(found)


def with_autodetected(config: Config) -> Config:
    """`config` with what the kinds without a table find by themselves, in panel
    order; itself when that was done already. Imports every installed source
    module and may look at sockets and files: not for the UI thread."""
    if config.detected:
        return config
    found = autodetected(config.refresh, config.tables)
    return replace(config, sources=_in_panel_order([*config.sources, *found]), detected=True)


def _rank(kind: str) -> int:
    """Engines and hosts lead the header, as their panels do: by what a kind
    feeds, not by its name."""
    from opsdash.model import DockerSnapshot, HostStats
    from opsdash.sources.registry import source_class

    leading = (DockerSnapshot, HostStats)
    feeds = source_class(kind).feeds
    return next((i for i, t in enumerate(leading) if issubclass(feeds, t)), len(leading))


def _build_order(kinds: Iterable[str]) -> list[str]:
    """Engines, then hosts, then the rest in the order given (the file's)."""
    return sorted(kinds, key=_rank)


def _in_panel_order(configs: Iterable[Any]) -> tuple[Any, ...]:
    """Source configs in build order; the sort is stable, so within a rank the
    file's order (then autodetection's) stays."""
    return tuple(sorted(configs, key=lambda c: _rank(c.kind)))


def load_config(
    path: Path | None = None,
    *,
    explicit: bool = False,
    read_only: bool | None = None,
    refresh: float | None = None,
    autodetect: bool = True,
) -> Config:
    """Read the config at `path` (or autodetect when it does not exist).

    `explicit` means the user named the file (``--config``), so a missing file is
    an error rather than a reason to autodetect; so is a file named by
    $OPSDASH_CONFIG. Only the default location may be absent. Without
    `autodetect` every problem is still found, but the kinds without a table look
    for nothing yet (`with_autodetected` does it later, off the UI thread).
    """
    from opsdash.locations import config_path, env_config_path

    via = ""
    if path is None and (named := env_config_path()) is not None:
        path, explicit, via = named, True, " (named by $OPSDASH_CONFIG)"
    path = path or config_path()
    try:
        exists = os.path.lexists(path)
    except (OSError, ValueError):
        exists = True  # let the read below say what is wrong
    if not exists:
        if explicit:
            raise ConfigError(path, "", f"config file not found{via}")
        base_refresh = refresh or DEFAULT_REFRESH
        config = Config(path=None, refresh=base_refresh, read_only=bool(read_only), detected=False)
        return with_autodetected(config) if autodetect else config
    try:
        text = checks.config_text(str(path))
        checks.nesting(text)
    except Invalid as exc:
        raise ConfigError(path, "", f"{exc}{via}", exc.line) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", str(exc))
        raise ConfigError(path, "", f"syntax error: {message}", syntax_line(exc, text)) from None
    except RecursionError:  # nesting() bounds the brackets; this is the backstop
        raise ConfigError(path, "", "syntax error: nested too deeply") from None
    except ValueError:  # int() refuses more than 4300 digits
        raise ConfigError(path, "", "syntax error: a number with too many digits") from None
    config = _parse(path, text, raw, read_only=read_only, refresh=refresh)
    return with_autodetected(config) if autodetect else config


def _parse(
    path: Path, text: str, raw: dict[str, Any], *, read_only: bool | None, refresh: float | None
) -> Config:
    """The file's settings and tables; `detected` False: nothing autodetected yet."""
    reader = _Reader(path, text)
    # Only a key that is not a core one can name a source kind: a file without
    # one does not read the installed distributions' metadata (the first frame waits).
    kinds = _installed_kinds() if any(key not in _CORE_KEYS for key in raw) else ()
    for key in raw:
        if key in _CORE_KEYS or key in kinds:
            continue
        if isinstance(raw[key], list) and all(isinstance(t, dict) for t in raw[key]):
            installed = (
                f"installed: {', '.join(kinds)}"
                if kinds
                else "no source kind is installed (opsdash runs uninstalled: pip install -e .)"
            )
            raise reader.error(key, f"unknown source kind{suggestion(key, kinds)}; {installed}")
        raise reader.error(key, f"unknown key{suggestion(key, [*_CORE_KEYS, *kinds])}")

    base_refresh = reader.number("refresh", raw.get("refresh", DEFAULT_REFRESH), "refresh")
    if refresh is not None:
        base_refresh = float(checks.number("refresh", refresh))  # the CLI checked it
    ro = raw.get("read_only", False)
    if not isinstance(ro, bool):
        raise reader.error("read_only", "must be true or false")

    keys = raw.get("keys", {})
    if not isinstance(keys, dict):
        raise reader.error("keys", "must be a table of binding id = key")
    keymap: dict[str, str] = {}
    for binding_id, key_value in keys.items():
        key = f"keys.{binding_id}"
        if not isinstance(key_value, str) or not key_value.strip():
            raise reader.error(key, 'must be a key name such as "ctrl+r"')
        try:
            checks.text(binding_id)
            keymap[binding_id] = checks.key_list(key_value)
        except Invalid as exc:
            raise reader.error(key, str(exc)) from None

    redeploy = []
    for index, item in enumerate(reader.array_of_tables("redeploy", raw.get("redeploy", []))):
        key = f"redeploy[{index}]"
        values = reader.table(key, item, _REDEPLOY_KEYS)
        argv = values["argv"]
        if not argv or not all(isinstance(a, str) for a in argv):
            raise reader.error(
                f"{key}.argv", 'must be a non-empty list of strings, e.g. ["make", "deploy"]'
            )
        for arg in argv:
            for field_name in re.findall(r"\{([^{}]*)\}", arg):
                if field_name not in PLACEHOLDERS:
                    raise reader.error(
                        f"{key}.argv",
                        f"unknown placeholder {{{field_name}}} (use {', '.join(PLACEHOLDERS)})",
                    )
        if not values["match_name"] and not values["match_label"]:
            raise reader.error(f"{key}.match_name", "empty: needs match_name or match_label")
        redeploy.append(
            RedeployCommand(
                match_name=values["match_name"],
                match_label=values["match_label"],
                name=values["name"] or " ".join(argv[0].split()),  # argv may hold newlines
                argv=tuple(argv),
                timeout=float(values["timeout"]),
            )
        )
    protect = []
    for index, item in enumerate(reader.array_of_tables("protect", raw.get("protect", []))):
        values = reader.table(f"protect[{index}]", item, _PROTECT_KEYS)
        if not values["match_name"] and not values["match_label"]:
            raise reader.error(
                f"protect[{index}].match_name", "empty: needs match_name or match_label"
            )
        protect.append(Matcher(values["match_name"], values["match_label"]))
    health_timeout = reader.number(
        "health_timeout", raw.get("health_timeout", 60.0), "health_timeout"
    )

    sources, tables = _parse_sources(reader, raw, base_refresh, kinds)
    services = _parse_services(reader, raw)
    dora = _parse_dora(reader, raw)
    theme = reader.table("ui", raw.get("ui", {}), _UI_KEYS)["theme"]
    if theme and (why := unknown_theme(theme)):
        raise reader.error("ui.theme", why)
    logs = read_logs_table(reader, raw)
    record = read_record_table(reader, raw)
    store = read_store_table(reader, raw)

    return Config(
        path=path,
        refresh=base_refresh,
        read_only=bool(read_only) or ro,
        sources=sources,
        keys=keymap,
        redeploy=tuple(redeploy),
        protect=tuple(protect),
        health_timeout=health_timeout,
        services=services,
        dora=dora,
        logs=logs,
        record=record,
        store=store,
        warnings=tuple(reader.warnings),
        theme=theme,
        tables=tables,
        detected=False,
    )


def _required(reader: _Reader, key: str, values: dict[str, Any], *names: str) -> None:
    for name in names:
        if not values.get(name):
            raise reader.error(f"{key}.{name}" if name else key, "is required")


def _strings(reader: _Reader, key: str, value: list[Any]) -> tuple[str, ...]:
    if not all(isinstance(v, str) and v for v in value):
        raise reader.error(key, "must be a list of non-empty strings")
    return tuple(value)


def _installed_kinds() -> tuple[str, ...]:
    from opsdash.sources.registry import installed_kinds

    return installed_kinds()


def _parse_sources(
    reader: _Reader, raw: dict[str, Any], refresh: float, installed: tuple[str, ...]
) -> tuple[tuple[Any, ...], tuple[str, ...]]:
    """Every [[kind]] table, in the panels' order, and the kinds that have one."""
    from opsdash.sources.registry import source_class

    names: set[str] = set()
    out: list[Any] = []
    present = [k for k in raw if k in installed]
    for kind in _build_order(present):  # engines' and hosts' names are claimed first
        tables = reader.array_of_tables(kind, raw[kind])
        cls = source_class(kind).config_class
        out.extend(read_tables(reader, kind, tables, cls, names, refresh))
    return _in_panel_order(out), tuple(present)


def _parse_services(reader: _Reader, raw: dict[str, Any]) -> tuple[ServiceConfig, ...]:
    out: list[ServiceConfig] = []
    seen: set[str] = set()
    for index, item in enumerate(reader.array_of_tables("service", raw.get("service", []))):
        key = f"service[{index}]"
        values = reader.table(key, item, _SERVICE_KEYS)
        _required(reader, key, values, "name")
        if values["name"] in seen:
            raise reader.error(f"{key}.name", f"duplicate service {values['name']!r}")
        seen.add(values["name"])
        repo = os.path.expanduser(values["repo"])
        if repo and not Path(repo).is_dir():
            raise reader.error(f"{key}.repo", f"not a directory: {repo}")
        out.append(
            ServiceConfig(
                match_name=values["match_name"],
                match_label=values["match_label"],
                name=values["name"],
                pipelines=_strings(reader, f"{key}.pipelines", values["pipelines"]),
                models=_strings(reader, f"{key}.models", values["models"]),
                repo=repo,
                branch=values["branch"],
                environment=values["environment"],
            )
        )
    return tuple(out)


def _parse_dora(reader: _Reader, raw: dict[str, Any]) -> DoraConfig:
    values = reader.table("dora", raw.get("dora", {}), _DORA_KEYS)
    zone = values["timezone"]
    if zone:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise reader.error("dora.timezone", f"unknown time zone {zone!r}") from None
    return DoraConfig(
        failure_window=float(values["failure_window"]),
        retention_days=values["retention_days"],
        timezone=zone,
    )
