"""Docker Engine API JSON -> opsdash's model records, as pure functions: no
client, no I/O, so the mapping is tested on recorded replies alone.

`container_from` reads a `/containers/json` entry (and, when there is one, its
inspect); `services_from` the `/services` and running `/tasks` lists;
`details_from` one container's full inspect, dropping environment values.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from typing import Any

from opsdash.model import Container, ContainerDetails, HealthProbe, Mount, Port, Service
from opsdash.sources.docker_stats import StatsTuple

_FRACTION = re.compile(r"\.(\d{6})\d*")


def parse_time(value: str | None) -> datetime | None:
    """Docker's RFC 3339 timestamps with nanoseconds -> aware datetime."""
    if not value or value.startswith("0001-01-01"):
        return None
    text = _FRACTION.sub(r".\1", value.replace("Z", "+00:00"))
    text = re.sub(r"\.(\d{1,5})(?=[+-])", lambda m: "." + m.group(1).ljust(6, "0"), text)
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _ports(raw: list[dict[str, Any]] | None) -> tuple[Port, ...]:
    ports = {
        Port(
            container_port=int(p.get("PrivatePort", 0)),
            protocol=p.get("Type", "tcp"),
            host_ip=p.get("IP", ""),
            host_port=p.get("PublicPort"),
        )
        for p in raw or []
    }
    # IPv4 and IPv6 bindings of one port look the same once the IP is hidden.
    return tuple(sorted(ports, key=lambda p: (p.container_port, p.host_port or 0, p.host_ip)))


def _ports_from_inspect(network_settings: dict[str, Any]) -> tuple[Port, ...]:
    raw = []
    for spec, bindings in (network_settings.get("Ports") or {}).items():
        number, _, proto = spec.partition("/")
        if not bindings:
            raw.append({"PrivatePort": number, "Type": proto})
        for b in bindings or []:
            raw.append(
                {
                    "PrivatePort": number,
                    "Type": proto,
                    "IP": b.get("HostIp", ""),
                    "PublicPort": int(b["HostPort"]) if b.get("HostPort") else None,
                }
            )
    return _ports(raw)


_HEALTH_IN_STATUS = re.compile(r"\((healthy|unhealthy|health: starting)\)")
_EXIT_IN_STATUS = re.compile(r"^Exited \((-?\d+)\)")


def _health_in(status: str) -> str:
    """ "Up 3 minutes (health: starting)" -> "starting", as inspect would say."""
    found = _HEALTH_IN_STATUS.search(status)
    return "" if found is None else found.group(1).removeprefix("health: ")


def _exit_code_in(status: str) -> int | None:
    found = _EXIT_IN_STATUS.match(status)
    return None if found is None else int(found.group(1))


LISTED_FIELDS = ("Id", "Names", "Image", "ImageID", "State", "Status", "Created", "Ports", "Labels")


def listed_facts(raw: dict[str, Any]) -> dict[str, Any]:
    """The part of a `/containers/json` entry that `container_from` reads
    (mounts, networks and host config are dropped: the source keeps the list)."""
    return {key: raw[key] for key in LISTED_FIELDS if key in raw}


def row_facts(detail: dict[str, Any]) -> dict[str, Any]:
    """The part of an inspect that `container_from` reads: what a source keeps
    per container between polls (a whole inspect is 30-50 KiB as Python objects,
    so 1,000 of them would outweigh the rest of the process)."""
    state = detail.get("State") or {}
    health = state.get("Health") or {}
    return {
        "Image": detail.get("Image", ""),
        "RestartCount": detail.get("RestartCount") or 0,
        "State": {
            "Health": {"Status": health.get("Status", "")} if health else None,
            "StartedAt": state.get("StartedAt"),
            "FinishedAt": state.get("FinishedAt"),
            "ExitCode": state.get("ExitCode"),
        },
    }


def container_from(
    host: str,
    raw: dict[str, Any],
    detail: dict[str, Any] | None,
    stats: StatsTuple | None,
) -> Container:
    labels = raw.get("Labels") or {}
    names = raw.get("Names") or [raw["Id"][:12]]
    state = (detail or {}).get("State") or {}
    health = (state.get("Health") or {}).get("Status", "")
    status = raw.get("Status", "")
    if detail is None:  # not inspected yet: what the status line says
        health, state = _health_in(status), {"ExitCode": _exit_code_in(status)}
    cpu, mem, limit = stats or (None, None, None)
    exit_code = state.get("ExitCode") if raw.get("State") in ("exited", "dead") else None
    created = raw.get("Created")
    return Container(
        host=host,
        id=raw["Id"],
        name=names[0].lstrip("/"),
        image=raw.get("Image", ""),
        image_id=raw.get("ImageID") or (detail or {}).get("Image", ""),
        state=raw.get("State", ""),
        status=status,
        health=health,
        created=datetime.fromtimestamp(created).astimezone() if created else None,
        started_at=parse_time(state.get("StartedAt")),
        finished_at=parse_time(state.get("FinishedAt")),
        exit_code=exit_code,
        restart_count=int((detail or {}).get("RestartCount") or 0),
        ports=_ports(raw.get("Ports")),
        labels=tuple(sorted(labels.items())),
        compose_project=labels.get("com.docker.compose.project", ""),
        compose_service=labels.get("com.docker.compose.service", ""),
        cpu_percent=cpu,
        memory_used=mem,
        memory_limit=limit,
    )


