"""Reaching one Docker engine: the clients for a [[docker]] table and the
one line that explains a failure to reach it.

Split from the source, which polls: this is what every caller of the engine
(the source, its stats, the actions) shares about the connection itself.
Two clients: `open_reader` (the source's polls, events and stats; no SDK for
unix:// and tcp://, docker_http.py says why) and `connect` (the docker SDK's
APIClient: logs, actions, ssh:// hosts), imported when first needed. The TLS
files are read in one place (`tls_files`) for both.
"""

from __future__ import annotations

import ssl
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from opsdash.sources.docker_contexts import ContextError, TLSFiles, endpoint_of

if TYPE_CHECKING:
    import docker

    from opsdash.sources.docker_http import EngineHTTP
    from opsdash.sources.docker_http_sdk import SDKReader


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300] if text else type(exc).__name__


def tls_files(config: Any) -> TLSFiles | None:
    """The TLS material of one [[docker]] record: its context's, else what
    tls_verify and cert_path say for a tcp:// host; None for plain TCP."""
    return endpoint_of(config)[1]


def ssl_context(config: Any) -> ssl.SSLContext | None:
    """The TLS context of the SDK-free clients (reader, stats streams): only the
    configured CA is trusted (no REQUESTS_CA_BUNDLE), the system CAs for a
    context that verifies without one, nothing without verification, as the
    SDK's TLSConfig and the docker CLI do."""
    files = tls_files(config)
    if files is None:
        return None
    if files.verify:
        context = ssl.create_default_context(cafile=files.ca or None)
    else:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if files.cert:
        context.load_cert_chain(files.cert, files.key)
    return context


def _tls_client_class() -> type[docker.APIClient]:
    import docker

    class TLSAPIClient(docker.APIClient):
        """An APIClient that trusts only the configured CA.

        requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE replace a session's own CA
        bundle (psf/requests#3829), so with either set every TLS Docker host fails to
        verify. The version is fetched in the constructor, hence the hook here.
        """

        def _retrieve_server_version(self) -> str:
            self.trust_env = False
            return super()._retrieve_server_version()

    return TLSAPIClient


def connect(config: Any) -> docker.APIClient:
    """An API client for one [[docker]] table: TLS material, the ssh binary or
    docker-py's own transport, a pool as large as the stats and inspect work."""
    import docker
    from docker.tls import TLSConfig

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
        from opsdash.sources.docker_ssh import SSHAPIClient

        client: docker.APIClient = SSHAPIClient(
            host,
            timeout=max(1, int(config.timeout)),
            max_pool_size=config.stats_concurrency + 4,
        )
    else:
        client_class = _tls_client_class() if tls else docker.APIClient
        client = client_class(
            base_url=host,
            version="auto",
            timeout=max(1, int(config.timeout)),
            tls=tls,
            max_pool_size=config.stats_concurrency + 4,
        )
    return client


def open_reader(config: Any, sdk_client: Callable[[], Any]) -> EngineHTTP | SDKReader:
    """The source's read path: http.client for unix:// and tcp://, the SDK
    client (`sdk_client()`, shared with logs and actions) for ssh:// hosts."""
    host = endpoint_of(config)[0]
    if host.startswith(("unix://", "tcp://")):
        from opsdash.sources.docker_http import EngineHTTP

        return EngineHTTP(host, max(1.0, float(config.timeout)), ssl_context(config))
    from opsdash.sources.docker_http_sdk import SDKReader

    return SDKReader(sdk_client())


def _is_timeout(exc: BaseException) -> bool:
    if isinstance(exc, TimeoutError):
        return True
    requests_exceptions = sys.modules.get("requests.exceptions")  # loaded only with the SDK
    return requests_exceptions is not None and isinstance(exc, requests_exceptions.Timeout)


def _ssh_reason(exc: BaseException) -> str | None:
    docker_ssh = sys.modules.get("opsdash.sources.docker_ssh")  # loaded with an ssh:// client
    return None if docker_ssh is None else docker_ssh.ssh_reason(exc)


def explain(config: Any, exc: BaseException) -> str:
    """One line saying what went wrong reaching the engine, and what to do."""
    if isinstance(exc, ContextError):
        return str(exc)
    reason = _ssh_reason(exc)
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
    if _is_timeout(exc) or "timed out" in text.lower():
        return f"Docker at {config.host} did not answer within {config.timeout:g}s"
    if "Permission denied" in text:
        return f"permission denied on {config.host} (are you in the docker group?)"
    return f"Docker at {config.host}: {text}"
