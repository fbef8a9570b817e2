"""MLflow model registry: serving vs challenger versions, their metrics, and the
serving alias moves behind promote and rollback.

`poll()` reads the registered models (all, or the configured names), their
versions and aliases, each interesting version's run (latest metric values) and
the serving version's metric history (the trend). Finished runs never change,
so their runs and histories are cached; a poll of an unchanged registry costs
one request per model plus one per model for its versions.

Promote and rollback move the serving alias (`registered-models/alias`) and keep
what rollback needs as registered-model tags, so any opsdash can roll back:

    opsdash.previous.<alias>  the version the alias pointed at before
    opsdash.set.<alias>       the version opsdash moved it to
    opsdash.changed.<alias>   when (ISO 8601, UTC)

If the alias no longer points at `opsdash.set.<alias>`, someone moved it outside
opsdash; rollback then refuses rather than guess.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

from opsdash.model.ml import (
    AliasChange,
    AliasPlan,
    MetricPoint,
    ModelRow,
    ModelsSnapshot,
    ModelVersion,
    threshold_state,
)
from opsdash.sources.base import (
    DEFAULT_REMOTE_REFRESH,
    DEFAULT_TIMEOUT,
    Detection,
    Source,
    SourceError,
)
from opsdash.sources.http import HttpClient, HttpError, run_sync, shape_error
from opsdash.sources.settings import Invalid, ca_bundle, http_url, option

# progress(step, detail), called before each step of an alias move (an action's journal)
Progress = Callable[[str, str], None]

T = TypeVar("T")
API = "/api/2.0/mlflow"
FINISHED_RUNS = frozenset({"FINISHED", "FAILED", "KILLED"})
TAG_PREVIOUS = "opsdash.previous."
TAG_SET = "opsdash.set."
TAG_CHANGED = "opsdash.changed."


def _ms(value: Any) -> datetime | None:
    """MLflow's epoch milliseconds (int or string) as an aware datetime."""
    if value in (None, "", 0, "0"):
        return None
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _iso(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _pairs(items: Any) -> dict[str, str]:
    """MLflow's `[{key, value}]` tags as a dict."""
    return {str(t["key"]): str(t.get("value", "")) for t in items or ()}


def _number(version: str) -> int:
    try:
        return int(version)
    except ValueError:
        return -1


def _quote(name: str) -> str:
    """A model name as a string literal of MLflow's search filter."""
    return f'"{name}"' if "'" in name else f"'{name}'"


def normalize_version(version: object) -> str:
    """ "3", 3 and "v3" all mean version 3."""
    text = str(version).strip()
    if text[:1] in ("v", "V") and text[1:].isdigit():
        text = text[1:]
    if not text.isdigit():
        raise SourceError(f"{version!r} is not a model version number")
    return str(int(text))


def thin(points: list[MetricPoint], limit: int) -> tuple[MetricPoint, ...]:
    """At most `limit` points spread evenly over the series, keeping first and last."""
    if len(points) <= limit:
        return tuple(points)
    if limit < 2:
        return tuple(points[-limit:]) if limit > 0 else ()
    last = len(points) - 1
    picks = sorted({round(i * last / (limit - 1)) for i in range(limit)})
    return tuple(points[i] for i in picks)


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
    ca_bundle: str = option(
        "", doc="PEM file of CAs to trust instead of the system ones", check=ca_bundle
    )
    read_only: bool = option(False, doc="refuse P and u on this registry")
    refresh: float = option(DEFAULT_REMOTE_REFRESH, doc="seconds between polls")
    timeout: float = option(DEFAULT_TIMEOUT, doc="seconds one request may take")


class MlflowSource(Source):
    kind: ClassVar[str] = "mlflow"
    feeds = ModelsSnapshot
    config_class = MlflowConfig
    setup_hint = "set MLFLOW_TRACKING_URI"
    PAGE_SIZE: ClassVar[int] = 100  # registered models / versions per page
    MAX_MODELS: ClassVar[int] = 500
    MAX_VERSIONS: ClassVar[int] = 200  # newest versions read per model
    DETAIL_VERSIONS: ClassVar[int] = 10  # newest versions whose runs are read (plus aliased ones)
    TREND_POINTS: ClassVar[int] = 120
    CONCURRENCY: ClassVar[int] = 6

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
        super().__init__(config.name, config.refresh, config.timeout)
        self.config = config
        self.read_only = config.read_only
        headers = {"Authorization": f"Bearer {config.token}"} if config.token else {}
        auth = (config.user, config.password) if config.user else None
        self.client = client or HttpClient(
            config.url,
            headers=headers,
            auth=auth,
            ca_bundle=config.ca_bundle,
            timeout=config.timeout,
            secrets=(config.token, config.password),
        )
        self._warning = dict(config.warning)
        self._breach = dict(config.breach)
        self._lower = frozenset(config.lower_is_better)
        # Finished runs never change: run_id -> run, (run_id, metric) -> history.
        self._runs: dict[str, dict[str, Any]] = {}
        self._histories: dict[tuple[str, str], tuple[MetricPoint, ...]] = {}
        self._limit: asyncio.Semaphore | None = None
        self._models_seen = 0

    # --- the bridge ---------------------------------------------------------------

    def _sync(self, coro: Coroutine[Any, Any, T]) -> T:
        return run_sync(coro, self.client.deadline * 4)

    def poll(self) -> ModelsSnapshot:
        return self._sync(self.fetch())

    def health_note(self) -> str:
        quota = str(self.client.quota)
        models = f"{self._models_seen} models" if self._models_seen != 1 else "1 model"
        return f"{models}, {quota}" if quota else models

    def close(self) -> None:
        self.client.close()

    # --- requests -----------------------------------------------------------------

    @contextlib.contextmanager
    def _shape(self, method: str, path: str) -> Iterator[None]:
        """Turn a body that is not shaped as documented into one clear line."""
        try:
            yield
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            raise shape_error(method, f"{self.client.base_url}{API}/{path}", exc) from None

    def _object(self, method: str, path: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            what = "an empty body" if body is None else f"JSON {type(body).__name__}"
            raise HttpError(f"{method} {API}/{path}: malformed response: {what}, not an object")
        return body

    async def _limited(self, awaitable: Awaitable[T]) -> T:
        if self._limit is None:
            self._limit = asyncio.Semaphore(self.CONCURRENCY)
        async with self._limit:
            return await awaitable

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        body = await self._limited(self.client.get_json(f"{API}/{path}", params))
        return self._object("GET", path, body)

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.client.request("POST", f"{API}/{path}", json_body=body)
        decoded = self.client.decode(response, "POST", f"{API}/{path}")
        return self._object("POST", path, {} if decoded is None else decoded)

    async def _pages(
        self, path: str, params: dict[str, Any], key: str, limit: int
    ) -> list[dict[str, Any]]:
        """Follow MLflow's `next_page_token` until `limit` items are read."""
        items: list[dict[str, Any]] = []
        token = ""
        while len(items) < limit:
            page_params = {**params, "max_results": min(self.PAGE_SIZE, limit - len(items))}
            if token:
                page_params["page_token"] = token
            body = await self._get(path, page_params)
            with self._shape("GET", path):
                page = body.get(key, [])
                if not isinstance(page, list) or not all(isinstance(i, dict) for i in page):
                    raise TypeError(f"{key} is not a list of objects")
                token = str(body.get("next_page_token") or "")
            items.extend(page)
            if not page or not token:
                break
        return items[:limit]

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

    async def _versions(self, model: dict[str, Any]) -> list[dict[str, Any]]:
        name = str(model["name"])
        versions = await self._pages(
            "model-versions/search",
            {"filter": f"name={_quote(name)}", "order_by": "version_number DESC"},
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
        for version in sorted(missing, key=_number):
            body = await self._get("model-versions/get", {"name": name, "version": version})
            with self._shape("GET", "model-versions/get"):
                extra = body["model_version"]
                extra["version"] = str(extra["version"])
            versions.append(extra)
        versions.sort(key=lambda v: _number(v["version"]), reverse=True)
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
            run = body["run"]
            info = run.get("info") or {}
            metrics: dict[str, tuple[float, int]] = {}
            for m in (run.get("data") or {}).get("metrics") or ():
                metrics[str(m["key"])] = (float(m["value"]), int(m.get("step") or 0))
            parsed = {
                "run_name": str(info.get("run_name") or ""),
                "status": str(info.get("status") or ""),
                "metrics": {k: v for k, (v, _step) in metrics.items()},
            }
        if parsed["status"] in FINISHED_RUNS:
            self._runs[run_id] = parsed
        return parsed

    async def _history(self, run_id: str, metric: str, finished: bool) -> tuple[MetricPoint, ...]:
        cached = self._histories.get((run_id, metric))
        if cached is not None:
            return cached
        body = await self._get("metrics/get-history", {"run_id": run_id, "metric_key": metric})
        with self._shape("GET", "metrics/get-history"):
            points = [
                MetricPoint(
                    _ms(m.get("timestamp")),
                    float(m["value"]),
                    int(m["step"]) if m.get("step") is not None else None,
                )
                for m in body.get("metrics") or ()
            ]
        points.sort(key=lambda p: (p.step or 0, p.at or datetime.min.replace(tzinfo=UTC)))
        trend = thin(points, self.TREND_POINTS)
        if finished:
            self._histories[(run_id, metric)] = trend
        return trend

    def _version_record(
        self, model: str, raw: dict[str, Any], aliases: dict[str, list[str]], run: dict | None
    ) -> ModelVersion:
        version = raw["version"]
        run_metrics = (run or {}).get("metrics", {})
        return ModelVersion(
            model=model,
            version=version,
            aliases=tuple(sorted(aliases.get(version, ()))),
            stage=str(raw.get("current_stage") or ""),
            status=str(raw.get("status") or ""),
            tags=tuple(sorted(_pairs(raw.get("tags")).items())),
            created=_ms(raw.get("creation_timestamp")),
            updated=_ms(raw.get("last_updated_timestamp")),
            run_id=str(raw.get("run_id") or ""),
            run_name=(run or {}).get("run_name", ""),
            run_status=(run or {}).get("status", ""),
            source=str(raw.get("source") or ""),
            metrics=tuple((m, run_metrics[m]) for m in self.config.metrics if m in run_metrics),
            description=str(raw.get("description") or ""),
            user=str(raw.get("user_id") or ""),
        )

    async def _model(
        self, model: dict[str, Any], notes: list[str]
    ) -> tuple[list[ModelVersion], list[ModelRow]]:
        with self._shape("GET", "registered-models/get"):
            name = str(model["name"])
            alias_of = {str(a["alias"]): str(a["version"]) for a in model.get("aliases") or ()}
            tags = _pairs(model.get("tags"))
        raw_versions = await self._versions(model)
        aliases: dict[str, list[str]] = {}
        for alias, version in alias_of.items():
            aliases.setdefault(version, []).append(alias)

        cfg = self.config
        serving = alias_of.get(cfg.alias, "")
        if not serving and raw_versions:
            serving = raw_versions[0]["version"]
        challenger = alias_of.get(cfg.challenger, "")

        detail = {v["version"] for v in raw_versions[: self.DETAIL_VERSIONS]}
        detail |= set(alias_of.values())
        wanted = [v for v in raw_versions if v["version"] in detail and v.get("run_id")]
        runs = await asyncio.gather(*(self._run(str(v["run_id"]), notes) for v in wanted))
        run_of = {v["version"]: run for v, run in zip(wanted, runs, strict=True)}
        with self._shape("GET", "model-versions/search"):
            versions = [
                self._version_record(name, v, aliases, run_of.get(v["version"]))
                for v in raw_versions
            ]
        by_version = {v.version: v for v in versions}
        serving_v = by_version.get(serving)
        challenger_v = by_version.get(challenger)

        trends: dict[str, tuple[MetricPoint, ...]] = {}
        if serving_v is not None and serving_v.run_id and serving_v.run_status:
            finished = serving_v.run_status in FINISHED_RUNS
            histories = await asyncio.gather(
                *(self._history(serving_v.run_id, m, finished) for m in cfg.metrics)
            )
            trends = dict(zip(cfg.metrics, histories, strict=True))

        changed_at, previous = self._recorded(tags, cfg.alias, serving)
        if changed_at is None and serving_v is not None:
            changed_at = serving_v.updated
        rows = []
        for metric in cfg.metrics:
            lower = metric in self._lower
            value = serving_v.metric(metric) if serving_v else None
            note = ""
            if not raw_versions:
                note = "no versions registered"
            elif serving_v is not None and serving_v.run_id and not serving_v.run_status:
                note = f"run of v{serving} not readable"
            elif serving_v is not None and value is None:
                note = f"v{serving} logged no {metric}"
            elif cfg.alias not in alias_of:
                note = f"no {cfg.alias} alias: newest version shown"
            rows.append(
                ModelRow(
                    source=self.label,
                    kind=self.kind,
                    model=name,
                    metric=metric,
                    version=serving,
                    value=value,
                    direction="lower" if lower else "higher",
                    state=threshold_state(
                        value, self._warning.get(metric), self._breach.get(metric), not lower
                    ),
                    warning=self._warning.get(metric),
                    breach=self._breach.get(metric),
                    trend=trends.get(metric, ()),
                    alias=cfg.alias if cfg.alias in alias_of else "",
                    challenger_alias=cfg.challenger if challenger else "",
                    challenger_version=challenger,
                    challenger_value=challenger_v.metric(metric) if challenger_v else None,
                    serving_changed_at=changed_at,
                    previous_version=previous,
                    run_id=serving_v.run_id if serving_v else "",
                    note=note,
                )
            )
        return versions, rows

    @staticmethod
    def _recorded(tags: dict[str, str], alias: str, current: str) -> tuple[datetime | None, str]:
        """(when opsdash moved `alias`, the version before) if the alias is still where
        opsdash put it; (None, "") when it was moved elsewhere or never by opsdash."""
        set_to = tags.get(TAG_SET + alias, "")
        if set_to and set_to != current:
            return None, ""
        return _iso(tags.get(TAG_CHANGED + alias, "")), tags.get(TAG_PREVIOUS + alias, "")

    async def fetch(self) -> ModelsSnapshot:
        notes: list[str] = []
        models = await self._registered_models(notes)
        results = await asyncio.gather(*(self._model(m, notes) for m in models))
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

    # --- acting -------------------------------------------------------------------

    def _writable(self) -> None:
        if self.read_only:
            raise SourceError(f"{self.label} is read-only: aliases are not moved")

    async def _model_state(self, model: str) -> tuple[dict[str, str], dict[str, str]]:
        """(alias -> version, tags) of a registered model."""
        try:
            body = await self._get("registered-models/get", {"name": model})
        except HttpError as exc:
            if exc.status == 404:
                raise SourceError(f"registered model {model!r} not found") from None
            raise
        with self._shape("GET", "registered-models/get"):
            raw = body["registered_model"]
            aliases = {str(a["alias"]): str(a["version"]) for a in raw.get("aliases") or ()}
            return aliases, _pairs(raw.get("tags"))

    async def _version_metrics(
        self, model: str, version: str
    ) -> tuple[dict[str, Any], tuple[tuple[str, float], ...]]:
        """The model version (404 -> SourceError) and the configured metrics of its run."""
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
        return raw, tuple((m, values[m]) for m in self.config.metrics if m in values)

    async def _plan(self, action: str, model: str, version: object | None, alias: str | None):
        alias = alias or self.config.alias
        aliases, tags = await self._model_state(model)
        old = aliases.get(alias, "")
        set_to = tags.get(TAG_SET + alias, "")
        changed = _iso(tags.get(TAG_CHANGED + alias, "")) if set_to == old else None
        if action == "rollback":
            previous = tags.get(TAG_PREVIOUS + alias, "")
            if set_to and set_to != old:
                where = f"v{old}" if old else "nowhere"
                raise SourceError(
                    f"{model}: {alias} points at {where} but opsdash last set v{set_to}"
                    " (moved outside opsdash): promote a version instead"
                )
            if not previous:
                raise SourceError(
                    f"{model}: no earlier {alias} version recorded by opsdash to roll back to"
                )
            new = previous
        else:
            new = normalize_version(version)
        old_metrics: tuple[tuple[str, float], ...] = ()
        if old:
            with contextlib.suppress(SourceError):
                _raw, old_metrics = await self._version_metrics(model, old)
        raw, new_metrics = await self._version_metrics(model, new)
        status = str(raw.get("status") or "")
        warning = ""
        if status and status != "READY":
            warning = f"v{new} is {status}, not READY"
        elif new == old:
            warning = f"v{new} already is {alias}"
        return AliasPlan(
            model=model,
            alias=alias,
            action=action,
            old_version=old,
            new_version=new,
            old_metrics=old_metrics,
            new_metrics=new_metrics,
            changed_at=changed,
            warning=warning,
        ), status

    async def _move(self, plan: AliasPlan, status: str, progress: Progress | None) -> AliasChange:
        """Two steps, each announced before it runs (an action's journal): the alias
        moves, then the tags record what it pointed at before."""
        self._writable()
        if plan.noop:
            raise SourceError(f"{plan.model}: v{plan.new_version} already is {plan.alias}")
        if status and status != "READY":
            raise SourceError(f"{plan.model}: v{plan.new_version} is {status}, not READY")
        if progress is not None:
            progress("alias", f"moving {plan.alias} of {plan.model} to v{plan.new_version}")
        await self._post(
            "registered-models/alias",
            {"name": plan.model, "alias": plan.alias, "version": plan.new_version},
        )
        if progress is not None:
            progress("tags", f"recording v{plan.old_version or '(none)'} as the version before")
        try:
            now = await self._record(plan.model, plan.alias, plan.old_version, plan.new_version)
        except SourceError as exc:
            raise SourceError(
                f"{plan.model}: {plan.alias} moved to v{plan.new_version}, but recording the"
                f" previous version failed ({exc}): rollback may not work"
            ) from None
        return AliasChange(
            plan.model, plan.alias, plan.old_version, plan.new_version, now, plan.action
        )

    async def _record(self, model: str, alias: str, old: str, new: str) -> datetime:
        now = datetime.now(UTC).replace(microsecond=0)
        record = {
            TAG_PREVIOUS + alias: old,
            TAG_SET + alias: new,
            TAG_CHANGED + alias: now.isoformat(),
        }
        for key, value in record.items():
            await self._post(
                "registered-models/set-tag", {"name": model, "key": key, "value": value}
            )
        return now

    async def do_finish_move(self, model: str, alias: str, old: str, new: str) -> str:
        """After an opsdash died between moving an alias and recording it: record it
        if the alias still points where that move put it. One line on what was done."""
        self._writable()
        aliases, tags = await self._model_state(model)
        now_at = aliases.get(alias, "")
        if now_at == new and tags.get(TAG_SET + alias) != new:
            await self._record(model, alias, old, new)
            return f"{alias} is at v{new}: recorded v{old or '(none)'} as the version before"
        if now_at == new:
            return f"{alias} is at v{new} and the move is recorded"
        if now_at == old:
            return f"{alias} was not moved (still v{old or '(none)'}): nothing to do"
        return f"{alias} was moved since (now v{now_at or '(none)'}): nothing changed"

    def finish_move(self, model: str, alias: str, old: str, new: str) -> str:
        return self._sync(self.do_finish_move(model, alias, old, new))

    async def do_plan_promote(
        self, model: str, version: object, alias: str | None = None
    ) -> AliasPlan:
        plan, _status = await self._plan("promote", model, version, alias)
        return plan

    async def do_plan_rollback(self, model: str, alias: str | None = None) -> AliasPlan:
        plan, _status = await self._plan("rollback", model, None, alias)
        return plan

    async def do_promote(
        self,
        model: str,
        version: object,
        alias: str | None = None,
        progress: Progress | None = None,
    ) -> AliasChange:
        self._writable()
        plan, status = await self._plan("promote", model, version, alias)
        return await self._move(plan, status, progress)

    async def do_rollback(
        self, model: str, alias: str | None = None, progress: Progress | None = None
    ) -> AliasChange:
        self._writable()
        plan, status = await self._plan("rollback", model, None, alias)
        return await self._move(plan, status, progress)

    def plan_promote(self, model: str, version: object, alias: str | None = None) -> AliasPlan:
        """What promoting `version` of `model` to `alias` (default: the serving alias)
        would change, with both versions' metrics. Raises SourceError if it cannot."""
        return self._sync(self.do_plan_promote(model, version, alias))

    def plan_rollback(self, model: str, alias: str | None = None) -> AliasPlan:
        """What rolling `alias` back would change. Raises SourceError if nothing is
        recorded to roll back to, or the alias was moved outside opsdash."""
        return self._sync(self.do_plan_rollback(model, alias))

    def promote(
        self,
        model: str,
        version: object,
        alias: str | None = None,
        progress: Progress | None = None,
    ) -> AliasChange:
        """Point `alias` (default: the serving alias) at `version`; record the previous one."""
        return self._sync(self.do_promote(model, version, alias, progress))

    def rollback(
        self, model: str, alias: str | None = None, progress: Progress | None = None
    ) -> AliasChange:
        """Point `alias` back at the version opsdash recorded before the last move."""
        return self._sync(self.do_rollback(model, alias, progress))
