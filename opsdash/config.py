"""Load and validate the TOML config into frozen settings.

Every problem becomes a `ConfigError` whose message is one line naming the
file, the key and, for syntax errors, the line. Secrets are only accepted as
`${ENV_VAR}` references; a literal one is allowed but warned about.
"""

from __future__ import annotations

import difflib
import fnmatch
import os
import re
import socket
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_REFRESH = 2.0
DEFAULT_TIMEOUT = 10.0
DEFAULT_DOCKER_SOCKET = "/var/run/docker.sock"
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SECRET_KEY = re.compile(r"(token|password|passwd|secret|api_?key|private_?key)$", re.I)


class ConfigError(Exception):
    """A config problem, rendered as one line: ``file:line: key: message``."""

    def __init__(self, path: Path | str, key: str, message: str, line: int | None = None):
        self.path = str(path)
        self.key = key
        self.line = line
        self.message = message
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {key}: {message}" if key else f"{where}: {message}")


@dataclass(frozen=True, slots=True)
class DockerHostConfig:
    name: str
    host: str  # unix://, tcp:// or ssh:// URL
    tls_verify: bool = False
    cert_path: str = ""  # directory holding ca.pem, cert.pem, key.pem
    use_ssh_client: bool = True  # ssh:// through the system ssh binary (honours ~/.ssh/config)
    read_only: bool = False
    refresh: float = DEFAULT_REFRESH
    timeout: float = DEFAULT_TIMEOUT
    stats: bool = True
    stats_concurrency: int = 16
    pull: bool = True  # R pulls the tag first; false: always recreate from the local image


@dataclass(frozen=True, slots=True)
class HostConfig:
    name: str
    disks: tuple[str, ...] = ("/",)
    refresh: float = DEFAULT_REFRESH
    timeout: float = DEFAULT_TIMEOUT


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
class Config:
    path: Path | None  # None when no config file exists (autodetected)
    refresh: float = DEFAULT_REFRESH
    read_only: bool = False
    docker: tuple[DockerHostConfig, ...] = ()
    hosts: tuple[HostConfig, ...] = ()
    keys: dict[str, str] = field(default_factory=dict)
    redeploy: tuple[RedeployCommand, ...] = ()
    protect: tuple[Matcher, ...] = ()
    health_timeout: float = 60.0
    warnings: tuple[str, ...] = ()


