"""KubeApiServer: the HTTP side of the emulator (routing, auth, list/watch, patch).

    with KubeApiServer(ready_delay=0.2) as api:
        api.add_deployment("default", "web", "nginx:1.27", replicas=2)
        httpx.get(api.url + "/apis/apps/v1/deployments", headers=api.auth_headers)

Every mutating request is kept in `mutations` (method, path, content type and
parsed body) and every request in `requests`, for tests to assert on.

Seeding helpers (no HTTP, not recorded): add_namespace, add_deployment (also
`containers=[(name, image), ...]` and `ready=True` for bulk), add_statefulset,
add_daemonset, set_pod_log / append_pod_log; reads: deployment, pods, store.
Pods are scheduled on `nodes` (default node-1, node-2).
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from devstack.kube import bulk, discovery, objects
from devstack.kube.controller import Controller
from devstack.kube.handler import KubeHandler
from devstack.kube.store import Filter, Store
from devstack.local_http import LocalHttpServer


@dataclass(frozen=True)
class Mutation:
    method: str
    path: str
    query: dict[str, str]
    content_type: str
    body: Any  # parsed JSON, or the raw text when it was not JSON
    user_agent: str


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    query: dict[str, str]
    accept: str
    user_agent: str


class KubeApiServer(LocalHttpServer):
    thread_name = "kube-api"

    def __init__(
        self,
        token: str = "opsdash-test-token",
        *,
        ready_delay: float = 0.3,
        bookmark_interval: float = 1.0,
        watch_timeout: float = 30.0,
        history: int = 1000,
        namespaces: tuple[str, ...] = ("default", "kube-system"),
        tls_dir: Path | str | None = None,
        nodes: tuple[str, ...] = objects.NODES,
    ) -> None:
        super().__init__()
        self.token = token
        # HTTPS with a throwaway CA: client-go (kubectl) sends a bearer token only over TLS
        # (https://github.com/kubernetes/kubectl/issues/744)
        self.tls_dir = Path(tls_dir) if tls_dir is not None else None
        self.bookmark_interval = bookmark_interval
        self.watch_timeout = watch_timeout
        self.store = Store(history)
        self.controller = Controller(self.store, ready_delay=ready_delay, nodes=nodes)
        self.logs = self.controller.logs
        self.mutations: list[Mutation] = []
        self.requests: list[Seen] = []
        self.stopping = threading.Event()
        self._log_lock = threading.Lock()
        for name in namespaces:
            self.add_namespace(name)

    # --- lifecycle -------------------------------------------------------------

    def start(self):
        self.stopping.clear()
        super().start()
        self.controller.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.controller.stop()
        super().stop()

    @property
    def url(self) -> str:
        return f"{'https' if self.tls_dir else 'http'}://127.0.0.1:{self.port}"

    @property
    def ca_file(self) -> Path | None:
        return self.tls_dir / "ca.pem" if self.tls_dir else None

    def ssl_context(self) -> ssl.SSLContext | None:
        if self.tls_dir is None:
            return None
        from devstack.docker_engine import make_test_certificates  # openssl, as dockerd's TLS

        if not (self.tls_dir / "server-cert.pem").exists():
            make_test_certificates(self.tls_dir)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.tls_dir / "server-cert.pem", self.tls_dir / "server-key.pem")
        # client certificates signed by the same throwaway CA authenticate too (kube-apiserver
        # --client-ca-file); a client without one still connects and may send a token
        context.load_verify_locations(self.tls_dir / "ca.pem")
        context.verify_mode = ssl.CERT_OPTIONAL
        return context

    @property
    def client_cert(self) -> tuple[Path, Path] | None:
        """(certificate, key) of a client the server accepts (CN=client); after start()."""
        if self.tls_dir is None:
            return None
        return self.tls_dir / "cert.pem", self.tls_dir / "key.pem"

    @property
    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    # --- seeding (no HTTP, no recording) ------------------------------------------

    def add_namespace(self, name: str) -> dict[str, Any]:
        return self.store.create("namespaces", objects.namespace(name))

    def _namespace(self, ns: str) -> None:
        if self.store.get("namespaces", "", ns) is None:
            self.add_namespace(ns)

    def add_deployment(
        self,
        ns: str,
        name: str,
        image: str,
        replicas: int = 1,
        *,
        ready: bool = False,
        containers: list[tuple[str, str]] | None = None,
        **kw: Any,
    ) -> dict[str, Any]:
        """`containers=[("app", "img:1"), ("sidecar", "img2:1")]` replaces the one
        container NAME/image; `ready=True` also writes the ReplicaSet and Running,
        Ready pods at once (bulk seeding: no events, nothing for the controller to do)."""
        self._namespace(ns)
        spec = objects.deployment(ns, name, image, replicas, containers=containers, **kw)
        with self.store.lock:  # the controller must not see the Deployment alone
            made = self.store.create("deployments", spec)
            return bulk.ready_deployment(self, made) if ready else made

    def add_statefulset(
        self,
        ns: str,
        name: str,
        image: str,
        replicas: int = 1,
        *,
        containers: list[tuple[str, str]] | None = None,
    ) -> dict[str, Any]:
        self._namespace(ns)
        sts = objects.statefulset(ns, name, image, replicas, containers=containers)
        return self.store.create("statefulsets", sts)

    def add_daemonset(
        self, ns: str, name: str, image: str, *, containers: list[tuple[str, str]] | None = None
    ) -> dict[str, Any]:
        self._namespace(ns)
        return self.store.create(
            "daemonsets", objects.daemonset(ns, name, image, containers=containers)
        )

    def deployment(self, ns: str, name: str) -> dict[str, Any] | None:
        return self.store.get("deployments", ns, name)

    def pods(self, ns: str | None = None, **labels: str) -> list[dict[str, Any]]:
        """Pods (of one namespace, with these labels), sorted by namespace and name."""
        selector = ",".join(f"{k}={v}" for k, v in labels.items())
        return self.store.list("pods", Filter(ns, selector))[1]

    def _pod_uid(self, ns: str, pod: str) -> str:
        found = self.store.get("pods", ns, pod)
        if found is None:
            raise KeyError(f"no pod {ns}/{pod}")
        return found["metadata"]["uid"]

    def set_pod_log(
        self, ns: str, pod: str, container: str, lines: list[str], *, previous: bool = False
    ) -> None:
        """The log of a container's current (or previous) run, instead of synthetic
        lines; any text, escape sequences and markup included."""
        self.logs.set(self._pod_uid(ns, pod), container, list(lines), previous)

    def append_pod_log(self, ns: str, pod: str, container: str, *lines: str) -> None:
        """More lines for the current run (a follower sees them arrive)."""
        self.logs.append(self._pod_uid(ns, pod), container, list(lines))

    def calls(self, method: str | None = None, path: str | None = None) -> list[Mutation]:
        with self._log_lock:
            return [
                m
                for m in self.mutations
                if (method is None or m.method == method) and (path is None or m.path == path)
            ]

    # --- request log ------------------------------------------------------------

    def log(self, method: str, raw_path: str, headers: Any, body: bytes) -> None:
        parts = urlsplit(raw_path)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        agent = headers.get("User-Agent", "")
        with self._log_lock:
            self.requests.append(Seen(method, parts.path, query, headers.get("Accept", ""), agent))
            if method in ("POST", "PUT", "PATCH", "DELETE"):
                try:
                    parsed: Any = json.loads(body) if body else None
                except ValueError:
                    parsed = body.decode(errors="replace")
                kind = headers.get("Content-Type", "")
                self.mutations.append(Mutation(method, parts.path, query, kind, parsed, agent))

    def discovery(self, path: str) -> dict[str, Any] | None:
        return {
            "/version": discovery.VERSION,
            "/api": discovery.api_versions(f"127.0.0.1:{self.port}"),
            "/api/v1": discovery.core_v1(),
            "/apis": discovery.api_groups(),
            "/apis/apps/v1": discovery.apps_v1(),
            "/apis/events.k8s.io/v1": discovery.events_v1(),
        }.get(path.rstrip("/") or "/")

    def handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class _Handler(KubeHandler):
            api = server

        return _Handler

    def wait_until(self, predicate, timeout: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.05)
        raise TimeoutError("condition not met")
