"""One container's log lines, as the logs screen reads them from a thread.

Split from the source, which polls: a stream lives as long as the logs screen
and is closed from the UI thread while its reader blocks on the socket. Logs
come through the docker SDK (demultiplexing stdout and stderr), which opening
the logs screen loads; the polls do not need it (docker_http.py). Asked with
`timestamps=True`, the engine prefixes each line with its RFC 3339 time; the
stream splits it off (`log_lines.LogLine.stamp`), so the screen shows or hides
it without reopening and merges several containers by it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from opsdash.log_lines import split_stamp
from opsdash.logbuffer import LineCutter
from opsdash.sources.base import SourceError


def open_logs(
    source: Any,
    container_id: str,
    tail: int,
    follow: bool,
    since: float | None = None,
    timestamps: bool = False,
) -> LogStream:
    """The SDK's log stream of one container on `source` (a DockerSource);
    failing to reach the engine drops its clients, as a poll's failure does."""
    with engine_errors(source):
        stream = source.client.logs(
            container_id,
            stream=True,
            follow=follow,
            tail=tail,
            timestamps=timestamps,
            since=since,
        )
    return LogStream(stream, timestamped=timestamps)


@contextlib.contextmanager
def engine_errors(source: Any) -> Iterator[None]:
    """Opening a log stream through the SDK: NotFound passes (the screen says the
    container is gone); an engine that cannot be reached drops the source's
    clients, as a poll's failure does; either becomes one SourceError line."""
    import docker.errors  # the SDK loads with the logs screen, not with the polls
    import requests.exceptions

    try:
        yield
    except docker.errors.NotFound:
        raise
    except (
        requests.exceptions.RequestException,
        docker.errors.DockerException,
        OSError,
    ) as exc:
        if not isinstance(exc, docker.errors.APIError):
            source._drop_client()
        raise SourceError(source._explain(exc)) from None


class LogStream:
    """Log lines of one container, each at most `logbuffer.MAX_LINE` characters
    (an endless line is cut, not kept); `close()` from any thread stops it.
    `timestamped`: the engine stamps each line (LogLine with its `stamp`)."""

    def __init__(self, stream: Any, *, timestamped: bool = False):
        self._stream = stream
        self._closed = threading.Event()
        self.cutter = LineCutter()
        self.timestamped = timestamped

    def __iter__(self) -> Iterator[str]:
        try:
            for chunk in self._stream:
                if self._closed.is_set():
                    return
                lines = self.cutter.feed(chunk)
                yield from (map(split_stamp, lines) if self.timestamped else lines)
        except Exception:
            if not self._closed.is_set():
                raise
        last = self.cutter.flush()
        if last is not None and not self._closed.is_set():
            yield split_stamp(last) if self.timestamped else last

    def close(self) -> None:
        """Returns at once: closing the HTTP response may wait on the socket."""
        self._closed.set()

        def close_response() -> None:
            with contextlib.suppress(Exception):
                self._stream.close()

        threading.Thread(target=close_response, name="close-log-stream", daemon=True).start()
