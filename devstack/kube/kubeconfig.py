"""A kubeconfig (JSON is valid YAML) with one context per emulator.

https://kubernetes.io/docs/concepts/configuration/organize-cluster-access-kubeconfig/
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def _cluster(server: Any) -> dict[str, str]:
    entry = {"server": server.url}
    ca = getattr(server, "ca_file", None)
    if ca is not None:
        entry["certificate-authority-data"] = base64.b64encode(Path(ca).read_bytes()).decode()
    return entry


def write_kubeconfig(
    path: Path | str,
    clusters: Mapping[str, Any],
    current: str | None = None,
    namespace: str = "default",
) -> Path:
    """`clusters` maps a context name to a started KubeApiServer (anything with
    `url` and `token`); the first is the current context unless `current` says."""
    names = list(clusters)
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": n, "cluster": _cluster(clusters[n])} for n in names],
        "users": [{"name": f"{n}-user", "user": {"token": clusters[n].token}} for n in names],
        "contexts": [
            {"name": n, "context": {"cluster": n, "user": f"{n}-user", "namespace": namespace}}
            for n in names
        ],
        "current-context": current or names[0],
    }
    target = Path(path)
    target.write_text(json.dumps(config, indent=2), encoding="utf-8")
    target.chmod(0o600)
    return target
