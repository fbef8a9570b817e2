"""Model quality from Prometheus: one row per label set of the configured query.

Each poll runs the query twice, concurrently: an instant query for the current
value and a range query over `config.trend` seconds (about `TREND_POINTS`
points) for the sparkline. The model and version come from the configured
labels. A series that has a trend but no current sample (its exporter stopped,
so Prometheus marked it stale) still gets a row, with no value.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from opsdash.model.ml import MetricPoint, ModelRow, ModelsSnapshot, threshold_state
from opsdash.redact import clip
from opsdash.sources.base import DEFAULT_REMOTE_REFRESH, DEFAULT_TIMEOUT
from opsdash.sources.http import HttpClient, HttpError
from opsdash.sources.http_source import HttpSource
from opsdash.sources.settings import ca_bundle, http_url, one_of, option

# 400: bad parameters, 422: the expression cannot run. Both carry the error envelope;
# 503 (timeout, shutting down) is left to the client, which retries it.
_ENVELOPE_ERRORS = (400, 422)

Series = tuple[tuple[str, str], ...]


def _sample(raw: Any) -> tuple[float, float]:
    """A `[<unix seconds>, "<value>"]` pair; `float()` reads "NaN", "+Inf", "-Inf"."""
    if not isinstance(raw, list | tuple) or len(raw) != 2:
        raise ValueError(f"sample {raw!r} is not [time, value]")
    return float(raw[0]), float(raw[1])


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def _describe(value: float) -> str:
    return "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")


@dataclass(frozen=True, slots=True, kw_only=True)
class PrometheusConfig:
    """One [[prometheus]] table: a query whose series are model metrics."""

    kind: ClassVar[str] = "prometheus"
    name: str = option(doc="shown in the header; unique")
    url: str = option(doc="the server, http(s)://", check=http_url)
    query: str = option(
        doc='PromQL, e.g. model_accuracy{env="prod"}; one row per label set', multiline=True
    )
    metric: str = option("accuracy", doc="what the query measures, for the METRIC column")
    labels: tuple[str, ...] = option(("model", "version"), doc="label names shown per row")
    model_label: str = option("model", doc="the label naming the model")
    version_label: str = option("version", doc="the label naming the version")
    direction: str = option(
        "higher",
        doc='"higher" or "lower" is better',
        check=one_of("higher", "lower", hint=" (is better)"),
    )
    warning: float | None = option(None, doc='the row turns "warning" past it')
    breach: float | None = option(None, doc='"breach", and one notification per breach')
    trend: float = option(3600.0, doc="seconds of history in the sparkline (query_range)")
    token: str = option("", doc="bearer token, if your Prometheus needs one", secret=True)
    ca_bundle: str = option(
        "", doc="PEM file of CAs to trust instead of the system ones", check=ca_bundle
    )
    refresh: float = option(DEFAULT_REMOTE_REFRESH, doc="seconds between polls")
    timeout: float = option(DEFAULT_TIMEOUT, doc="seconds one request may take")


class PrometheusSource(HttpSource):
    kind: ClassVar[str] = "prometheus"
    feeds = ModelsSnapshot
    config_class = PrometheusConfig
    TREND_POINTS: ClassVar[int] = 60
    MAX_SERIES: ClassVar[int] = 500

    def __init__(
        self,
        config: PrometheusConfig,
        client: HttpClient | None = None,
        clock: Callable[[], float] = time.time,
    ):
        super().__init__(config, client)  # a bearer token, where there is one
        self._clock = clock
        self._series = 0

    def poll(self) -> ModelsSnapshot:
        return self._sync(self.fetch())

    def health_note(self) -> str:
        return f"{self._series} series" if self._series != 1 else "1 series"

    def secrets(self) -> tuple[str, ...]:
        return (self.config.token,)

    def auth(self) -> None:
        return None

    # --- requests -----------------------------------------------------------------

    @property
    def step(self) -> float:
        """Seconds between trend points: about TREND_POINTS over the trend window."""
        return max(1.0, self.config.trend / self.TREND_POINTS)

    async def _query(self, path: str, params: dict[str, str]) -> tuple[str, Any, list[str]]:
        """One API call: (resultType, result, warnings) of a success envelope."""
        where = f"GET {path}"
        response = await self.client.request(
            "GET", path, params=params, ok=(200, *_ENVELOPE_ERRORS)
        )
        body = self.client.decode(response, "GET", path)
        if not isinstance(body, dict) or "status" not in body:
            what = "an empty body" if body is None else f"JSON {type(body).__name__}"
            raise HttpError(f"{where}: malformed response: {what}, not a Prometheus envelope")
        if body.get("status") != "success":
            kind = str(body.get("errorType") or "error")
            message = clip(body.get("error") or "no message", 200)
            status = response.status_code
            raise HttpError(self.client.redact(f"{where}: {kind}: {message}"), status)
        data = body.get("data")
        if not isinstance(data, dict) or "resultType" not in data:
            raise HttpError(f"{where}: malformed response: no data.resultType")
        warnings = [str(w) for w in body.get("warnings") or () if w]
        return str(data["resultType"]), data.get("result"), warnings

    def _series_of(self, where: str, kind: str, result: Any, want: str) -> list[dict[str, Any]]:
        """The result as a list of series; a scalar becomes one series without labels."""
        if kind == "scalar" and want == "vector":
            return [{"metric": {}, "value": result}]
        if kind != want and not (want == "matrix" and kind == "scalar"):
            raise HttpError(f"{where}: the query returns a {kind}, not a {want} of numbers")
        if not isinstance(result, list) or not all(isinstance(s, dict) for s in result):
            raise HttpError(f"{where}: malformed response: result is not a list of series")
        return result

    @staticmethod
    def _labels(series: dict[str, Any]) -> Series:
        metric = series.get("metric") or {}
        if not isinstance(metric, dict):
            raise ValueError("metric is not an object")
        return tuple(sorted((str(k), str(v)) for k, v in metric.items()))

    # --- reading ------------------------------------------------------------------

    async def fetch(self) -> ModelsSnapshot:
        cfg = self.config
        end = self._clock()
        step = self.step
        instant_path, range_path = "/api/v1/query", "/api/v1/query_range"
        (kind, result, warn1), (rkind, rresult, warn2) = await asyncio.gather(
            self._query(instant_path, {"query": cfg.query}),  # at the server's "now"
            self._query(
                range_path,
                {
                    "query": cfg.query,
                    "start": f"{end - cfg.trend:.3f}",
                    "end": f"{end:.3f}",
                    "step": f"{step:g}",
                },
            ),
        )
        notes = list(dict.fromkeys(warn1 + warn2))
        current: dict[Series, tuple[float, float] | None] = {}
        histograms: set[Series] = set()
        where = f"GET {instant_path}"
        for series in self._series_of(where, kind, result, "vector"):
            try:
                labels = self._labels(series)
                if "value" in series:
                    current[labels] = _sample(series["value"])
                else:  # a native histogram: no single number to show
                    current[labels] = None
                    histograms.add(labels)
            except (ValueError, TypeError) as exc:
                raise HttpError(f"{where}: malformed response: {exc}") from None

        trends: dict[Series, tuple[MetricPoint, ...]] = {}
        where = f"GET {range_path}"
        if rkind == "scalar":
            rresult = []  # a constant query: nothing to draw
        for series in self._series_of(where, rkind, rresult, "matrix"):
            try:
                labels = self._labels(series)
                points = [_sample(raw) for raw in series.get("values") or ()]
            except (ValueError, TypeError) as exc:
                raise HttpError(f"{where}: malformed response: {exc}") from None
            trends[labels] = tuple(
                MetricPoint(_at(t), v) for t, v in sorted(points) if math.isfinite(v)
            )

        keys = list(current) + [k for k in trends if k not in current]
        if len(keys) > self.MAX_SERIES:
            notes.append(f"{len(keys)} series: showing the first {self.MAX_SERIES}")
            keys = keys[: self.MAX_SERIES]
        rows = [
            self._row(key, current.get(key), trends.get(key, ()), key in histograms) for key in keys
        ]
        rows.sort(key=lambda r: (r.model, r.version.zfill(12), r.labels))
        self._series = len(rows)
        return ModelsSnapshot(
            source=self.label, kind=self.kind, rows=tuple(rows), notes=tuple(notes)
        )

    def _row(
        self,
        key: Series,
        sample: tuple[float, float] | None,
        trend: tuple[MetricPoint, ...],
        histogram: bool = False,
    ) -> ModelRow:
        cfg = self.config
        metric = dict(key)
        lower = cfg.direction == "lower"
        value: float | None = None
        note = ""
        if histogram:
            note = "native histogram: no single value"
        elif sample is None:
            note = "no current sample"
        else:
            value = sample[1]
            if not math.isfinite(value):
                note = f"value is {_describe(value)}"
                value = None
        return ModelRow(
            source=self.label,
            kind=self.kind,
            model=metric.get(cfg.model_label, ""),
            metric=cfg.metric,
            version=metric.get(cfg.version_label, ""),
            value=value,
            direction="lower" if lower else "higher",
            state=threshold_state(value, cfg.warning, cfg.breach, not lower),
            warning=cfg.warning,
            breach=cfg.breach,
            trend=trend,
            labels=tuple((name, metric.get(name, "")) for name in cfg.labels),
            note=note,
        )
