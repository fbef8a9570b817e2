"""The kubelet part of the controller: pod and container states as they
progress on a node, with the events a kubelet records.

https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#PodStatus
https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#container-states

`ready_delay` seconds after creation each container starts, by its image name:
- "fail" or "pull": never starts, `waiting.reason = ImagePullBackOff`, restartCount 0;
- "crash": starts, exits 1 at once, and is restarted every `ready_delay`:
  restartCount climbs, `waiting.reason = CrashLoopBackOff`, `lastState.terminated.reason
  = Error` (exitCode 1); "oom" the same with `OOMKilled` (exitCode 137);
- anything else runs and is ready.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from devstack.kube import objects as k


def _trouble(image: str) -> str:
    if "fail" in image or "pull" in image:
        return "pull"
    if "crash" in image:
        return "crash"
    if "oom" in image:
        return "oom"
    return ""


def _conditions(pod: dict[str, Any], ready: bool, stamp: str) -> list[dict[str, Any]]:
    old = {c["type"]: c for c in pod["status"].get("conditions", [])}
    out = []
    for type_ in ("Initialized", "Ready", "ContainersReady", "PodScheduled"):
        value = "True" if ready or type_ in ("Initialized", "PodScheduled") else "False"
        cond: dict[str, Any] = {"type": type_, "status": value}
        prior = old.get(type_)
        same = prior is not None and prior["status"] == value
        cond["lastProbeTime"] = None
        cond["lastTransitionTime"] = prior.get("lastTransitionTime", stamp) if same else stamp
        if value == "False":
            cond["reason"] = "ContainersNotReady"
            cond["message"] = "containers with unready status: [{}]".format(
                " ".join(c["name"] for c in pod["status"]["containerStatuses"] if not c["ready"])
            )
        out.append(cond)
    return out


def ready_pod(pod: dict[str, Any], ip: str) -> dict[str, Any]:
    """A pod already Running and Ready (bulk seeding skips the kubelet's steps)."""
    stamp = pod["metadata"].get("creationTimestamp") or k.now_iso()
    for c in pod["status"]["containerStatuses"]:
        c.update(
            ready=True,
            started=True,
            imageID=k.image_id(c["image"]),
            containerID=k.container_id(pod["metadata"].get("uid", ""), c["name"], 0),
            state={"running": {"startedAt": stamp}},
        )
    pod["status"].update(phase="Running", startTime=stamp, podIP=ip, podIPs=[{"ip": ip}])
    pod["status"]["conditions"] = _conditions(pod, True, stamp)
    return pod


class Kubelet:
    def __init__(self, ctl: Any):
        self.ctl = ctl
        self.settled: set[str] = set()  # pod uids that need nothing more
        self.due: dict[str, float] = {}  # pod uid -> next crash restart (monotonic)
        self._ips = 10

    def next_ip(self) -> str:
        self._ips += 1
        return f"10.244.{self._ips // 250}.{self._ips % 250 + 1}"

    def sync(self, raw: dict[str, Any]) -> None:
        """One look at a pod (`raw` is the store's own object: copy before changing)."""
        uid = raw["metadata"]["uid"]
        if uid in self.settled:
            return
        if "containerStatuses" not in (raw.get("status") or {}):  # a pod POSTed bare
            pod = copy.deepcopy(raw)
            node = pod.setdefault("spec", {}).setdefault("nodeName", self.ctl.pick_node())
            pod["status"] = k.pending_status(pod["spec"].get("containers", []), node)
            self.ctl.store.update("pods", pod)
            return
        now = time.monotonic()
        born = self.ctl.born.setdefault(uid, now)
        if now - born < self.ctl.ready_delay:
            return
        if raw["status"]["phase"] == "Pending" and uid not in self.due:
            self._start(copy.deepcopy(raw))
        elif uid in self.due and now >= self.due[uid]:
            self._crash(copy.deepcopy(raw))
        elif uid not in self.due:
            self.settled.add(uid)

    def _start(self, pod: dict[str, Any]) -> None:
        ctl, stamp, meta = self.ctl, k.now_iso(), pod["metadata"]
        statuses = pod["status"]["containerStatuses"]
        troubled = False
        for c in statuses:
            trouble = _trouble(c["image"])
            if trouble == "pull":
                c["state"] = {
                    "waiting": {
                        "reason": "ImagePullBackOff",
                        "message": f'Back-off pulling image "{c["image"]}"',
                    }
                }
                ctl.emit(pod, "Pulling", f'Pulling image "{c["image"]}"', "kubelet")
                ctl.emit(
                    pod, "Failed", f'Failed to pull image "{c["image"]}"', "kubelet", "Warning"
                )
                ctl.emit(
                    pod, "BackOff", f'Back-off pulling image "{c["image"]}"', "kubelet", "Warning"
                )
                continue
            self._run(pod, c, trouble, stamp)
            troubled = troubled or bool(trouble)
        ip = self.next_ip()  # the pod sandbox has its IP even while images fail to pull
        pod["status"].update(podIP=ip, podIPs=[{"ip": ip}])
        if all(c["started"] for c in statuses):  # else Pending, as with an image not pulled
            pod["status"]["phase"] = "Running"
        pod["status"]["startTime"] = stamp
        pod["status"]["conditions"] = _conditions(pod, all(c["ready"] for c in statuses), stamp)
        if troubled:
            self.due[meta["uid"]] = time.monotonic() + ctl.ready_delay
        else:
            self.settled.add(meta["uid"])
        ctl.store.update("pods", pod)

    def _run(self, pod: dict[str, Any], c: dict[str, Any], trouble: str, stamp: str) -> None:
        ctl = self.ctl
        ctl.emit(
            pod, "Pulled", f'Container image "{c["image"]}" already present on machine', "kubelet"
        )
        ctl.emit(pod, "Created", f"Created container {c['name']}", "kubelet")
        ctl.emit(pod, "Started", f"Started container {c['name']}", "kubelet")
        c.update(
            started=True,
            ready=not trouble,
            imageID=k.image_id(c["image"]),
            containerID=k.container_id(pod["metadata"]["uid"], c["name"], c["restartCount"]),
            state={"running": {"startedAt": stamp}},
        )
        ctl.logs.start(pod["metadata"]["uid"], c["name"], trouble or "steady")

    def _crash(self, pod: dict[str, Any]) -> None:
        """A troubled container exited: count the restart, back off, start it again."""
        ctl, stamp, meta = self.ctl, k.now_iso(), pod["metadata"]
        for c in pod["status"]["containerStatuses"]:
            trouble = _trouble(c["image"])
            if trouble not in ("crash", "oom"):
                continue
            started = (c["state"].get("running") or {}).get("startedAt") or (
                (c.get("lastState") or {}).get("terminated", {}).get("finishedAt", stamp)
            )
            oom = trouble == "oom"
            c["lastState"] = {
                "terminated": {
                    "exitCode": 137 if oom else 1,
                    "reason": "OOMKilled" if oom else "Error",
                    "startedAt": started,
                    "finishedAt": stamp,
                    "containerID": c.get("containerID", ""),
                }
            }
            c["restartCount"] += 1
            back_off = min(300, 10 * 2 ** (c["restartCount"] - 1))
            c.update(ready=False, started=False)
            c["state"] = {
                "waiting": {
                    "reason": "CrashLoopBackOff",
                    "message": f"back-off {back_off}s restarting failed container={c['name']} "
                    f"pod={meta['name']}_{meta['namespace']}({meta['uid']})",
                }
            }
            c["containerID"] = k.container_id(meta["uid"], c["name"], c["restartCount"])
            ctl.logs.start(meta["uid"], c["name"], trouble)  # the restart ran and crashed again
            ctl.emit(
                pod,
                "BackOff",
                f"Back-off restarting failed container {c['name']} in pod "
                f"{meta['name']}_{meta['namespace']}({meta['uid']})",
                "kubelet",
                "Warning",
            )
        pod["status"]["conditions"] = _conditions(pod, False, stamp)
        self.due[meta["uid"]] = time.monotonic() + ctl.ready_delay
        ctl.store.update("pods", pod)

    def killed(self, pod: dict[str, Any]) -> None:
        """The pod was deleted: the kubelet stops its containers."""
        uid = pod["metadata"]["uid"]
        for c in pod["spec"]["containers"]:
            self.ctl.emit(pod, "Killing", f"Stopping container {c['name']}", "kubelet")
        self.settled.discard(uid)
        self.due.pop(uid, None)
        self.ctl.born.pop(uid, None)
        self.ctl.logs.forget(uid)
