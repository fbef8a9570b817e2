"""Routing and the REST verbs of the emulator, as the API conventions describe:
https://kubernetes.io/docs/reference/using-api/api-concepts/
"""

from __future__ import annotations

import copy
import json
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

from devstack.kube import patch, table
from devstack.kube.exec import serve_exec
from devstack.kube.logs import serve_log
from devstack.kube.objects import KINDS, event_v1, status
from devstack.kube.store import Conflict, Expired, Filter
from devstack.local_http import QuietHandler

EVENTS_V1 = "/apis/events.k8s.io/v1"  # read-only view of the same events
PREFIXES = {"/api/v1": "v1", "/apis/apps/v1": "apps/v1", EVENTS_V1: "events.k8s.io/v1"}
_V1_FIELDS = {"regarding.": "involvedObject.", "note": "message"}  # events.k8s.io -> core
_OPEN = ("/version", "/healthz", "/livez", "/readyz")  # readable without a token (public-info)
_WORKLOADS = ("deployments", "statefulsets", "daemonsets")  # PATCH/PUT-able here
_SUBRESOURCES = {
    "scale": ("deployments", "statefulsets"),
    "status": ("deployments", "statefulsets", "daemonsets", "replicasets", "pods"),
    "log": ("pods",),
    "exec": ("pods",),
}


def _group(resource: str) -> str:
    return "apps" if KINDS[resource][0] == "apps/v1" else ""


def _not_found(resource: str, name: str) -> tuple[int, dict[str, Any]]:
    group = _group(resource)
    qualified = f"{resource}.{group}" if group else resource
    return 404, status(
        404, "NotFound", f'{qualified} "{name}" not found', name=name, group=group, kind=resource
    )


def _listed(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in ("kind", "apiVersion")}  # items lack TypeMeta


def _scale(deploy: dict[str, Any]) -> dict[str, Any]:
    # https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/deployment-v1/#get-read-scale-of-the-specified-deployment
    # https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/stateful-set-v1/#get-read-scale-of-the-specified-statefulset
    meta = deploy["metadata"]
    labels = deploy["spec"]["selector"].get("matchLabels", {})
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
        },
        "spec": {"replicas": deploy["spec"].get("replicas", 1)},
        "status": {
            "replicas": deploy.get("status", {}).get("replicas", 0),
            "selector": ",".join(f"{k}={v}" for k, v in sorted(labels.items())),
        },
    }


_NOT_ALLOWED = status(405, "MethodNotAllowed", "the server does not allow this method")


