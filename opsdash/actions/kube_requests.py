"""The requests kubectl 1.20 sends for `rollout restart`, `rollout undo`, `set
image`, `scale` and `delete pod`, built the way kubectl builds them, so the
Kubernetes actions (`opsdash.actions.kubernetes`) send the same: method, path,
query, content type and body. `tests/integration/test_kube_actions.py` holds
each against kubectl's own request to the same emulator. Refusals keep
kubectl's words.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from opsdash.actions.base import ActionError
from opsdash.model.kube import KubePod, KubeWorkload
from opsdash.sources.capabilities import Cluster
from opsdash.sources.kube_map import RESTARTED_AT_ANNOTATION, REVISION_ANNOTATION

JSON = "application/json"
SMP = "application/strategic-merge-patch+json"
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
HASH_LABEL = "pod-template-hash"
# kubectl pkg/polymorphichelpers/rollback.go: annotationsToSkip, kept from the
# Deployment and never copied from the ReplicaSet.
UNDO_KEEPS = (
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION_ANNOTATION,
    "deployment.kubernetes.io/revision-history",
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
    "deprecated.deployment.rollback.to",
)


class NeedsValue(ActionError):
    """The action needs a value the user has not given yet (an image, a count):
    the dialog asks for it with `prompt` and plans again."""

    def __init__(self, prompt: str, default: str = ""):
        super().__init__(prompt)
        self.prompt = prompt
        self.default = default


@dataclass(frozen=True, slots=True)
class KubeRequest:
    """One API request, exactly as it goes out."""

    method: str
    path: str
    params: dict[str, str] | None = None
    body: Any = None
    content_type: str = JSON

    @property
    def url(self) -> str:
        query = "&".join(f"{k}={v}" for k, v in (self.params or {}).items())
        return self.path + (f"?{query}" if query else "")

    def lines(self) -> tuple[str, ...]:
        """For the dialog: the request line, then the body (indented, unnumbered)."""
        head = f"Send {self.method} {self.url}"
        if self.body is None:
            return (head + ".",)
        return (f"{head} ({self.content_type}):", "  " + json.dumps(self.body))

    def send(self, source: Cluster) -> dict[str, Any]:
        try:
            return source.api.call(  # type: ignore[attr-defined]
                self.method,
                self.path,
                params=self.params,
                body=self.body,
                content_type=self.content_type,
            )
        except Exception as exc:  # noqa: BLE001 - KubeError: one line, secrets masked
            raise ActionError(f"{self.method} {self.path}: {_one_line(exc)}") from None


def _one_line(exc: BaseException) -> str:
    from opsdash.redact import redact

    text = " ".join(str(exc).split())[:300]
    return redact(text)


def object_path(kind: str, namespace: str, name: str, sub: str = "") -> str:
    from opsdash.sources.kubernetes import object_path as path

    return path(kind, namespace, name, sub)


def rfc3339_now() -> str:
    """time.Now().Format(time.RFC3339), as kubectl stamps restartedAt."""
    stamp = datetime.now().astimezone().isoformat(timespec="seconds")
    return stamp.removesuffix("+00:00") + ("Z" if stamp.endswith("+00:00") else "")


def images_text(containers: tuple[tuple[str, str], ...]) -> str:
    return ", ".join(f"{name}={image}" for name, image in containers)


def kubectl_line(source: Cluster, namespace: str, *args: str) -> str:
    return " ".join(("kubectl", "--context", source.context, "-n", namespace, *args))


# --- the requests, as kubectl builds them ------------------------------------------


def restart_request(workload: KubeWorkload, now: str) -> KubeRequest:
    """kubectl rollout restart (polymorphichelpers/objectrestarter.go)."""
    body = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT_ANNOTATION: now}}}}}
    return KubeRequest(
        "PATCH",
        object_path(workload.kind, workload.namespace, workload.name),
        {"fieldManager": "kubectl-rollout"},
        body,
        SMP,
    )


def set_image_request(workload: KubeWorkload, images: dict[str, str]) -> KubeRequest:
    """kubectl set image: a strategic merge patch of the changed containers, with
    `$setElementOrder/containers` naming them all in their order."""
    changed = [
        {"image": images[name], "name": name} for name, _ in workload.containers if name in images
    ]
    body = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": n} for n, _ in workload.containers],
                    "containers": changed,
                }
            }
        }
    }
    return KubeRequest(
        "PATCH",
        object_path(workload.kind, workload.namespace, workload.name),
        {"fieldManager": "kubectl-set"},
        body,
        SMP,
    )


def scale_request(workload: KubeWorkload, replicas: int) -> KubeRequest:
    return KubeRequest(
        "PATCH",
        object_path(workload.kind, workload.namespace, workload.name, "scale"),
        None,
        {"spec": {"replicas": replicas}},
        MERGE,
    )


def delete_request(pod: KubePod) -> KubeRequest:
    return KubeRequest(
        "DELETE",
        object_path("Pod", pod.namespace, pod.name),
        None,
        {"propagationPolicy": "Background"},
        JSON,
    )


def _revision_of(rs: dict[str, Any]) -> int:
    value = ((rs.get("metadata") or {}).get("annotations") or {}).get(REVISION_ANNOTATION, "")
    return int(value) if str(value).isdigit() else 0


def _without_hash(template: dict[str, Any]) -> dict[str, Any]:
    clean = json.loads(json.dumps(template))
    labels = (clean.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(HASH_LABEL, None)
    return clean


def _same_template(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """equalIgnoreHash: the templates without their hash label, nulls and empty maps."""

    def pruned(value: Any) -> Any:
        if isinstance(value, dict):
            kept = {k: pruned(v) for k, v in value.items()}
            return {k: v for k, v in kept.items() if v not in (None, {}, [])}
        if isinstance(value, list):
            return [pruned(v) for v in value]
        return value

    return pruned(_without_hash(a)) == pruned(_without_hash(b))


def undo_request(
    deployment: dict[str, Any], replicasets: list[dict[str, Any]], to_revision: int = 0
) -> tuple[KubeRequest, dict[str, Any], int]:
    """kubectl rollout undo (polymorphichelpers/rollback.go DeploymentRollbacker):
    (the JSON patch, the ReplicaSet it goes back to, its revision). Raises
    ActionError with kubectl's words when there is nothing to go back to."""
    meta = deployment.get("metadata") or {}
    name = meta.get("name", "")
    if (deployment.get("spec") or {}).get("paused"):
        raise ActionError(
            "you cannot rollback a paused deployment; resume it first with"
            f" 'kubectl rollout resume deployment/{name}' and try again"
        )
    by_revision = {_revision_of(rs): rs for rs in replicasets}
    if to_revision:
        chosen = by_revision.get(to_revision)
        if chosen is None:
            raise ActionError(f"unable to find specified revision {to_revision} in history")
    else:
        current = max(by_revision, default=0)
        older = [r for r in by_revision if r < current]
        if not older:
            raise ActionError(f'no rollout history found for deployment "{name}"')
        to_revision = max(older)
        chosen = by_revision[to_revision]
    template = (chosen.get("spec") or {}).get("template") or {}
    if _same_template(template, (deployment.get("spec") or {}).get("template") or {}):
        raise ActionError(
            f"skipped rollback (current template already matches revision {to_revision})"
        )
    own = meta.get("annotations") or {}
    annotations = {k: own[k] for k in UNDO_KEEPS if k in own}
    for key, value in ((chosen.get("metadata") or {}).get("annotations") or {}).items():
        if key not in UNDO_KEEPS:
            annotations[key] = value
    body = [
        {"op": "replace", "path": "/spec/template", "value": _without_hash(template)},
        {"op": "replace", "path": "/metadata/annotations", "value": annotations},
    ]
    path = object_path("Deployment", meta.get("namespace", ""), name)
    return KubeRequest("PATCH", path, None, body, JSON_PATCH), chosen, to_revision


def parse_images(workload: KubeWorkload, value: str) -> dict[str, str]:
    """ "container=image" pairs (spaces or commas between), or one image for a
    workload of one container."""
    names = [n for n, _ in workload.containers]
    pairs = [p for p in value.replace(",", " ").split() if p]
    if len(pairs) == 1 and "=" not in pairs[0]:
        if len(names) != 1:
            raise ActionError(
                f"{workload.name} has containers {', '.join(names)}: say which, as container=image"
            )
        return {names[0]: pairs[0]}
    images: dict[str, str] = {}
    for pair in pairs:
        container, sep, image = pair.partition("=")
        if not sep or not container or not image:
            raise ActionError(f"{pair!r}: expected container=image")
        if container not in names:
            raise ActionError(f'unable to find container named "{container}"')
        images[container] = image
    if not images:
        raise ActionError("no image given")
    return images


def parse_replicas(value: str) -> int:
    text = value.strip()
    if not text.isdigit():
        raise ActionError(f"{text!r} is not a replica count (a whole number, 0 or more)")
    return int(text)
