"""Which kubeconfig files apply and what they say, as kubectl reads them.

lightkube turns one context into a connection (CA, client certificates,
tokens, token files, exec plugins); this module does the two things it does
not: merging a `KUBECONFIG` of several files the way kubectl does (the first
file to define a context, cluster or user wins; the first `current-context`
wins; relative paths are relative to the file that names them) and accepting
exec plugins declared with `client.authentication.k8s.io/v1`, whose output
lightkube reads the same way as v1beta1's.
https://kubernetes.io/docs/concepts/configuration/organize-cluster-access-kubeconfig/
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsdash.sources.base import SourceError

SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
_FILE_KEYS = {
    "cluster": ("certificate-authority",),
    "user": ("client-certificate", "client-key", "tokenFile"),
}
MAX_KUBECONFIG_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Kubeconfig:
    """The merged document, and where it came from (for messages)."""

    document: dict[str, Any]
    files: tuple[Path, ...]

    @property
    def contexts(self) -> tuple[str, ...]:
        return tuple(
            str(c["name"])
            for c in self.document.get("contexts", [])
            if isinstance(c, dict) and c.get("name")
        )

    @property
    def current_context(self) -> str:
        return str(self.document.get("current-context") or "")

    def context(self, name: str) -> dict[str, Any]:
        for entry in self.document.get("contexts", []):
            if isinstance(entry, dict) and entry.get("name") == name:
                return entry.get("context") or {}
        return {}

    def server(self, context: str) -> str:
        cluster = self.context(context).get("cluster")
        for entry in self.document.get("clusters", []):
            if isinstance(entry, dict) and entry.get("name") == cluster:
                return str((entry.get("cluster") or {}).get("server") or "")
        return ""

    def where(self) -> str:
        return os.pathsep.join(str(f) for f in self.files)


@dataclass(frozen=True, slots=True)
class KubectlAccess:
    """How kubectl reaches one context the way the source does: the same files
    and context name (never a credential), or the pod's service account."""

    files: tuple[Path, ...]
    context: str
    in_cluster: bool = False
    shell: tuple[str, ...] = ("/bin/sh",)


def kubeconfig_files(setting: str, environ: Mapping[str, str]) -> tuple[Path, ...]:
    """The files a config's `kubeconfig` names, else $KUBECONFIG's, else ~/.kube/config."""
    value = setting or environ.get("KUBECONFIG", "")
    if value:
        return tuple(Path(p).expanduser() for p in value.split(os.pathsep) if p)
    home = environ.get("HOME") or str(Path.home())
    return (Path(home) / ".kube" / "config",)


def service_resolves(host: str, timeout: float = 1.0) -> bool:
    """Whether a cluster service name (``ml-pipeline.kubeflow``) resolves, asked
    at most `timeout` seconds: autodetection in a pod looks for a service only
    where it exists, so a cluster without it gets no source that always fails."""
    import socket
    import threading

    found: list[bool] = []

    def ask() -> None:
        try:
            found.append(bool(socket.getaddrinfo(host, None)))
        except OSError:
            found.append(False)

    thread = threading.Thread(target=ask, name="opsdash-resolve", daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(found and found[0])


def in_cluster(environ: Mapping[str, str]) -> bool:
    """Running in a pod with a service account: the variables and the token are there."""
    return bool(environ.get("KUBERNETES_SERVICE_HOST")) and (SERVICE_ACCOUNT / "token").is_file()


def _absolute(section: str, body: Any, base: Path) -> Any:
    if not isinstance(body, dict):
        return body
    body = dict(body)
    for key in _FILE_KEYS.get(section, ()):
        value = body.get(key)
        if isinstance(value, str) and value and not os.path.isabs(value):
            body[key] = str(base / os.path.expanduser(value))
    if section == "user" and isinstance(body.get("exec"), dict):
        exec_ = dict(body["exec"])
        if exec_.get("apiVersion") == "client.authentication.k8s.io/v1":
            exec_["apiVersion"] = "client.authentication.k8s.io/v1beta1"
        body["exec"] = exec_
    return body


def _read(path: Path) -> dict[str, Any]:
    import yaml

    try:
        if not path.is_file():
            raise SourceError(f"{path}: not a file")
        with path.open("rb") as handle:
            raw = handle.read(MAX_KUBECONFIG_BYTES + 1)
    except OSError as exc:
        raise SourceError(f"{path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_KUBECONFIG_BYTES:
        raise SourceError(f"{path}: larger than {MAX_KUBECONFIG_BYTES // 1024 // 1024} MiB")
    try:
        document = yaml.safe_load(raw) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise SourceError(f"{path}{line}: not a kubeconfig (YAML error)") from None
    if not isinstance(document, dict):
        raise SourceError(f"{path}: not a kubeconfig (a YAML mapping is expected)")
    return document


def load(files: tuple[Path, ...]) -> Kubeconfig:
    """Merge the files kubectl's way. Missing files are skipped, as kubectl does,
    unless none exists."""
    merged: dict[str, Any] = {"clusters": [], "users": [], "contexts": []}
    seen: dict[str, set[str]] = {"clusters": set(), "users": set(), "contexts": set()}
    found: list[Path] = []
    for path in files:
        if not path.exists():
            continue
        document = _read(path)
        found.append(path)
        base = path.resolve().parent
        if not merged.get("current-context") and document.get("current-context"):
            merged["current-context"] = document["current-context"]
        for plural, section in (("clusters", "cluster"), ("users", "user"), ("contexts", "")):
            for entry in document.get(plural) or []:
                if not isinstance(entry, dict) or not entry.get("name"):
                    continue
                name = str(entry["name"])
                if name in seen[plural]:
                    continue
                seen[plural].add(name)
                entry = dict(entry)
                if section:
                    entry[section] = _absolute(section, entry.get(section), base)
                merged[plural].append(entry)
    if not found:
        raise SourceError(f"no kubeconfig: {os.pathsep.join(str(f) for f in files)} not found")
    return Kubeconfig(merged, tuple(found))
