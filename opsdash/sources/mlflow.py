"""MLflow model registry: serving vs challenger versions, their metrics, and the
serving alias moves behind promote and rollback.

`poll()` reads the registered models (all, or the configured names), their
versions and aliases, each interesting version's run (latest metric values) and
the serving version's metric history (the trend). Finished runs never change,
so their runs and histories are cached; a poll of an unchanged registry costs
one search of the models and one of all their versions (a page per 100 models
and per 1,000 versions).

Promote and rollback (`opsdash.actions.models`) drive the registry calls at the
end (`ModelRegistry`): the source reads and writes, the action decides.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, ClassVar

from opsdash.model.lineage import LINEAGE_TAG_NAMES
from opsdash.model.ml import (
    AliasPlan,
    MetricPoint,
    ModelRow,
    ModelsSnapshot,
    ModelVersion,
)
from opsdash.sources.base import (
    DEFAULT_REMOTE_REFRESH,
    DEFAULT_TIMEOUT,
    Detection,
    SourceError,
)
from opsdash.sources.http import HttpClient, HttpError
from opsdash.sources.mlflow_map import (
    FINISHED_RUNS,
    aliases_and_tags,
    history_from,
    model_rows_from,
    normalize_version,  # noqa: F401 - part of this module's interface
    quote_name,
    run_from,
    thin,
    version_from,
    version_number,
)
from opsdash.sources.mlflow_rest import MlflowRest
from opsdash.sources.settings import Invalid, ca_bundle, http_url, option


def some_metrics(value: tuple[str, ...]) -> tuple[str, ...]:
    if not value:
        raise Invalid('needs at least one metric, e.g. ["accuracy"]')
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class MlflowConfig:
    """One [[mlflow]] table: a tracking server's model registry."""

    kind: ClassVar[str] = "mlflow"
    name: str = option(doc="shown in the header; unique")
    url: str = option(doc="the tracking server, http(s)://", check=http_url)
    token: str = option("", doc="bearer token (Databricks-style); or user + password", secret=True)
    user: str = option("", doc="basic-auth user")
    password: str = option("", doc="${ENV} reference", secret=True)
    models: tuple[str, ...] = option((), doc="registered models to show", default_doc="all")
    metrics: tuple[str, ...] = option(
        ("accuracy",), doc="metrics read from each version's run", check=some_metrics
    )
    lower_is_better: tuple[str, ...] = option(
        (), doc='metrics where lower is better, e.g. ["rmse"]'
    )
    alias: str = option("champion", doc="the serving alias P moves and u moves back")
    challenger: str = option("challenger", doc="shown beside it, with the difference")
    warning: tuple[tuple[str, float], ...] = option(
        (), doc='per metric: the row turns "warning" past it, e.g. { accuracy = 0.9 }'
    )
    breach: tuple[tuple[str, float], ...] = option(
        (), doc='per metric: "breach", and one notification per breach'
    )
    run_tags: tuple[str, ...] = option(
        (),
        doc="tags of a version or its run that hold the id of the pipeline run that"
        ' produced it, besides airflow.dag_run_id, kfp.run_id and pipeline.run_id, e.g. ["train_run"]',
    )
    ca_bundle: str = option(
        "", doc="PEM file of CAs to trust instead of the system ones", check=ca_bundle
    )
    read_only: bool = option(False, doc="refuse P and u on this registry")
    refresh: float = option(DEFAULT_REMOTE_REFRESH, doc="seconds between polls")
    timeout: float = option(DEFAULT_TIMEOUT, doc="seconds one request may take")


