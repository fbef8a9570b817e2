"""Reaching one Docker engine: the API client for a [[docker]] table and the
one line that explains a failure to reach it.

Split from the source, which polls: this is what every caller of the engine
(the source, its stats, the actions) shares about the connection itself.
"""

from __future__ import annotations

from typing import Any

import docker
import requests.exceptions
from docker.tls import TLSConfig

from opsdash.sources.docker_contexts import ContextError, endpoint_of
from opsdash.sources.docker_ssh import SSHAPIClient, ssh_reason


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300] if text else type(exc).__name__


class _TLSAPIClient(docker.APIClient):
    """An APIClient that trusts only the configured CA.

    requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE replace a session's own CA
    bundle (psf/requests#3829), so with either set every TLS Docker host fails to
    verify. The version is fetched in the constructor, hence the hook here.
    """

    def _retrieve_server_version(self) -> str:
        self.trust_env = False
        return super()._retrieve_server_version()


def connect(config: Any) -> docker.APIClient:
    """An API client for one [[docker]] table: TLS material, the ssh binary or
    docker-py's own transport, a pool as large as the stats and inspect work."""
    host, files = endpoint_of(config)  # a context's, or host, tls_verify, cert_path
    tls: TLSConfig | bool = False
    if files is not None:
        tls = TLSConfig(
            client_cert=(files.cert, files.key) if files.cert else None,
            ca_cert=files.ca or None,
            verify=files.verify,
        )
    ssh = host.startswith("ssh://")
    if ssh and config.use_ssh_client:
        client: docker.APIClient = SSHAPIClient(
            host,
            timeout=max(1, int(config.timeout)),
            max_pool_size=config.stats_concurrency + 4,
        )
    else:
        client_class = _TLSAPIClient if tls else docker.APIClient
        client = client_class(
            base_url=host,
            version="auto",
            timeout=max(1, int(config.timeout)),
            tls=tls,
            max_pool_size=config.stats_concurrency + 4,
        )
    return client


def explain(config: Any, exc: BaseException) -> str:
    """One line saying what went wrong reaching the engine, and what to do."""
    if isinstance(exc, ContextError):
        return str(exc)
    reason = ssh_reason(exc)
    if reason is not None:
        return f"{config.host}: {reason}"
    text = one_line(exc)
    if "Install paramiko" in text:
        return (
            f"{config.host}: use_ssh_client = false needs the paramiko package "
            "(pip install 'opsdash[paramiko]'); the default uses your ssh binary"
        )
    if "Connection refused" in text or "No such file or directory" in text:
        return f"cannot connect to Docker at {config.host}: daemon not running"
    if isinstance(exc, requests.exceptions.Timeout) or "timed out" in text.lower():
        return f"Docker at {config.host} did not answer within {config.timeout:g}s"
    if "Permission denied" in text:
        return f"permission denied on {config.host} (are you in the docker group?)"
    return f"Docker at {config.host}: {text}"
