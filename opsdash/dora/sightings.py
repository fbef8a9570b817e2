"""One change deployed once is one deployment, whichever sources saw it.

The same rollout is often seen more than once: the successful run of the deploy
workflow and the GitHub deployment it created, the CI deployment and the new
container the Docker watcher then finds. Each is stored as it is seen (with its
own id, so nothing is lost); the keys must count it once. Pure, UI-free.

The rule (docs/dora.md "One deployment, several sightings"): a deploy is a
sighting of the one before it of the same service and kind when it is of the
same version (equal, or one an abbreviation of the other), at most
`SAME_CHANGE_WINDOW` later, and comes from an observer that has not seen that
deployment yet. Only the service's latest deployment can be sighted again, so
a rollback to a version deployed earlier stays a deployment of its own, and a
deliberate rollback is never a sighting. An observer is a source and the kind of
record it keeps (a CI source's deploy runs and its deployments are two), so a
second deployment of one version by the same pipeline still counts.

The merged deployment is at the earliest sighting (the change reached
production then) with the worst result any sighting reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from datetime import timedelta

from opsdash.dora.records import Deploy

SAME_CHANGE_WINDOW = timedelta(hours=1)
_WORST_FIRST = ("failed", "rolled back", "success")
_ABBREVIATION = re.compile(r"[0-9a-f]{7,64}")


def same_version(a: str, b: str) -> bool:
    """Equal, or one a commit sha abbreviating the other (CI has the full sha,
    an image label may hold a short one)."""
    if a == b:
        return bool(a)
    short, full = sorted((a.lower(), b.lower()), key=len)
    return bool(_ABBREVIATION.fullmatch(short)) and full.startswith(short)


def _worst(a: str, b: str) -> str:
    return min(a, b, key=_WORST_FIRST.index)


def one_per_change(
    sightings: Iterable[tuple[Deploy, str]], window: timedelta = SAME_CHANGE_WINDOW
) -> list[Deploy]:
    """The deployments among `sightings` (deploy, observer), oldest first."""
    kept: list[Deploy] = []
    observers: list[set[str]] = []
    latest: dict[tuple[str, str], int] = {}  # (service, kind) -> index in kept
    for deploy, observer in sorted(sightings, key=lambda s: (s[0].at, s[0].source, s[1])):
        key = (deploy.service, deploy.kind)
        at = latest.get(key)
        if at is not None:
            first = kept[at]
            if (
                not deploy.rollback
                and not first.rollback
                and observer not in observers[at]
                and deploy.at - first.at <= window
                and same_version(deploy.version, first.version)
            ):
                kept[at] = replace(first, result=_worst(first.result, deploy.result))
                observers[at].add(observer)
                continue
        latest[key] = len(kept)
        kept.append(deploy)
        observers.append({observer})
    return kept


def observer_of(source: str, external_id: str | None) -> str:
    """Who saw a stored deployment: its source, and for a CI source (a label
    like "github:shop") the kind of record its id names ("run", "deployment")."""
    if ":" in source and external_id and external_id.startswith(source + ":"):
        return f"{source}:{external_id[len(source) + 1 :].split(':', 1)[0]}"
    return source
