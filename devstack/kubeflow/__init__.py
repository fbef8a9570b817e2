"""A Kubeflow Pipelines REST API (v2beta1) emulator on 127.0.0.1 for tests and demos.

Stdlib only. `KubeflowServer` serves runs (list with filter/sort/pages, get,
create, retry, terminate) and pipelines with their versions, as
backend/api/v2beta1/*.proto in kubeflow/pipelines documents them; runs
progress on the server's clock. `python -m devstack.kubeflow` starts one and
prints its URL.
"""

from devstack.kubeflow.server import KubeflowServer, ManualClock

__all__ = ["KubeflowServer", "ManualClock"]
