"""The emulator's object store: one resourceVersion counter for every object (as
etcd's revision), a bounded history of watch events, list paging with continue
tokens and label/field selectors.

https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions
https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes
https://kubernetes.io/docs/reference/using-api/api-concepts/#retrieving-large-results-sets-in-chunks
"""

from __future__ import annotations

import base64
import copy
import json
import marshal
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from devstack.kube.objects import KINDS, new_uid, now_iso

_GENERATION = (
    "deployments",
    "replicasets",
    "statefulsets",
    "daemonsets",
)  # objects whose spec changes bump generation


class Expired(Exception):
    """A resourceVersion or continue token older than the kept history (410 Gone)."""


class Conflict(Exception):
    """AlreadyExists, or a resourceVersion precondition that failed (409)."""


@dataclass(frozen=True)
class WatchEvent:
    rv: int
    type: str  # ADDED / MODIFIED / DELETED
    resource: str
    obj: dict[str, Any]


def clone(obj: Any) -> Any:
    """A deep copy of JSON-shaped data; marshal's C round trip is several times
    faster than copy.deepcopy, which matters with thousands of pods."""
    try:
        return marshal.loads(marshal.dumps(obj))
    except ValueError:  # not plain data
        return copy.deepcopy(obj)


def parse_selector(text: str | None) -> list[tuple[str, str, str | None]]:
    """Equality-based selectors: `a=b`, `a==b`, `a!=b`, `a` (exists), `!a`."""
    terms: list[tuple[str, str, str | None]] = []
    for raw in (text or "").split(","):
        term = raw.strip()
        if not term:
            continue
        if "!=" in term:
            key, value = term.split("!=", 1)
            terms.append((key.strip(), "!=", value.strip()))
        elif "=" in term:
            key, value = term.replace("==", "=").split("=", 1)
            terms.append((key.strip(), "=", value.strip()))
        elif term.startswith("!"):
            terms.append((term[1:].strip(), "!", None))
        else:
            terms.append((term, "exists", None))
    return terms


def _matches(values: dict[str, str], terms: list[tuple[str, str, str | None]]) -> bool:
    for key, op, value in terms:
        have = values.get(key)
        if (
            (op == "=" and have != value)
            or (op == "!=" and have == value)
            or (op == "exists" and have is None)
            or (op == "!" and have is not None)
        ):
            return False
    return True


def _field(obj: dict[str, Any], path: str) -> str | None:
    value: Any = obj
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return None if isinstance(value, (dict, list)) else str(value)


class Filter:
    """Namespace, labelSelector and fieldSelector of one list or watch request."""

    def __init__(self, ns: str | None, labels: str | None = None, fields: str | None = None):
        self.ns = ns
        self.labels = parse_selector(labels)
        self.fields = parse_selector(fields)

    def __call__(self, obj: dict[str, Any]) -> bool:
        meta = obj.get("metadata", {})
        if self.ns is not None and meta.get("namespace") != self.ns:
            return False
        if not _matches(meta.get("labels") or {}, self.labels):
            return False
        values = {key: _field(obj, key) for key, _, _ in self.fields}
        return _matches({k: v for k, v in values.items() if v is not None}, self.fields)


