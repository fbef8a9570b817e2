"""`E` on a pod: an interactive shell in its container, through `kubectl exec -it`.

As for a Docker container (`opsdash.actions.shell`), the CLI does what an
interactive session needs (raw mode, a TTY of the terminal's size, resizes),
so opsdash hands it the terminal. kubectl is pointed at exactly what the
source reads: the same kubeconfig file (`--kubeconfig`, or `KUBECONFIG` for
several, which kubectl merges as the source does) and the same `--context`.
No credential is ever on the argv. In a pod (`in_cluster`), the kubeconfig
kubectl reads is written 0600 in a private temp directory, naming the service
account's token and CA files (not their contents), and removed afterwards.
The argv is audited, never what is typed or shown.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from opsdash.actions.base import ActionPlan
from opsdash.actions.shell import DEFAULT_SHELL, ShellSession
from opsdash.model.kube import KubePod, PodContainer
from opsdash.sources.capabilities import ExecsInPods
from opsdash.sources.kubeconfig import SERVICE_ACCOUNT, KubectlAccess

IN_CLUSTER_CONTEXT = "in-cluster"


def kubectl_cli(path: str | None = None) -> str | None:
    """kubectl on PATH, or None."""
    return shutil.which("kubectl", path=path)


def pod_container(pod: KubePod) -> PodContainer | None:
    """The container E enters: the first one running (kubectl's default is the
    first of the spec, which may be an init-like sidecar that has stopped)."""
    return next((c for c in pod.containers if c.state == "running"), None)


def _in_cluster_kubeconfig(environ: Mapping[str, str]) -> tuple[Path, Callable[[], None]]:
    """A kubeconfig naming the service account's files, 0600 in a 0700 temp dir."""
    host = environ.get("KUBERNETES_SERVICE_HOST", "")
    port = environ.get("KUBERNETES_SERVICE_PORT", "443")
    if ":" in host:
        host = f"[{host}]"
    namespace = SERVICE_ACCOUNT / "namespace"
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": IN_CLUSTER_CONTEXT,
                "cluster": {
                    "server": f"https://{host}:{port}",
                    "certificate-authority": str(SERVICE_ACCOUNT / "ca.crt"),
                },
            }
        ],
        "users": [
            {"name": IN_CLUSTER_CONTEXT, "user": {"tokenFile": str(SERVICE_ACCOUNT / "token")}}
        ],
        "contexts": [
            {
                "name": IN_CLUSTER_CONTEXT,
                "context": {
                    "cluster": IN_CLUSTER_CONTEXT,
                    "user": IN_CLUSTER_CONTEXT,
                    "namespace": namespace.read_text().strip()
                    if namespace.is_file()
                    else "default",
                },
            }
        ],
        "current-context": IN_CLUSTER_CONTEXT,
    }
    folder = tempfile.mkdtemp(prefix="opsdash-kubectl-")  # 0700, this user's
    path = Path(folder) / "kubeconfig"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(document, handle)
    return path, partial(shutil.rmtree, folder, ignore_errors=True)


def connection(
    access: KubectlAccess, environ: Mapping[str, str] = os.environ
) -> tuple[list[str], dict[str, str], Callable[[], None]]:
    """kubectl's flags and environment for the context, and what to remove after."""
    env = {k: v for k, v in environ.items() if k != "KUBECONFIG"}
    if access.in_cluster:
        path, cleanup = _in_cluster_kubeconfig(environ)
        return ["--kubeconfig", str(path), "--context", IN_CLUSTER_CONTEXT], env, cleanup
    context = ["--context", access.context] if access.context else []
    if len(access.files) == 1:
        return ["--kubeconfig", str(access.files[0]), *context], env, lambda: None
    env["KUBECONFIG"] = os.pathsep.join(str(f) for f in access.files)  # kubectl merges them
    return context, env, lambda: None


def exec_argv(
    kubectl: str, flags: list[str], pod: KubePod, container: str, command: tuple[str, ...]
) -> tuple[str, ...]:
    """`kubectl --kubeconfig F --context C exec -it -n NS POD -c CONTAINER -- SHELL`."""
    where = ("exec", "-it", "-n", pod.namespace, pod.name, "-c", container, "--")
    return (kubectl, *flags, *where, *(command or DEFAULT_SHELL))


def shell_plan(
    *, pod: KubePod, host: str, argv: tuple[str, ...], kubeconfig_env: str = ""
) -> ActionPlan:
    """What E does on a pod, for the audit log and, on a protected pod, the dialog."""
    shown = " ".join(argv[1:]) if argv else "exec -it"
    steps = ["Suspend the dashboard and open a shell in the pod's container:", f"  kubectl {shown}"]
    if kubeconfig_env:
        steps.append(f"  with KUBECONFIG={kubeconfig_env}")
    steps.append("The dashboard comes back when the shell exits.")
    return ActionPlan(
        action="shell",
        kind="pod",
        target=pod.name,
        target_id=f"{pod.context}/{pod.namespace}/{pod.name}",
        host=host,
        old_image=", ".join(f"{c.name}={c.image}" for c in pod.containers),
        argv=argv,
        mutating=False,
        steps=tuple(steps),
    )


def _cannot(pod: KubePod, source: Any, kubectl: str | None) -> str:
    """Why E cannot open a shell in this pod, beyond the runner's refusals; "" if it can."""
    if source is None:
        return f"no Kubernetes source watches context {pod.context}"
    if not isinstance(source, ExecsInPods):
        return f"{pod.context} is not a context opsdash can reach with kubectl"
    if kubectl is None:
        return "kubectl is not on PATH (E runs kubectl exec -it): install it"
    if pod.deleting or pod.phase != "Running":
        return f"{pod.name} is {pod.status_word or 'not running'}: a shell needs it Running"
    if pod_container(pod) is None:
        return f"no container of {pod.name} is running: a shell needs one running"
    return ""


def pod_session(
    pod: KubePod, source: Any, *, protected: bool, environ: Mapping[str, str] = os.environ
) -> ShellSession:
    """E on a pod of the context `source` watches (a `Cluster` that `ExecsInPods`)."""
    kubectl = kubectl_cli()
    problem = _cannot(pod, source, kubectl)
    host = source.name if source is not None else pod.context
    access = source.kubectl_access() if isinstance(source, ExecsInPods) else None
    command = access.shell if access is not None else DEFAULT_SHELL
    argv: tuple[str, ...] = ()
    env = dict(environ)
    cleanup: Callable[[], None] = lambda: None  # noqa: E731
    if not problem and access is not None and kubectl is not None:
        flags, env, cleanup = connection(access, environ)
        container = pod_container(pod)
        assert container is not None  # _cannot said so otherwise
        argv = exec_argv(kubectl, flags, pod, container.name, command)
    plan = shell_plan(pod=pod, host=host, argv=argv, kubeconfig_env=env.get("KUBECONFIG", ""))
    return ShellSession(
        plan=plan,
        command=command,
        env=env,
        problem=problem,
        host_read_only=bool(getattr(source, "read_only", False)),
        protected=protected,
        table="[[kubernetes]]",
        cleanup=cleanup,
    )