class MlflowSource(MlflowRest):
    kind: ClassVar[str] = "mlflow"
    feeds = ModelsSnapshot
    config_class = MlflowConfig
    setup_hint = "set MLFLOW_TRACKING_URI"
    MAX_MODELS: ClassVar[int] = 500
    MAX_VERSIONS: ClassVar[int] = 200  # newest versions read per model
    # Up to this many versions in the whole registry are read in one paged search
    # of all of them; a larger registry is searched model by model.
    ALL_VERSIONS: ClassVar[int] = 5000
    ALL_VERSIONS_PAGE: ClassVar[int] = 1000
    DETAIL_VERSIONS: ClassVar[int] = 10  # newest versions whose runs are read (plus aliased ones)
    TREND_POINTS: ClassVar[int] = 120

    @classmethod
    def autodetect(cls, detection: Detection) -> tuple[MlflowConfig, ...]:
        """MLFLOW_TRACKING_URI (an http(s) server) and its token or user/password."""
        env = detection.environ
        uri = env.get("MLFLOW_TRACKING_URI", "")
        if not uri.startswith(("http://", "https://")):
            return ()
        return (
            MlflowConfig(
                name="mlflow",
                url=uri.rstrip("/"),
                token=env.get("MLFLOW_TRACKING_TOKEN", ""),
                user=env.get("MLFLOW_TRACKING_USERNAME", ""),
                password=env.get("MLFLOW_TRACKING_PASSWORD", ""),
            ),
        )

    def __init__(self, config: MlflowConfig, client: HttpClient | None = None):
        super().__init__(config, client)  # bearer token and/or Basic auth: the defaults
        # Finished runs never change: run_id -> run, (run_id, metric) -> history.
        self._runs: dict[str, dict[str, Any]] = {}
        self._histories: dict[tuple[str, str], tuple[MetricPoint, ...]] = {}
        self._models_seen = 0

    def poll(self) -> ModelsSnapshot:
        return self._sync(self.fetch())

    def health_note(self) -> str:
        quota = str(self.client.quota)
        models = f"{self._models_seen} models" if self._models_seen != 1 else "1 model"
        return f"{models}, {quota}" if quota else models

    # --- reading ------------------------------------------------------------------

    async def _registered_models(self, notes: list[str]) -> list[dict[str, Any]]:
        if not self.config.models:
            models = await self._pages(
                "registered-models/search",
                {"order_by": "name ASC"},
                "registered_models",
                self.MAX_MODELS,
            )
            for model in models:
                with self._shape("GET", "registered-models/search"):
                    str(model["name"])
            return models

        async def one(name: str) -> dict[str, Any] | None:
            try:
                body = await self._get("registered-models/get", {"name": name})
            except HttpError as exc:
                if exc.status == 404:
                    notes.append(f"registered model {name!r} not found")
                    return None
                raise
            with self._shape("GET", "registered-models/get"):
                model = body["registered_model"]
                if not isinstance(model, dict):
                    raise TypeError("registered_model is not an object")
                str(model["name"])
            return model

        found = await asyncio.gather(*(one(name) for name in self.config.models))
        return [m for m in found if m is not None]

    async def _all_versions(
        self, models: list[dict[str, Any]]
    ) -> dict[str, list[dict[str, Any]]] | None:
        """Every listed model's newest versions from one paged search of the whole
        registry: a poll of 50 models is 2 requests, not 51 (one search per model
        was most of the Models panel's cost). None when there are more than
        ALL_VERSIONS versions; then each model is searched on its own."""
        if len(models) < 2:
            return None
        found = await self._pages(
            "model-versions/search",
            {"order_by": "name ASC"},
            "model_versions",
            self.ALL_VERSIONS + 1,
            page_size=self.ALL_VERSIONS_PAGE,
        )
        if len(found) > self.ALL_VERSIONS:
            return None
        by_name: dict[str, list[dict[str, Any]]] = {}
        with self._shape("GET", "model-versions/search"):
            for v in found:
                v["version"] = str(v["version"])
                by_name.setdefault(str(v["name"]), []).append(v)
        for versions in by_name.values():
            versions.sort(key=lambda v: version_number(v["version"]), reverse=True)
            del versions[self.MAX_VERSIONS :]
        return by_name

    async def _versions(
        self, model: dict[str, Any], listed: dict[str, list[dict[str, Any]]] | None
    ) -> list[dict[str, Any]]:
        """`listed`: the registry's versions by model name, when read in one search."""
        name = str(model["name"])
        if listed is not None:
            versions = list(listed.get(name, ()))
        else:
            versions = await self._pages(
                "model-versions/search",
                {"filter": f"name={quote_name(name)}", "order_by": "version_number DESC"},
                "model_versions",
                self.MAX_VERSIONS,
            )
            with self._shape("GET", "model-versions/search"):
                versions = [v for v in versions if str(v.get("name", name)) == name]
                for v in versions:
                    v["version"] = str(v["version"])
        # Aliased versions older than the newest MAX_VERSIONS still matter.
        known = {v["version"] for v in versions}
        missing = {str(a.get("version")) for a in model.get("aliases") or ()} - known
        for version in sorted(missing, key=version_number):
            body = await self._get("model-versions/get", {"name": name, "version": version})
            with self._shape("GET", "model-versions/get"):
                extra = body["model_version"]
                extra["version"] = str(extra["version"])
            versions.append(extra)
        versions.sort(key=lambda v: version_number(v["version"]), reverse=True)
        return versions

    async def _run(self, run_id: str, notes: list[str]) -> dict[str, Any] | None:
        cached = self._runs.get(run_id)
        if cached is not None:
            return cached
        try:
            body = await self._get("runs/get", {"run_id": run_id})
        except HttpError as exc:
            if exc.status == 404:
                notes.append(f"run {run_id} not found (deleted?)")
                return None
            raise
        with self._shape("GET", "runs/get"):
            parsed = run_from(body)
        if parsed["status"] in FINISHED_RUNS:
            self._runs[run_id] = parsed
        return parsed

    async def _history(self, run_id: str, metric: str, finished: bool) -> tuple[MetricPoint, ...]:
        cached = self._histories.get((run_id, metric))
        if cached is not None:
            return cached
        body = await self._get("metrics/get-history", {"run_id": run_id, "metric_key": metric})
        with self._shape("GET", "metrics/get-history"):
            points = history_from(body)
        trend = thin(points, self.TREND_POINTS)
        if finished:
            self._histories[(run_id, metric)] = trend
        return trend

    async def _model(
        self,
        model: dict[str, Any],
        notes: list[str],
        listed: dict[str, list[dict[str, Any]]] | None = None,
    ) -> tuple[list[ModelVersion], list[ModelRow]]:
        with self._shape("GET", "registered-models/get"):
            name = str(model["name"])
            alias_of, tags = aliases_and_tags(model)
        raw_versions = await self._versions(model, listed)
        aliases: dict[str, list[str]] = {}
        for alias, version in alias_of.items():
            aliases.setdefault(version, []).append(alias)

        cfg = self.config
        serving = alias_of.get(cfg.alias, "")
        if not serving and raw_versions:
            serving = raw_versions[0]["version"]

        detail = {v["version"] for v in raw_versions[: self.DETAIL_VERSIONS]}
        detail |= set(alias_of.values())
        wanted = [v for v in raw_versions if v["version"] in detail and v.get("run_id")]
        runs = await asyncio.gather(*(self._run(str(v["run_id"]), notes) for v in wanted))
        run_of = {v["version"]: run for v, run in zip(wanted, runs, strict=True)}
        with self._shape("GET", "model-versions/search"):
            versions = [
                version_from(
                    name, v, aliases, run_of.get(v["version"]), cfg.metrics, self.lineage_tags
                )
                for v in raw_versions
            ]
        serving_v = next((v for v in versions if v.version == serving), None)

        trends: dict[str, tuple[MetricPoint, ...]] = {}
        if serving_v is not None and serving_v.run_id and serving_v.run_status:
            finished = serving_v.run_status in FINISHED_RUNS
            histories = await asyncio.gather(
                *(self._history(serving_v.run_id, m, finished) for m in cfg.metrics)
            )
            trends = dict(zip(cfg.metrics, histories, strict=True))

        rows = model_rows_from(
            source=self.label,
            name=name,
            config=cfg,
            alias_of=alias_of,
            tags=tags,
            versions=versions,
            serving=serving,
            trends=trends,
        )
        return versions, rows

    async def fetch(self) -> ModelsSnapshot:
        notes: list[str] = []
        models = await self._registered_models(notes)
        listed = None if self.config.models else await self._all_versions(models)
        results = await asyncio.gather(*(self._model(m, notes, listed) for m in models))
        versions = [v for vs, _rows in results for v in vs]
        rows = [r for _vs, rs in results for r in rs]
        # Forget cached runs no longer shown, so the cache stays as small as the registry.
        used = {v.run_id for v in versions}
        self._runs = {k: v for k, v in self._runs.items() if k in used}
        self._histories = {k: v for k, v in self._histories.items() if k[0] in used}
        self._models_seen = len(models)
        return ModelsSnapshot(
            source=self.label,
            kind=self.kind,
            rows=tuple(rows),
            versions=tuple(versions),
            models=tuple(str(m["name"]) for m in models),
            alias=self.config.alias,
            challenger=self.config.challenger,
            notes=tuple(notes),
        )

    @property
    def lineage_tags(self) -> tuple[str, ...]:
        """The tag names copied into ModelVersion.lineage: the orchestrators' and
        the configured `run_tags` (which opsdash.model.lineage.link_tags adds)."""
        return (*LINEAGE_TAG_NAMES, *self.config.run_tags)

    # --- the registry calls behind promote and rollback (opsdash.actions.models) --

    @property
    def serving_alias(self) -> str:
        return self.config.alias

    def _writable(self) -> None:
        if self.read_only:
            raise SourceError(f"{self.label} is read-only: aliases are not moved")

    async def _model_state(self, model: str) -> tuple[dict[str, str], dict[str, str]]:
        try:
            body = await self._get("registered-models/get", {"name": model})
        except HttpError as exc:
            if exc.status == 404:
                raise SourceError(f"registered model {model!r} not found") from None
            raise
        with self._shape("GET", "registered-models/get"):
            return aliases_and_tags(body["registered_model"])

    async def _version_metrics(
        self, model: str, version: str
    ) -> tuple[str, tuple[tuple[str, float], ...]]:
        try:
            body = await self._get("model-versions/get", {"name": model, "version": version})
        except HttpError as exc:
            if exc.status == 404:
                raise SourceError(f"{model} has no version {version}") from None
            raise
        with self._shape("GET", "model-versions/get"):
            raw = body["model_version"]
            run_id = str(raw.get("run_id") or "")
        run = await self._run(run_id, []) if run_id else None
        values = (run or {}).get("metrics", {})
        metrics = tuple((m, values[m]) for m in self.config.metrics if m in values)
        return str(raw.get("status") or ""), metrics

    def model_state(self, model: str) -> tuple[dict[str, str], dict[str, str]]:
        """(alias -> version, tags) of a registered model; SourceError if there is none."""
        return self._sync(self._model_state(model))

    def version_metrics(
        self, model: str, version: str
    ) -> tuple[str, tuple[tuple[str, float], ...]]:
        """A version's status ("READY", ...) and the configured metrics of its run."""
        return self._sync(self._version_metrics(model, version))

    def set_alias(self, plan: AliasPlan) -> None:
        self._writable()
        body = {"name": plan.model, "alias": plan.alias, "version": plan.new_version}
        self._sync(self._post("registered-models/alias", body))

    def set_tag(self, model: str, key: str, value: str) -> None:
        self._writable()
        body = {"name": model, "key": key, "value": value}
        self._sync(self._post("registered-models/set-tag", body))