def encode_continue(rv: int, after: tuple[str, str]) -> str:
    raw = json.dumps({"rv": rv, "start": list(after)}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_continue(token: str) -> tuple[int, tuple[str, str]]:
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    data = json.loads(raw)
    return int(data["rv"]), (str(data["start"][0]), str(data["start"][1]))


class Store:
    def __init__(self, history: int = 1000, first_rv: int = 100):
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.history_limit = history
        self.rv = first_rv
        self.compacted = first_rv  # a watch from an rv below this is 410 Gone
        self._history: deque[WatchEvent] = deque()
        self._objects: dict[str, dict[tuple[str, str], dict[str, Any]]] = {r: {} for r in KINDS}

    # --- reads ----------------------------------------------------------------

    def get(self, resource: str, ns: str, name: str) -> dict[str, Any] | None:
        with self.lock:
            obj = self._objects[resource].get((ns, name))
            return clone(obj) if obj is not None else None

    def peek(self, resource: str) -> list[dict[str, Any]]:
        """The stored objects themselves, for a caller holding `lock` that only reads."""
        with self.lock:
            return list(self._objects[resource].values())

    def list(self, resource: str, match: Filter | None = None) -> tuple[int, list[dict[str, Any]]]:
        with self.lock:
            items = [
                clone(obj)
                for _, obj in sorted(self._objects[resource].items())
                if match is None or match(obj)
            ]
            return self.rv, items

    def page(
        self, resource: str, match: Filter, limit: int, token: str | None
    ) -> tuple[int, list[dict[str, Any]], str, int]:
        """(listRV, items, continue, remainingItemCount) for one chunk.

        The real server reads every chunk at the first chunk's revision (etcd
        MVCC); this store has no old versions, so later chunks see the current
        objects after the token's key. Tokens older than the history are Expired.
        """
        with self.lock:
            list_rv, after = self.rv, ("", "")
            if token:
                list_rv, after = decode_continue(token)
                if list_rv < self.compacted:
                    raise Expired(token)
            keys = sorted(k for k, obj in self._objects[resource].items() if match(obj))
            keys = [k for k in keys if k > after]
            chunk = keys[:limit] if limit > 0 else keys
            items = [clone(self._objects[resource][k]) for k in chunk]
            rest = len(keys) - len(chunk)
            return list_rv, items, encode_continue(list_rv, chunk[-1]) if rest else "", rest

    def since(self, rv: int) -> tuple[int, list[WatchEvent]]:
        """(current rv, events after `rv`); Expired if the history no longer reaches back."""
        with self.lock:
            if rv < self.compacted:
                raise Expired(str(rv))
            return self.rv, [e for e in self._history if e.rv > rv]

    def wait(self, rv: int, timeout: float) -> None:
        with self.changed:
            if self.rv <= rv:
                self.changed.wait(timeout)

    # --- writes ---------------------------------------------------------------

    def _record(self, type_: str, resource: str, obj: dict[str, Any]) -> dict[str, Any]:
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        self._history.append(WatchEvent(self.rv, type_, resource, clone(obj)))
        while len(self._history) > self.history_limit:
            self.compacted = self._history.popleft().rv
        self.changed.notify_all()
        return clone(obj)

    def create(self, resource: str, obj: dict[str, Any]) -> dict[str, Any]:
        obj = clone(obj)
        meta = obj.setdefault("metadata", {})
        if KINDS[resource][2]:
            ns = meta.setdefault("namespace", "default")
        else:
            ns = ""
            meta.pop("namespace", None)
        key = (ns, meta["name"])
        with self.lock:
            if key in self._objects[resource]:
                raise Conflict(f'{resource} "{meta["name"]}" already exists')
            meta.update(uid=new_uid(), creationTimestamp=now_iso())
            if resource in _GENERATION:
                meta["generation"] = 1
            self._objects[resource][key] = obj
            return self._record("ADDED", resource, obj)

    def update(self, resource: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Store a new version; a no-op (no event, same rv) when nothing changed."""
        obj = clone(obj)
        meta = obj["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        with self.lock:
            old = self._objects[resource].get(key)
            if old is None:
                raise KeyError(key)
            meta["resourceVersion"] = old["metadata"]["resourceVersion"]
            if obj == old:
                return clone(old)
            if resource in _GENERATION and obj.get("spec") != old.get("spec"):
                meta["generation"] = old["metadata"].get("generation", 1) + 1
            self._objects[resource][key] = obj
            return self._record("MODIFIED", resource, obj)

    def delete(self, resource: str, ns: str, name: str) -> dict[str, Any] | None:
        with self.lock:
            obj = self._objects[resource].pop((ns, name), None)
            return None if obj is None else self._record("DELETED", resource, obj)

    def compact(self) -> None:
        """Forget the watch history (as etcd compaction does): older rvs become 410."""
        with self.lock:
            self._history.clear()
            self.compacted = self.rv
