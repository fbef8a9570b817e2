"""Engine API JSON to records without an engine: the shapes are those of the
Docker Engine API v1.45 reference (https://docs.docker.com/reference/api/engine/version/v1.45/),
trimmed to the fields opsdash reads."""

from __future__ import annotations

from opsdash.model import Port
from opsdash.sources.docker_map import container_from, details_from, row_facts, services_from

LISTED = {
    "Id": "8dfafdbc3a40" + "0" * 52,
    "Names": ["/web-1"],
    "Image": "local/web:2",
    "ImageID": "sha256:abc",
    "State": "exited",
    "Status": "Exited (3) 2 minutes ago",
    "Created": 1_700_000_000,
    "Ports": [{"PrivatePort": 80, "PublicPort": 8080, "Type": "tcp", "IP": "0.0.0.0"}],
    "Labels": {"com.docker.compose.project": "shop", "com.docker.compose.service": "web"},
}
INSPECT = {
    "Id": LISTED["Id"],
    "Name": "/web-1",
    "Image": "sha256:abc",
    "RestartCount": 2,
    "State": {
        "Status": "exited",
        "ExitCode": 3,
        "StartedAt": "2024-01-01T10:00:00.123456789Z",
        "FinishedAt": "2024-01-01T10:05:00Z",
        "Health": {"Status": "unhealthy", "Log": [{"Start": "s", "ExitCode": 1, "Output": "no\n"}]},
    },
    "Config": {
        "Image": "local/web:2",
        "Env": ["API_KEY=very-secret", "MODE=prod"],
        "Cmd": ["sh", "-c", "serve"],
        "Labels": LISTED["Labels"],
    },
    "HostConfig": {"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3}},
    "Mounts": [{"Type": "volume", "Name": "data", "Destination": "/data", "RW": True}],
    "NetworkSettings": {"Networks": {"shop": {"IPAddress": "10.0.0.2"}}, "Ports": {}},
}


def test_a_listed_container_with_its_inspect_and_stats():
    c = container_from("prod", LISTED, INSPECT, (12.5, 100, 1000))
    assert (c.host, c.name, c.state, c.health, c.exit_code) == (
        "prod",
        "web-1",
        "exited",
        "unhealthy",
        3,
    )
    assert (c.restart_count, c.compose_project, c.compose_service) == (2, "shop", "web")
    assert c.ports == (Port(80, "tcp", "0.0.0.0", 8080),)
    assert (c.cpu_percent, c.memory_used, c.memory_limit) == (12.5, 100, 1000)
    assert c.started_at is not None and c.started_at.microsecond == 123456


def test_the_facts_kept_between_polls_make_the_same_row():
    assert container_from("prod", LISTED, row_facts(INSPECT), None) == container_from(
        "prod", LISTED, INSPECT, None
    )


def test_before_its_inspect_a_row_reads_health_and_exit_code_from_the_status_line():
    """The first poll of 1,000 containers shows the list before every inspect lands."""
    c = container_from("prod", LISTED, None, None)
    assert (c.state, c.exit_code, c.health, c.started_at) == ("exited", 3, "", None)
    for status, health in (
        ("Up 3 minutes (healthy)", "healthy"),
        ("Up 3 seconds (health: starting)", "starting"),
        ("Up 1 hour (unhealthy)", "unhealthy"),
        ("Up 1 hour", ""),
    ):
        running = {**LISTED, "State": "running", "Status": status}
        c = container_from("prod", running, None, None)
        assert (c.health, c.exit_code) == (health, None)


def test_details_keep_env_names_and_drop_their_values():
    d = details_from("prod", INSPECT, ("local/web@sha256:def",))
    assert d.env_names == ("API_KEY", "MODE")
    assert "very-secret" not in repr(d)
    assert d.restart_policy == "on-failure (max 3 retries)"
    assert d.networks == (("shop", "10.0.0.2"),)
    assert d.mounts[0].source == "data" and d.health_log[0].output == "no"


def test_services_count_running_replicas_from_the_tasks():
    services = [
        {
            "ID": "s1",
            "Spec": {
                "Name": "api",
                "Mode": {"Replicated": {"Replicas": 3}},
                "TaskTemplate": {"ContainerSpec": {"Image": "api:1@sha256:x"}},
            },
        },
        {"ID": "s2", "Spec": {"Name": "agent", "Mode": {"Global": {}}}},
    ]
    tasks = [
        {"ServiceID": "s1", "Status": {"State": "running"}},
        {"ServiceID": "s1", "Status": {"State": "starting"}},
        {"ServiceID": "s2", "Status": {"State": "running"}},
    ]
    agent, api = services_from("prod", services, tasks)
    assert (api.name, api.image, api.replicas_running, api.replicas_desired) == (
        "api",
        "api:1",
        1,
        3,
    )
    assert (agent.mode, agent.replicas_desired) == ("global", 1)  # one task per node
