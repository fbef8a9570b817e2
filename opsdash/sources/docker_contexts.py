"""Which Docker engine a name means, as the docker CLI decides it: contexts.

`docker context use prod` writes `currentContext` into the CLI's config.json
($DOCKER_CONFIG, else ~/.docker); each context is a directory named by the
SHA-256 of its name, holding `contexts/meta/<sha>/meta.json` (the endpoint:
`Endpoints.docker.Host`, `SkipTLSVerify`) and, when it has TLS material,
`contexts/tls/<sha>/docker/{ca,cert,key}.pem`. Without a config opsdash follows
the CLI's order: $DOCKER_HOST, else $DOCKER_CONTEXT, else `currentContext`,
else the local socket.

Only files are read here (no SDK, no Textual), so the config reader and
autodetection can use it; every problem is one `ContextError` line naming the
file and the key, raised where the config names the context.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from opsdash.config_checks import Invalid

DEFAULT_CONTEXT = "default"  # the CLI's name for "$DOCKER_HOST, else the local socket"
DEFAULT_SOCKET_HOST = "unix:///var/run/docker.sock"
MAX_META_BYTES = 1 << 20
# The docker CLI's own rule for a context name (cli/context/store).
_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$")
_HOST = re.compile(r"^(unix|tcp|ssh|npipe)://")


class ContextError(Invalid):
    """A context that cannot be used: one line naming the file and the key.

    `key` is the config key it belongs to, for the config reader's message."""

    key = "context"


@dataclass(frozen=True, slots=True)
class TLSFiles:
    """The TLS material of one engine: PEM paths ("" when absent) and whether
    the engine's certificate is verified (against `ca`, else the system CAs)."""

    ca: str = ""
    cert: str = ""
    key: str = ""
    verify: bool = True


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a context points: its engine's URL and TLS material."""

    name: str
    host: str
    tls: TLSFiles | None = None
    origin: str = ""  # the meta.json it was read from ("" for the default context)


def config_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """The docker CLI's config directory: $DOCKER_CONFIG, else ~/.docker."""
    named = environ.get("DOCKER_CONFIG", "")
    if named:
        return Path(os.path.expanduser(named))
    home = environ.get("HOME") or os.path.expanduser("~")
    return Path(home) / ".docker"


def context_id(name: str) -> str:
    """The directory name of a context: the SHA-256 of its name, as the CLI stores it."""
    return hashlib.sha256(name.encode()).hexdigest()


def current_context(environ: Mapping[str, str] = os.environ) -> str:
    """The context the CLI would use when $DOCKER_HOST is not set: $DOCKER_CONTEXT,
    else config.json's `currentContext`, else "default"."""
    named = environ.get("DOCKER_CONTEXT", "").strip()
    if named:
        return named
    path = config_dir(environ) / "config.json"
    document = _json_file(path, missing_ok=True)
    if document is None:
        return DEFAULT_CONTEXT
    current = document.get("currentContext", "")
    if not isinstance(current, str):
        raise ContextError(f"{path}: currentContext: must be a string")
    return current or DEFAULT_CONTEXT


def default_endpoint(environ: Mapping[str, str] = os.environ) -> Endpoint:
    """The "default" context: $DOCKER_HOST (with $DOCKER_TLS_VERIFY and
    $DOCKER_CERT_PATH), else the local socket."""
    host = environ.get("DOCKER_HOST", "") or DEFAULT_SOCKET_HOST
    verify = environ.get("DOCKER_TLS_VERIFY", "") not in ("", "0")
    cert_path = environ.get("DOCKER_CERT_PATH", "")
    return Endpoint(DEFAULT_CONTEXT, host, _cert_dir_tls(host, verify, cert_path))


def load_context(name: str, environ: Mapping[str, str] = os.environ) -> Endpoint:
    """The endpoint of the context `name`; ContextError naming the file and key."""
    if name == DEFAULT_CONTEXT:
        return default_endpoint(environ)
    if not _NAME.match(name):
        raise ContextError(
            f"{name!r} is not a Docker context name (letters, digits and _ . + -, "
            "at least two characters; `docker context ls` lists them)"
        )
    base = config_dir(environ) / "contexts"
    meta = base / "meta" / context_id(name) / "meta.json"
    document = _json_file(meta, missing_ok=True)
    if document is None:
        raise ContextError(
            f'no Docker context "{name}": {meta} does not exist (`docker context ls` lists them)'
        )
    endpoints = document.get("Endpoints")
    if not isinstance(endpoints, dict) or not isinstance(endpoints.get("docker"), dict):
        raise ContextError(
            f"{meta}: Endpoints.docker: missing (the context has no Docker endpoint)"
        )
    docker = endpoints["docker"]
    host = docker.get("Host")
    if not isinstance(host, str) or not host:
        raise ContextError(f"{meta}: Endpoints.docker.Host: missing or not a string")
    if not _HOST.match(host) or any(ord(c) < 32 for c in host):
        raise ContextError(
            f"{meta}: Endpoints.docker.Host: {host[:100]!r} must start with unix://, "
            "tcp:// or ssh://"
        )
    skip = docker.get("SkipTLSVerify", False)
    if not isinstance(skip, bool):
        raise ContextError(f"{meta}: Endpoints.docker.SkipTLSVerify: must be true or false")
    tls = (
        _context_tls(base / "tls" / context_id(name) / "docker", skip)
        if host.startswith("tcp://")
        else None
    )
    return Endpoint(name, host, tls, str(meta))


