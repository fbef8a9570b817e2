"""CPU and memory as `docker stats` computes them (moby cli/command/container/stats_helpers.go)."""

from __future__ import annotations

from opsdash.sources.docker_map import parse_time
from opsdash.sources.docker_stats import cpu_percent, memory_used


def test_cpu_percent_between_samples():
    before = {"cpu_usage": {"total_usage": 1_000}, "system_cpu_usage": 100_000, "online_cpus": 2}
    after = {"cpu_usage": {"total_usage": 11_000}, "system_cpu_usage": 200_000, "online_cpus": 2}
    assert cpu_percent(after, before) == 20.0
    assert cpu_percent(after, None) is None


def test_memory_excludes_inactive_file_cache():
    assert memory_used({"usage": 1000, "stats": {"total_inactive_file": 300}}) == 700
    assert memory_used({"usage": 1000, "stats": {"inactive_file": 100}}) == 900
    assert memory_used({"usage": 1000, "stats": {}}) == 1000
    assert memory_used({}) is None


def test_parse_docker_times():
    assert parse_time("0001-01-01T00:00:00Z") is None
    moment = parse_time("2026-11-28T10:01:02.123456789Z")
    assert moment is not None and moment.microsecond == 123456 and moment.utcoffset().seconds == 0
    assert parse_time("2026-11-28T10:01:02.5Z").microsecond == 500000
