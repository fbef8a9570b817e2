"""A Kubernetes API emulator on 127.0.0.1 for tests (no kube-apiserver runs here).

Stdlib only. `KubeApiServer` serves discovery, namespaces, deployments,
replicasets, pods and events with list paging, watch (bookmarks, 410 Gone), the
three PATCH types and the scale subresource, behind a bearer token; a controller
thread rolls Deployments out. `write_kubeconfig` points kubectl at one or more.
"""

from devstack.kube.kubeconfig import write_kubeconfig
from devstack.kube.server import KubeApiServer, Mutation

__all__ = ["KubeApiServer", "Mutation", "write_kubeconfig"]