# key -> (type or tuple of types, default); "required" marks mandatory keys.
_TOP_KEYS = {
    "refresh",
    "read_only",
    "health_timeout",
    "docker",
    "host",
    "keys",
    "redeploy",
    "protect",
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
_DOCKER_KEYS: dict[str, tuple[type | tuple[type, ...], Any]] = {
    "name": (str, None),
    "host": (str, None),
    "tls_verify": (bool, False),
    "cert_path": (str, ""),
    "use_ssh_client": (bool, True),
    "read_only": (bool, False),
    "refresh": ((int, float), None),
    "timeout": ((int, float), DEFAULT_TIMEOUT),
    "stats": (bool, True),
    "stats_concurrency": (int, 16),
    "pull": (bool, True),
}
_HOST_KEYS: dict[str, tuple[type | tuple[type, ...], Any]] = {
    "name": (str, None),
    "disks": (list, ["/"]),
    "refresh": ((int, float), None),
    "timeout": ((int, float), DEFAULT_TIMEOUT),
}


def default_docker_host() -> str:
    return os.environ.get("DOCKER_HOST") or f"unix://{DEFAULT_DOCKER_SOCKET}"


def _autodetect_docker(refresh: float) -> tuple[DockerHostConfig, ...]:
    """DOCKER_HOST if set, else the default socket if it exists, else nothing."""
    env_host = os.environ.get("DOCKER_HOST")
    if env_host:
        return (
            DockerHostConfig(
                name="local",
                host=env_host,
                tls_verify=os.environ.get("DOCKER_TLS_VERIFY", "") not in ("", "0"),
                cert_path=os.environ.get("DOCKER_CERT_PATH", ""),
                refresh=refresh,
            ),
        )
    if Path(DEFAULT_DOCKER_SOCKET).exists():
        return (DockerHostConfig(name="local", host=default_docker_host(), refresh=refresh),)
    return ()


def _autodetect_host(refresh: float) -> tuple[HostConfig, ...]:
    return (HostConfig(name=socket.gethostname(), refresh=refresh),)


def _syntax_line(err: tomllib.TOMLDecodeError, text: str) -> int | None:
    lineno = getattr(err, "lineno", None)
    if lineno:
        return int(lineno)
    match = re.search(r"at line (\d+)", str(err))
    if match:
        return int(match.group(1))
    return max(1, len(text.splitlines())) if "end of document" in str(err) else None


def line_of(text: str, key: str) -> int | None:
    """Best-effort line number of a key, to point the user at it."""
    leaf = key.rsplit(".", 1)[-1].split("[", 1)[0]
    pattern = re.compile(rf"^\s*(\[\[?\s*)?\"?{re.escape(leaf)}\"?\s*(=|\]\]?)")
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            return number
    return None


class _Reader:
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

    def table(
        self, key: str, raw: Any, schema: dict[str, tuple[type | tuple[type, ...], Any]]
    ) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise self.error(key, f"must be a table, not {type(raw).__name__}")
        out: dict[str, Any] = {}
        for name, value in raw.items():
            full = f"{key}.{name}"
            if name not in schema:
                hint = difflib.get_close_matches(name, schema, n=1)
                suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
                raise self.error(full, f"unknown key{suggestion}")
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
            if isinstance(value, str):
                value = self.expand(full, value)
            out[name] = value
        for name, (_expected, default) in schema.items():
            out.setdefault(name, default)
        return out

    def positive(self, key: str, value: float | int) -> float:
        if value <= 0:
            raise self.error(key, f"must be greater than 0, not {value}")
        return float(value)

    def array_of_tables(self, key: str, raw: Any) -> list[Any]:
        if not isinstance(raw, list):
            raise self.error(key, f"must be an array of tables ([[{key}]]), not a single value")
        return raw


def load_config(
    path: Path | None = None,
    *,
    explicit: bool = False,
    read_only: bool | None = None,
    refresh: float | None = None,
) -> Config:
    """Read the config at `path` (or autodetect when it does not exist).

    `explicit` means the user named the file (``--config``), so a missing file is
    an error rather than a reason to autodetect.
    """
    from opsdash.locations import config_path

    path = path or config_path()
    if not path.exists():
        if explicit:
            raise ConfigError(path, "", "config file not found")
        base_refresh = refresh or DEFAULT_REFRESH
        return Config(
            path=None,
            refresh=base_refresh,
            read_only=bool(read_only),
            docker=_autodetect_docker(base_refresh),
            hosts=_autodetect_host(base_refresh),
        )
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(path, "", f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(path, "", "not valid UTF-8 text") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", str(exc))
        raise ConfigError(path, "", f"syntax error: {message}", _syntax_line(exc, text)) from None
    return _parse(path, text, raw, read_only=read_only, refresh=refresh)


def _parse(
    path: Path, text: str, raw: dict[str, Any], *, read_only: bool | None, refresh: float | None
) -> Config:
    reader = _Reader(path, text)
    for key in raw:
        if key not in _TOP_KEYS:
            hint = difflib.get_close_matches(key, _TOP_KEYS, n=1)
            suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise reader.error(key, f"unknown key{suggestion}")

    base_refresh = raw.get("refresh", DEFAULT_REFRESH)
    if isinstance(base_refresh, bool) or not isinstance(base_refresh, int | float):
        raise reader.error("refresh", "must be a number of seconds")
    base_refresh = refresh or reader.positive("refresh", base_refresh)
    ro = raw.get("read_only", False)
    if not isinstance(ro, bool):
        raise reader.error("read_only", "must be true or false")

    docker: list[DockerHostConfig] = []
    names: set[str] = set()
    if "docker" in raw:
        for index, item in enumerate(reader.array_of_tables("docker", raw["docker"])):
            key = f"docker[{index}]"
            values = reader.table(key, item, _DOCKER_KEYS)
            name = values["name"] or (f"docker{index}" if index else "local")
            if name in names:
                raise reader.error(f"{key}.name", f"duplicate source name {name!r}")
            names.add(name)
            host = values["host"] or default_docker_host()
            if not re.match(r"^(unix|tcp|ssh|npipe)://", host):
                raise reader.error(
                    f"{key}.host", "must start with unix://, tcp:// or ssh:// (e.g. ssh://user@box)"
                )
            if values["stats_concurrency"] < 1:
                raise reader.error(f"{key}.stats_concurrency", "must be at least 1")
            docker.append(
                DockerHostConfig(
                    name=name,
                    host=host,
                    tls_verify=values["tls_verify"],
                    cert_path=os.path.expanduser(values["cert_path"]),
                    use_ssh_client=values["use_ssh_client"],
                    read_only=values["read_only"],
                    refresh=reader.positive(f"{key}.refresh", values["refresh"] or base_refresh),
                    timeout=reader.positive(f"{key}.timeout", values["timeout"]),
                    stats=values["stats"],
                    stats_concurrency=values["stats_concurrency"],
                    pull=values["pull"],
                )
            )
    else:
        docker = list(_autodetect_docker(base_refresh))

    hosts: list[HostConfig] = []
    if "host" in raw:
        for index, item in enumerate(reader.array_of_tables("host", raw["host"])):
            key = f"host[{index}]"
            values = reader.table(key, item, _HOST_KEYS)
            disks = values["disks"]
            if not all(isinstance(d, str) for d in disks):
                raise reader.error(f"{key}.disks", "must be a list of paths (strings)")
            name = values["name"] or socket.gethostname()
            if name in names:
                raise reader.error(f"{key}.name", f"duplicate source name {name!r}")
            names.add(name)
            hosts.append(
                HostConfig(
                    name=name,
                    disks=tuple(disks) or ("/",),
                    refresh=reader.positive(f"{key}.refresh", values["refresh"] or base_refresh),
                    timeout=reader.positive(f"{key}.timeout", values["timeout"]),
                )
            )
    else:
        hosts = list(_autodetect_host(base_refresh))

    keys = raw.get("keys", {})
    if not isinstance(keys, dict):
        raise reader.error("keys", "must be a table of binding id = key")
    for binding_id, key_value in keys.items():
        if not isinstance(key_value, str) or not key_value.strip():
            raise reader.error(f"keys.{binding_id}", 'must be a key name such as "ctrl+r"')

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
            raise reader.error(key, "needs match_name or match_label")
        redeploy.append(
            RedeployCommand(
                match_name=values["match_name"],
                match_label=values["match_label"],
                name=values["name"] or argv[0],
                argv=tuple(argv),
                timeout=reader.positive(f"{key}.timeout", values["timeout"]),
            )
        )
    protect = []
    for index, item in enumerate(reader.array_of_tables("protect", raw.get("protect", []))):
        values = reader.table(f"protect[{index}]", item, _PROTECT_KEYS)
        if not values["match_name"] and not values["match_label"]:
            raise reader.error(f"protect[{index}]", "needs match_name or match_label")
        protect.append(Matcher(values["match_name"], values["match_label"]))
    health_timeout = raw.get("health_timeout", 60.0)
    if isinstance(health_timeout, bool) or not isinstance(health_timeout, int | float):
        raise reader.error("health_timeout", "must be a number of seconds")

    return Config(
        path=path,
        refresh=base_refresh,
        read_only=bool(read_only) or ro,
        docker=tuple(docker),
        hosts=tuple(hosts),
        keys=dict(keys),
        redeploy=tuple(redeploy),
        protect=tuple(protect),
        health_timeout=reader.positive("health_timeout", health_timeout),
        warnings=tuple(reader.warnings),
    )