def services_from(
    host: str, raw_services: list[dict[str, Any]], tasks: list[dict[str, Any]]
) -> tuple[Service, ...]:
    """The Swarm services, with running replicas counted from the running tasks."""
    running: dict[str, int] = {}
    desired_global: dict[str, int] = {}
    for task in tasks:
        sid = task.get("ServiceID", "")
        desired_global[sid] = desired_global.get(sid, 0) + 1
        if (task.get("Status") or {}).get("State") == "running":
            running[sid] = running.get(sid, 0) + 1
    services = []
    for raw in raw_services:
        spec = raw.get("Spec") or {}
        mode_spec = spec.get("Mode") or {}
        mode = next(iter(mode_spec), "replicated")
        if mode == "Replicated":
            desired: int | None = int(mode_spec["Replicated"].get("Replicas", 0))
        elif mode == "Global":
            desired = desired_global.get(raw["ID"], 0)
        else:
            desired = None
        image = ((spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("Image", "")
        update = raw.get("UpdateStatus") or {}
        services.append(
            Service(
                host=host,
                id=raw["ID"],
                name=spec.get("Name", raw["ID"][:12]),
                image=image.split("@sha256:", 1)[0],
                mode=re.sub(r"(?<!^)([A-Z])", r"-\1", mode).lower(),
                replicas_running=running.get(raw["ID"], 0),
                replicas_desired=desired,
                update_state=update.get("State", ""),
                update_message=update.get("Message", ""),
                created=parse_time(raw.get("CreatedAt")),
                updated=parse_time(raw.get("UpdatedAt")),
            )
        )
    return tuple(sorted(services, key=lambda s: s.name))


def details_from(host: str, raw: dict[str, Any], digests: tuple[str, ...]) -> ContainerDetails:
    """Full inspect of one container; environment values are dropped here."""
    config = raw.get("Config") or {}
    host_config = raw.get("HostConfig") or {}
    state = raw.get("State") or {}
    image_id = raw.get("Image", "")
    listed = {
        "Id": raw["Id"],
        "Names": [raw.get("Name", "")],
        "Image": config.get("Image", ""),
        "State": state.get("Status", ""),
        "Status": state.get("Status", ""),
        "Labels": config.get("Labels") or {},
        "Ports": [],
    }
    container = replace(
        container_from(host, listed, raw, None),
        ports=_ports_from_inspect(raw.get("NetworkSettings") or {}),
        created=parse_time(raw.get("Created")),
    )
    policy = host_config.get("RestartPolicy") or {}
    policy_text = policy.get("Name") or "no"
    if policy.get("MaximumRetryCount"):
        policy_text += f" (max {policy['MaximumRetryCount']} retries)"
    networks = (raw.get("NetworkSettings") or {}).get("Networks") or {}
    health = (state.get("Health") or {}).get("Log") or []
    return ContainerDetails(
        container=container,
        image_id=image_id,
        image_digests=digests,
        command=tuple(config.get("Cmd") or ()),
        entrypoint=tuple(config.get("Entrypoint") or ()),
        working_dir=config.get("WorkingDir", ""),
        user=config.get("User", ""),
        mounts=tuple(
            Mount(
                type=m.get("Type", ""),
                source=m.get("Name") or m.get("Source", ""),
                destination=m.get("Destination", ""),
                mode=m.get("Mode", ""),
                read_write=bool(m.get("RW", True)),
            )
            for m in raw.get("Mounts") or []
        ),
        networks=tuple(
            (name, (net or {}).get("IPAddress", "")) for name, net in sorted(networks.items())
        ),
        restart_policy=policy_text,
        env_names=tuple(item.split("=", 1)[0] for item in config.get("Env") or ()),
        health_log=tuple(
            HealthProbe(
                start=h.get("Start", ""),
                exit_code=int(h.get("ExitCode", 0)),
                output=str(h.get("Output", "")).strip(),
            )
            for h in health[-5:]
        ),
    )
