"""An ssh:// host's read path: the SDK's APIClient (docker_ssh.py's), raising
what docker_http raises, so the source has one set of errors to handle.

ssh:// hosts keep the SDK: each connection is an ssh process behind its
requests adapter, and the stats and inspects share that bounded pool.
"""

from __future__ import annotations

from typing import Any

from opsdash.sources.docker_http import EngineConnectionError, EngineError, EngineTimeout, NotFound


class SDKReader:
    """docker_http.EngineHTTP's calls, made through an APIClient."""

    def __init__(self, client: Any):
        self.client = client

    @property
    def api_version(self) -> str:
        return self.client.api_version

    def _run(self, method: str, *args: Any, **kwargs: Any) -> Any:
        import docker.errors
        import requests.exceptions

        try:
            return getattr(self.client, method)(*args, **kwargs)
        except docker.errors.NotFound as exc:
            raise NotFound(404, str(exc.explanation or exc)) from exc
        except docker.errors.APIError as exc:
            raise EngineError(exc.status_code or 0, str(exc.explanation or exc)) from exc
        except requests.exceptions.Timeout as exc:
            raise EngineTimeout(str(exc)) from exc
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            raise EngineConnectionError(str(exc)) from exc

    def info(self) -> dict[str, Any]:
        return self._run("info")

    def containers(self, all: bool = False) -> list[dict[str, Any]]:
        return self._run("containers", all=all)

    def inspect_container(self, container: str) -> dict[str, Any]:
        return self._run("inspect_container", container)

    def inspect_image(self, image: str) -> dict[str, Any]:
        return self._run("inspect_image", image)

    def services(self) -> list[dict[str, Any]]:
        return self._run("services")

    def tasks(self, filters: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return self._run("tasks", filters=filters)

    def events(self, decode: bool = True, filters: dict[str, Any] | None = None) -> Any:
        return self._run("events", decode=decode, filters=filters)

    def close(self) -> None:
        """The APIClient is the source's own (its `client`), closed with it."""
