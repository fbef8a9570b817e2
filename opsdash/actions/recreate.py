"""Build the create request that recreates a container from its own inspect.

Pure functions over Docker's inspect JSON, so they are unit-testable. The rule:
keep everything the user set on the container; leave out what it only had
because the old image said so, so that the new image's defaults apply.
"""

from __future__ import annotations

import copy
from typing import Any

# opsdash's own labels (which action made this container) are never carried on.
OPSDASH_LABEL_PREFIX = "io.opsdash."

# Config keys copied when they differ from the old image's own value.
_FROM_IMAGE_KEYS = ("Cmd", "Entrypoint", "WorkingDir", "User", "Healthcheck", "StopSignal", "Shell")
# Config keys that are the container's own and always copied.
_OWN_KEYS = (
    "Domainname",
    "Tty",
    "OpenStdin",
    "StdinOnce",
    "AttachStdin",
    "AttachStdout",
    "AttachStderr",
    "StopTimeout",
    "ArgsEscaped",
    "OnBuild",
)


def _bind_targets(host_config: dict[str, Any]) -> set[str]:
    targets = set()
    for bind in host_config.get("Binds") or []:
        parts = bind.split(":")
        if len(parts) >= 2:
            targets.add(parts[1])
    for mount in host_config.get("Mounts") or []:
        targets.add(mount.get("Target", ""))
    return targets


def preserved_mounts(inspect: dict[str, Any]) -> list[dict[str, Any]]:
    """Anonymous volumes the create request would otherwise replace by empty ones."""
    host_config = inspect.get("HostConfig") or {}
    covered = _bind_targets(host_config)
    extra = []
    for mount in inspect.get("Mounts") or []:
        if mount.get("Type") == "volume" and mount.get("Destination") not in covered:
            extra.append(
                {
                    "Type": "volume",
                    "Source": mount.get("Name", ""),
                    "Target": mount.get("Destination", ""),
                    "ReadOnly": not mount.get("RW", True),
                }
            )
    return extra


def recreate_request(
    inspect: dict[str, Any],
    image: str,
    old_image_config: dict[str, Any] | None,
) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]:
    """The body for POST /containers/create, plus networks to connect afterwards.

    API 1.41 accepts one network at create time; the others are connected
    before the container starts, each with its aliases.
    """
    config = inspect.get("Config") or {}
    image_config = old_image_config or {}
    body: dict[str, Any] = {"Image": image}

    for key in _FROM_IMAGE_KEYS:
        if config.get(key) is not None and config.get(key) != image_config.get(key):
            body[key] = copy.deepcopy(config[key])
    for key in _OWN_KEYS:
        if key in config:
            body[key] = copy.deepcopy(config[key])

    short_id = inspect.get("Id", "")[:12]
    if config.get("Hostname") and config["Hostname"] != short_id:
        body["Hostname"] = config["Hostname"]

    image_env = set(image_config.get("Env") or [])
    env = [item for item in config.get("Env") or [] if item not in image_env]
    if env:
        body["Env"] = env
    image_labels = image_config.get("Labels") or {}
    labels = {
        k: v
        for k, v in (config.get("Labels") or {}).items()
        if image_labels.get(k) != v and not k.startswith(OPSDASH_LABEL_PREFIX)
    }
    if labels:
        body["Labels"] = labels
    for key in ("ExposedPorts", "Volumes"):
        own = {
            k: v
            for k, v in (config.get(key) or {}).items()
            if k not in (image_config.get(key) or {})
        }
        if own:
            body[key] = own

    host_config = copy.deepcopy(inspect.get("HostConfig") or {})
    extra_mounts = preserved_mounts(inspect)
    if extra_mounts:
        host_config["Mounts"] = list(host_config.get("Mounts") or []) + extra_mounts
    body["HostConfig"] = host_config

    networks = (inspect.get("NetworkSettings") or {}).get("Networks") or {}
    mode = host_config.get("NetworkMode", "")
    endpoints: list[tuple[str, dict[str, Any]]] = []
    for name, settings in networks.items():
        aliases = [a for a in (settings or {}).get("Aliases") or [] if a not in (short_id,)]
        endpoint: dict[str, Any] = {}
        if aliases:
            endpoint["Aliases"] = aliases
        if (settings or {}).get("IPAMConfig"):
            endpoint["IPAMConfig"] = settings["IPAMConfig"]
        if (settings or {}).get("Links"):
            endpoint["Links"] = settings["Links"]
        endpoints.append((name, endpoint))
    first = next((e for e in endpoints if e[0] == mode), None)
    if first is not None and mode not in ("host", "none", "bridge", "default", ""):
        body["NetworkingConfig"] = {"EndpointsConfig": {first[0]: first[1]}}
    later = [
        e
        for e in endpoints
        if e is not first and e[0] not in ("host", "none") and not mode.startswith("container:")
    ]
    return body, later
