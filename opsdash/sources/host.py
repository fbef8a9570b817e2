"""The local host: CPU, load, memory, swap, disks and uptime via psutil."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

import psutil

from opsdash.config_checks import Invalid
from opsdash.model import DiskUsage, HostStats
from opsdash.sources.base import DEFAULT_REFRESH, DEFAULT_TIMEOUT, Detection, Source
from opsdash.sources.settings import option


def paths(value: list[object]) -> tuple[str, ...]:
    if not all(isinstance(d, str) for d in value):
        raise Invalid("must be a list of paths (strings)")
    return tuple(value)  # type: ignore[arg-type]  # checked above


@dataclass(frozen=True, slots=True, kw_only=True)
class HostConfig:
    """One [[host]] table: the machine opsdash runs on."""

    kind: ClassVar[str] = "host"
    name: str = option(doc="shown in the header; unique", default_doc="the hostname")
    disks: tuple[str, ...] = option(
        ("/",), doc="mount points to show", convert=paths, blank_is_default=True
    )
    refresh: float = option(DEFAULT_REFRESH, doc="seconds between polls", from_refresh=True)
    timeout: float = option(DEFAULT_TIMEOUT, doc="seconds one reading may take")

    @classmethod
    def default_name(cls, index: int, values: dict[str, Any]) -> str:
        return socket.gethostname()


class HostSource(Source):
    kind = "host"
    feeds = HostStats
    config_class = HostConfig

    @classmethod
    def autodetect(cls, detection: Detection) -> tuple[HostConfig, ...]:
        """Always this machine."""
        return (HostConfig(name=socket.gethostname(), refresh=detection.refresh),)

    def __init__(self, config: HostConfig):
        super().__init__(config.name, config.refresh, config.timeout)
        self.disks = config.disks
        # The first cpu_percent(None) call only primes the counters.
        psutil.cpu_percent(interval=None)

    def poll(self) -> HostStats:
        memory = psutil.virtual_memory()
        swap = psutil.swap_memory()
        disks = []
        for path in self.disks:
            try:
                usage = psutil.disk_usage(path)
            except OSError:
                continue
            disks.append(DiskUsage(path, usage.total, usage.used, usage.percent))
        return HostStats(
            hostname=socket.gethostname(),
            cpu_percent=psutil.cpu_percent(interval=None),
            cpu_count=psutil.cpu_count() or 1,
            load=os.getloadavg(),
            memory_total=memory.total,
            memory_used=memory.total - memory.available,
            memory_percent=memory.percent,
            swap_total=swap.total,
            swap_used=swap.used,
            swap_percent=swap.percent,
            disks=tuple(disks),
            boot_time=datetime.fromtimestamp(psutil.boot_time(), tz=UTC),
        )
