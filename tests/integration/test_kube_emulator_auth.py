"""devstack.kube over HTTPS: client-certificate auth beside the bearer token, and
kubeconfigs with several contexts.

https://kubernetes.io/docs/reference/access-authn-authz/authentication/#x509-client-certificates
https://kubernetes.io/docs/reference/config-api/kubeconfig.v1/
"""

from __future__ import annotations

import base64
import json
import shutil
import ssl

import httpx
import pytest

from devstack.kube import KubeApiServer, write_kubeconfig

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl for TLS")

UNAUTHORIZED = {
    "kind": "Status",
    "apiVersion": "v1",
    "metadata": {},
    "status": "Failure",
    "message": "Unauthorized",
    "reason": "Unauthorized",
    "code": 401,
}


def tls_client(api: KubeApiServer, cert: tuple | None = None, **kw) -> httpx.Client:
    context = ssl.create_default_context(cafile=str(api.ca_file))
    if cert is not None:
        context.load_cert_chain(*map(str, cert))
    return httpx.Client(base_url=api.url, verify=context, timeout=10, **kw)


def test_client_certificate_or_token(tmp_path):
    with (
        KubeApiServer(tls_dir=tmp_path / "tls") as api,
        KubeApiServer(tls_dir=tmp_path / "other") as other,
    ):
        api.add_deployment("default", "web", "nginx:1", replicas=0)
        assert api.url.startswith("https://") and api.client_cert is not None
        with tls_client(api, api.client_cert) as c:
            got = c.get("/apis/apps/v1/deployments")
            assert got.status_code == 200
            assert [d["metadata"]["name"] for d in got.json()["items"]] == ["web"]
        with tls_client(api, headers=api.auth_headers) as c:
            assert c.get("/api/v1/namespaces").status_code == 200
        with tls_client(api) as c:  # neither: 401 with a Status body
            anonymous = c.get("/api/v1/pods")
            assert anonymous.status_code == 401 and anonymous.json() == UNAUTHORIZED
            assert c.get("/version").status_code == 200
        with tls_client(api, headers={"Authorization": "Bearer wrong"}) as c:
            assert c.get("/api/v1/pods").json() == UNAUTHORIZED
        with tls_client(api, api.client_cert, headers={"Authorization": "Bearer wrong"}) as c:
            assert c.get("/api/v1/pods").status_code == 401  # a bad token is not overlooked
        # a certificate from another CA: Python's ssl (CERT_OPTIONAL) refuses it in the
        # handshake, where kube-apiserver would answer 401; either way no access
        with (
            tls_client(api, other.client_cert) as c,
            pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)),
        ):
            c.get("/api/v1/pods")


def test_kubeconfig_with_three_contexts_and_both_auths(tmp_path):
    with (
        KubeApiServer(token="p", tls_dir=tmp_path / "p") as prod,
        KubeApiServer(token="s", tls_dir=tmp_path / "s") as staging,
        KubeApiServer(token="d") as dev,  # plain HTTP
    ):
        for name, srv in (("prod", prod), ("staging", staging), ("dev", dev)):
            srv.add_deployment("default", f"{name}-app", "nginx:1", replicas=0)
        servers = {"prod": prod, "staging": staging, "dev": dev}
        path = write_kubeconfig(
            tmp_path / "config", servers, auth={"prod": "cert", "staging": "cert"}
        )
        assert path.stat().st_mode & 0o777 == 0o600
        config = json.loads(path.read_text())
        assert [c["name"] for c in config["contexts"]] == ["prod", "staging", "dev"]
        assert config["current-context"] == "prod"
        users = {u["name"]: u["user"] for u in config["users"]}
        assert set(users["prod-user"]) == {"client-certificate-data", "client-key-data"}
        assert users["dev-user"] == {"token": "d"}
        for ctx in config["contexts"]:
            name = ctx["name"]
            cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == name)
            user = users[ctx["context"]["user"]]
            if "client-certificate-data" in user:
                cert, key = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
                cert.write_bytes(base64.b64decode(user["client-certificate-data"]))
                key.write_bytes(base64.b64decode(user["client-key-data"]))
                ca = tmp_path / f"{name}-ca.pem"
                ca.write_bytes(base64.b64decode(cluster["certificate-authority-data"]))
                context = ssl.create_default_context(cafile=str(ca))
                context.load_cert_chain(str(cert), str(key))
                reply = httpx.get(cluster["server"] + "/apis/apps/v1/deployments", verify=context)
            else:
                headers = {"Authorization": f"Bearer {user['token']}"}
                reply = httpx.get(cluster["server"] + "/apis/apps/v1/deployments", headers=headers)
            assert [d["metadata"]["name"] for d in reply.json()["items"]] == [f"{name}-app"]
        every_token = write_kubeconfig(tmp_path / "tokens", servers, current="dev", auth="token")
        config = json.loads(every_token.read_text())
        assert config["current-context"] == "dev"
        assert all(set(u["user"]) == {"token"} for u in config["users"])
        with pytest.raises(ValueError):
            write_kubeconfig(tmp_path / "bad", {"dev": dev}, auth="cert")  # no TLS, no certs
