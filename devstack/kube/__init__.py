"""A Kubernetes API emulator on 127.0.0.1 for tests (no kube-apiserver runs here).

Stdlib only (plus the openssl CLI for TLS). `KubeApiServer` serves discovery,
namespaces, deployments, replicasets, statefulsets, daemonsets, pods (with
pods/log) and events (core v1, and events.k8s.io/v1 read-only) with list paging,
watch (bookmarks, 410 Gone), the three PATCH types and the scale subresource,
behind a bearer token or, over TLS, a client certificate. A controller thread
rolls Deployments, StatefulSets and DaemonSets out and plays the kubelet (pod
troubles by image name: fail/pull, crash, oom), recording events as a cluster
does. `write_kubeconfig` points kubectl at one or more, by token or certificate.
"""

from devstack.kube.kubeconfig import write_kubeconfig
from devstack.kube.server import KubeApiServer, Mutation

__all__ = ["KubeApiServer", "Mutation", "write_kubeconfig"]
