"""A kubeconfig (JSON is valid YAML) with one context per emulator.

https://kubernetes.io/docs/concepts/configuration/organize-cluster-access-kubeconfig/
https://kubernetes.io/docs/reference/config-api/kubeconfig.v1/ (AuthInfo: token,
client-certificate-data, client-key-data)
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
        entry["certificate-authority-data"] = _b64(ca)
    return entry


def _b64(path: Path) -> str:
    return base64.b64encode(Path(path).read_bytes()).decode()


def _user(server: Any, auth: str) -> dict[str, str]:
    if auth == "token":
        return {"token": server.token}
    if auth == "cert":
        pair = getattr(server, "client_cert", None)
        if pair is None:
            raise ValueError("auth='cert' needs a server with tls_dir (client certificates)")
        cert, key = pair
        return {"client-certificate-data": _b64(cert), "client-key-data": _b64(key)}
    raise ValueError(f"auth must be 'token' or 'cert', not {auth!r}")


def write_kubeconfig(
    path: Path | str,
    clusters: Mapping[str, Any],
    current: str | None = None,
    namespace: str = "default",
    *,
    auth: str | Mapping[str, str] = "token",
) -> Path:
    """`clusters` maps a context name to a started KubeApiServer (anything with
    `url` and `token`); the first is the current context unless `current` says.
    `auth` is "token" (bearer) or "cert" (client-certificate-data/client-key-data
    of the server's CA, TLS servers only), or a map of context name to either."""
    names = list(clusters)

    def how(name: str) -> str:
        return auth if isinstance(auth, str) else auth.get(name, "token")

    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": n, "cluster": _cluster(clusters[n])} for n in names],
        "users": [{"name": f"{n}-user", "user": _user(clusters[n], how(n))} for n in names],
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
