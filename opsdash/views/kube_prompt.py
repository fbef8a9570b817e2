"""The Kubernetes panel's `:` prompt: what each word means (`:pods`, `:sts`,
`:ns web`, `:ctx prod`) and what it completes.

Parsed here, not in the widget, so what a word means is a pure function the unit
tests read; the panel only keeps the `KubeView` it returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from opsdash.model.kube import RESOURCE_ALIASES, KubePod, KubeWorkload

WORKLOADS = "workloads"
PODS = "pods"
ALL_KINDS = ("workloads", "all")


@dataclass(frozen=True, slots=True)
class KubeView:
    """What the Kubernetes panel shows: a resource, and optionally one kind,
    one namespace and one context (None: all)."""

    resource: str = WORKLOADS  # WORKLOADS or PODS
    kind: str | None = None  # Deployment, StatefulSet, DaemonSet
    namespace: str | None = None
    context: str | None = None

    @property
    def word(self) -> str:
        if self.resource == PODS:
            return "pods"
        return {"Deployment": "deploy", "StatefulSet": "sts", "DaemonSet": "ds"}.get(
            self.kind or "", "workloads"
        )

    def title(self) -> str:
        return f"{self.word} · ctx {self.context or 'all'} · ns {self.namespace or 'all'}"

    def shows(self, record: KubeWorkload | KubePod) -> bool:
        if self.context is not None and record.context != self.context:
            return False
        if self.namespace is not None and record.namespace != self.namespace:
            return False
        if isinstance(record, KubeWorkload):
            return self.resource == WORKLOADS and self.kind in (None, record.kind)
        return self.resource == PODS


def apply_command(view: KubeView, command: str, contexts: Sequence[str]) -> tuple[KubeView, str]:
    """The view after `command` (what follows `:`), or the same view and one line
    saying why not. `contexts`: the configured ones (`:ctx` takes only those)."""
    words = command.split()
    if not words:
        return view, ""
    head, rest = words[0].lower(), words[1:]
    if head in ("ns", "namespace", "namespaces"):
        if len(rest) > 1:
            return view, "`:ns` takes one namespace (or `all`)"
        name = rest[0] if rest else "all"
        return replace(view, namespace=None if name.lower() == "all" else name), ""
    if head in ("ctx", "context", "contexts"):
        if len(rest) > 1:
            return view, "`:ctx` takes one context"
        if not rest or rest[0].lower() == "all":
            return replace(view, context=None), ""
        if rest[0] not in contexts:
            known = ", ".join(contexts) or "none"
            return view, f"no context {rest[0]!r} (configured: {known})"
        return replace(view, context=rest[0]), ""
    if rest:
        return view, f"`:{head}` takes no argument"
    if head in ALL_KINDS:
        return replace(view, resource=WORKLOADS, kind=None), ""
    kind = RESOURCE_ALIASES.get(head)
    if kind == "Pod":
        return replace(view, resource=PODS, kind=None), ""
    if kind is not None:
        return replace(view, resource=WORKLOADS, kind=kind), ""
    return view, f"unknown resource {head!r}: try deploy, sts, ds, pods, workloads, ns, ctx"


def prompt_words(contexts: Iterable[str], namespaces: Iterable[str]) -> list[str]:
    """What the prompt completes, most likely first."""
    words = ["pods", "deploy", "sts", "ds", "workloads", "all"]
    words += [alias for alias in RESOURCE_ALIASES if alias not in words]
    words += ["ns all", *(f"ns {n}" for n in sorted(set(namespaces)))]
    words += ["ctx all", *(f"ctx {c}" for c in contexts)]
    return words