class KubeHandler(QuietHandler):
    api: Any  # the KubeApiServer, set by KubeApiServer.handler()

    def _json(self, code: int, body: Any) -> None:
        self.send_reply(code, json.dumps(body).encode(), [("Content-Type", "application/json")])

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        self.query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.api.log(self.command, self.path, self.headers, body)
        path = parts.path.rstrip("/") or "/"
        if path not in _OPEN and not self._authenticated():
            self._json(401, status(401, "Unauthorized", "Unauthorized"))
            return
        if self.command == "GET" and (doc := self.api.discovery(path)) is not None:
            self._json(200, doc)
            return
        if path in ("/healthz", "/livez", "/readyz"):
            self.send_reply(200, b"ok", [("Content-Type", "text/plain; charset=utf-8")])
            return
        route = self._route(path)
        self.view = event_v1 if path.startswith(EVENTS_V1 + "/") else None
        if self.view is not None and self.command != "GET":
            self._json(405, _NOT_ALLOWED)
            return
        if route is None:
            self._json(
                404, status(404, "NotFound", "the server could not find the requested resource")
            )
            return
        code, reply = self._dispatch(*route, body)
        if reply is not None:
            self._json(code, reply)

    def _authenticated(self) -> bool:
        """A bearer token, or a client certificate the server's client CA signed
        (https://kubernetes.io/docs/reference/access-authn-authz/authentication/#x509-client-certificates).
        With ssl.CERT_OPTIONAL the TLS layer has verified any certificate it let through."""
        if self.headers.get("Authorization") == f"Bearer {self.api.token}":
            return True
        getpeercert = getattr(self.connection, "getpeercert", None)
        peer = getpeercert() if getpeercert is not None else None
        subject = dict(item for rdn in (peer or {}).get("subject", ()) for item in rdn)
        return bool(subject.get("commonName")) and self.headers.get("Authorization") is None

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    @staticmethod
    def _route(path: str) -> tuple[str, str | None, str | None, str | None] | None:
        """(resource, namespace, name, subresource) from a REST path."""
        prefix = next((p for p in PREFIXES if path.startswith(p + "/")), None)
        if prefix is None:
            return None
        segs = path[len(prefix) + 1 :].split("/")
        ns = None
        if segs[0] == "namespaces" and len(segs) >= 3:
            ns, segs = segs[1], segs[2:]
        resource = segs[0]
        version = PREFIXES[prefix]
        if version == "events.k8s.io/v1" and resource == "events":
            version = "v1"
        if resource not in KINDS or KINDS[resource][0] != version or len(segs) > 3:
            return None
        if ns is not None and not KINDS[resource][2]:
            return None
        name = segs[1] if len(segs) > 1 else None
        sub = segs[2] if len(segs) > 2 else None
        if sub is not None and resource not in _SUBRESOURCES.get(sub, ()):
            return None
        return resource, ns, name, sub

    def _dispatch(
        self, resource: str, ns: str | None, name: str | None, sub: str | None, body: bytes
    ) -> tuple[int, Any]:
        store, method = self.api.store, self.command
        if name is None:
            if method == "GET":
                watching = self.query.get("watch") in ("1", "true")
                return self._watch(resource, ns) if watching else self._list(resource, ns)
            if method == "POST" and (ns is not None or resource == "namespaces"):
                return self._create(resource, ns, body)
            return 405, status(405, "MethodNotAllowed", "the server does not allow this method")
        key_ns = ns or ""
        current = store.get(resource, key_ns, name)
        if current is None:
            return _not_found(resource, name)
        if sub == "log":
            return serve_log(self, key_ns, name) if method == "GET" else (405, _NOT_ALLOWED)
        if sub == "exec":  # a WebSocket session (devstack.kube.exec)
            return (
                serve_exec(self, key_ns, name) if method in ("GET", "POST") else (405, _NOT_ALLOWED)
            )
        if method == "GET" and sub is None and table.wants_table(self.headers.get("Accept", "")):
            return 200, table.table(resource, [current], {"resourceVersion": str(store.rv)})
        if method == "GET" and self.view is not None:
            return 200, self.view(current)
        if method == "GET":
            return 200, _scale(current) if sub == "scale" else current
        if method == "DELETE" and sub is None:
            # https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#delete-delete-a-pod
            with store.lock:
                gone = store.delete(resource, key_ns, name)
                if resource == "pods" and gone is not None:
                    self.api.controller.kubelet.killed(gone)
            return 200, gone
        if method in ("PATCH", "PUT") and resource in _WORKLOADS and sub != "log":
            return self._modify(resource, current, sub, body)
        return 405, _NOT_ALLOWED

    # --- list and watch -----------------------------------------------------------

    def _filter(self, ns: str | None) -> Filter:
        fields = self.query.get("fieldSelector")
        if self.view is not None and fields:
            for new, old in _V1_FIELDS.items():
                fields = fields.replace(new, old)
        return Filter(ns, self.query.get("labelSelector"), fields)

    def _list(self, resource: str, ns: str | None) -> tuple[int, Any]:
        # https://kubernetes.io/docs/reference/using-api/api-concepts/#retrieving-large-results-sets-in-chunks
        api_version, kind, _ = KINDS[resource]
        if self.view is not None:
            api_version = "events.k8s.io/v1"
        try:
            limit = int(self.query.get("limit") or 0)
            rv, items, token, rest = self.api.store.page(
                resource, self._filter(ns), limit, self.query.get("continue")
            )
        except Expired:
            return 410, status(
                410,
                "Expired",
                "The provided continue parameter is too old to "
                "display a consistent list result. You can start a new list "
                "without the continue parameter.",
            )
        except ValueError:
            return 400, status(400, "BadRequest", "invalid limit or continue parameter")
        meta: dict[str, Any] = {"resourceVersion": str(rv)}
        if token:
            meta.update({"continue": token, "remainingItemCount": rest})
        if table.wants_table(self.headers.get("Accept", "")):
            return 200, table.table(resource, items, meta)
        return 200, {
            "kind": f"{kind}List",
            "apiVersion": api_version,
            "metadata": meta,
            "items": [_listed(self.view(i) if self.view else i) for i in items],
        }

    def _chunk(self, event: dict[str, Any]) -> None:
        data = json.dumps(event).encode() + b"\n"
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _watch(self, resource: str, ns: str | None) -> tuple[int, None]:
        # https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes
        # https://kubernetes.io/docs/reference/using-api/api-concepts/#watch-bookmarks
        store, api = self.api.store, self.api
        match = self._filter(ns)
        api_version, kind, _ = KINDS[resource]
        bookmarks = self.query.get("allowWatchBookmarks") in ("1", "true")
        deadline = time.monotonic() + float(self.query.get("timeoutSeconds") or api.watch_timeout)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        start = self.query.get("resourceVersion") or "0"
        try:
            if start == "0":  # "start at any": synthetic ADDED for what exists now
                cursor, items = store.list(resource, match)
                for item in items:
                    self._chunk({"type": "ADDED", "object": self.view(item) if self.view else item})
            else:
                cursor = int(start)
            last_mark = time.monotonic()
            while time.monotonic() < deadline and not api.stopping.is_set():
                try:
                    now_rv, events = store.since(cursor)
                except Expired:
                    self._chunk(
                        {
                            "type": "ERROR",
                            "object": status(
                                410,
                                "Expired",
                                f"too old resource version: {cursor} ({store.compacted})",
                            ),
                        }
                    )
                    break
                for event in events:
                    if event.resource == resource and match(event.obj):
                        obj = self.view(event.obj) if self.view else event.obj
                        self._chunk({"type": event.type, "object": obj})
                cursor = now_rv
                if bookmarks and time.monotonic() - last_mark >= api.bookmark_interval:
                    mark = {
                        "kind": kind,
                        "apiVersion": api_version,
                        "metadata": {"resourceVersion": str(cursor)},
                    }
                    self._chunk({"type": "BOOKMARK", "object": mark})
                    last_mark = time.monotonic()
                store.wait(cursor, min(0.1, max(0.0, deadline - time.monotonic())))
            self.wfile.write(b"0\r\n\r\n")
        except OSError:  # the client hung up (ConnectionError, or SSLEOFError over TLS)
            self.close_connection = True
        return 200, None

    # --- writes -------------------------------------------------------------------

    def _body(self, body: bytes) -> Any:
        try:
            return json.loads(body or b"null")
        except ValueError as exc:
            raise patch.PatchError(f"invalid JSON: {exc}") from exc

    def _create(self, resource: str, ns: str | None, body: bytes) -> tuple[int, Any]:
        try:
            obj = self._body(body)
            if ns is not None:
                obj.setdefault("metadata", {})["namespace"] = ns
            return 201, self.api.store.create(resource, obj)
        except patch.PatchError as exc:
            return 400, status(400, "BadRequest", str(exc))
        except Conflict as exc:
            return 409, status(409, "AlreadyExists", str(exc))

    def _modify(
        self, resource: str, current: dict[str, Any], sub: str | None, body: bytes
    ) -> tuple[int, Any]:
        # https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/deployment-v1/#patch-partially-update-the-specified-deployment
        kind = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        target = _scale(current) if sub == "scale" else current
        try:
            doc = self._body(body)
            if self.command == "PUT":
                changed = doc
            elif kind in patch.TYPES:
                changed = patch.apply(kind, target, doc)
            else:
                return 415, status(
                    415,
                    "UnsupportedMediaType",
                    "the body of the request was in an "
                    f"unknown format - accepted media types include: "
                    f"{', '.join(patch.TYPES)}",
                )
        except patch.PatchError as exc:
            return 422, status(422, "Invalid", str(exc))
        wanted = (changed.get("metadata") or {}).get("resourceVersion")
        if wanted and wanted != current["metadata"]["resourceVersion"]:
            return 409, status(
                409,
                "Conflict",
                f"Operation cannot be fulfilled on {resource}.apps "
                f'"{current["metadata"]["name"]}": the object has been modified; '
                "please apply your changes to the latest version and try again",
            )
        result = copy.deepcopy(current)
        if sub == "scale":
            result["spec"]["replicas"] = int((changed.get("spec") or {}).get("replicas", 0))
        elif sub == "status":
            result["status"] = changed.get("status", {})
        else:  # the main resource ignores status and identity changes
            result["spec"] = changed.get("spec", current["spec"])
            for key in ("labels", "annotations"):
                result["metadata"][key] = (changed.get("metadata") or {}).get(key) or {}
        saved = self.api.store.update(resource, result)
        return 200, _scale(saved) if sub == "scale" else saved