def _context_tls(directory: Path, skip_verify: bool) -> TLSFiles | None:
    """A context's TLS: the PEM files it stored, and SkipTLSVerify. None (plain
    HTTP) when it has neither, as for the CLI."""
    found = {n: str(directory / f"{n}.pem") for n in ("ca", "cert", "key")}
    found = {n: p for n, p in found.items() if os.path.isfile(p)}
    if bool(found.get("cert")) != bool(found.get("key")):
        have, lack = ("cert", "key") if "cert" in found else ("key", "cert")
        raise ContextError(f"{directory}: {have}.pem without {lack}.pem")
    if not found and not skip_verify:
        return None
    return TLSFiles(
        ca=found.get("ca", ""),
        cert=found.get("cert", ""),
        key=found.get("key", ""),
        verify=not skip_verify,
    )


def _cert_dir_tls(host: str, verify: bool, cert_path: str) -> TLSFiles | None:
    """TLS as $DOCKER_TLS_VERIFY / $DOCKER_CERT_PATH (and the tls_verify /
    cert_path keys) give it: the three PEM files of one directory."""
    if not host.startswith("tcp://") or not (verify or cert_path):
        return None
    directory = os.path.expanduser(cert_path or "~/.docker")
    return TLSFiles(
        ca=os.path.join(directory, "ca.pem"),
        cert=os.path.join(directory, "cert.pem"),
        key=os.path.join(directory, "key.pem"),
        verify=verify,
    )


def _json_file(path: Path, *, missing_ok: bool) -> dict[str, Any] | None:
    """A JSON object from `path`; None when it is missing and that is fine."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_META_BYTES + 1)
    except FileNotFoundError:
        if missing_ok:
            return None
        raise ContextError(f"{path}: does not exist") from None
    except OSError as exc:
        raise ContextError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    if len(raw) > MAX_META_BYTES:
        raise ContextError(f"{path}: larger than 1 MiB")
    try:
        document = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        reason = " ".join(str(exc).split())[:120]
        raise ContextError(f"{path}: not valid JSON ({reason})") from None
    if not isinstance(document, dict):
        raise ContextError(f"{path}: must hold a JSON object")
    return document


# --- what a [[docker]] record means -------------------------------------------------


def resolved(config: Any, environ: Mapping[str, str] = os.environ) -> Any:
    """`config` with its `context` read: host and TLS from the context's files.
    A config naming no context is returned as it is."""
    if not config.context:
        return config
    endpoint = load_context(config.context, environ)
    return replace(
        config, host=endpoint.host, context_tls=endpoint.tls, context_origin=endpoint.origin or "-"
    )


def tls_of(config: Any) -> TLSFiles | None:
    """The TLS material of one [[docker]] record: its context's, else what
    tls_verify and cert_path say (tcp:// only)."""
    if config.context:
        return config.context_tls
    return _cert_dir_tls(config.host, config.tls_verify, config.cert_path)


def endpoint_of(config: Any) -> tuple[str, TLSFiles | None]:
    """Host and TLS material of one [[docker]] record, as a client connects to
    them. A context autodetection could not read raises its one line here, so
    the header says it; one not read yet (a record built in code) is read now."""
    problem = getattr(config, "context_problem", "")
    if problem:
        raise ContextError(problem)
    if config.context and not config.context_origin:
        config = resolved(config)
    return config.host, tls_of(config)


def detected(config_class: type, environ: Mapping[str, str], refresh: float) -> tuple[Any, ...]:
    """What autodetection finds when $DOCKER_HOST is not set: the context that
    $DOCKER_CONTEXT or `docker context use` selected, named after it; () for
    the default context (the caller looks for the local socket). A context that
    cannot be read is kept, with its problem, so the header shows the line."""
    try:
        name = current_context(environ)
    except ContextError as exc:
        return (config_class(name="local", refresh=refresh, context_problem=str(exc)),)
    if name == DEFAULT_CONTEXT:
        return ()
    record = config_class(name=name, context=name, refresh=refresh)
    try:
        return (resolved(record, environ),)
    except ContextError as exc:
        return (replace(record, context_problem=str(exc)),)


def with_contexts(
    config: Any, names: list[str], config_class: type, environ: Mapping[str, str] = os.environ
) -> Any:
    """`config` whose Docker engines are the contexts `names` (`--context`, given
    once or more), in that order: a [[docker]] table with `context = NAME` keeps
    its settings; another name becomes a `config_class` record of its own, named
    after it. ContextError for a name that cannot be read."""
    tables = [c for c in config.sources if c.kind == "docker"]
    chosen: list[Any] = []
    for name in dict.fromkeys(names):
        table = next((c for c in tables if c.context == name), None)
        if table is None:
            record = config_class(name=name, context=name, refresh=config.refresh)
            table = resolved(record, environ)
        chosen.append(table)
    others = tuple(c for c in config.sources if c.kind != "docker")
    kinds = config.tables if "docker" in config.tables else (*config.tables, "docker")
    return replace(config, sources=(*chosen, *others), tables=kinds)
