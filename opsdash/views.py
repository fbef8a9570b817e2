"""Turn model records into table columns and cells.

Shared by the TUI tables and `opsdash snapshot`, so both show the same thing.
Rich only (no Textual); every untrusted value goes through `literal()`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from rich.table import Table
from rich.text import Text

from opsdash.formatting import age, human_bytes, human_duration, metric_value, percent, sparkline
from opsdash.model import (
    Container,
    HealthState,
    PipelineJob,
    PipelineRun,
    RunStatus,
    Service,
    SourceHealth,
)
from opsdash.model.ml import ModelRow, ModelVersion, ThresholdState
from opsdash.safetext import literal
from opsdash.store import AuditEntry

T = TypeVar("T")

STATE_STYLE = {
    "running": "green",
    "restarting": "yellow",
    "paused": "yellow",
    "created": "cyan",
    "exited": "red",
    "dead": "red bold",
    "removing": "yellow",
}
HEALTH_STYLE = {"healthy": "green", "unhealthy": "red bold", "starting": "yellow"}
SOURCE_STYLE = {
    HealthState.OK: "green",
    HealthState.PENDING: "cyan",
    HealthState.STALE: "yellow",
    HealthState.ERROR: "red bold",
}


@dataclass(frozen=True)
class Column(Generic[T]):
    key: str
    label: str
    render: Callable[[T, datetime], Text]
    sort_key: Callable[[T], Any]
    width: int | None = None


NAME_WIDTH = 32  # long names (Swarm tasks: api.1.<25-char id>) would push every column away


def _short(value: str, width: int) -> str:
    return value if len(value) <= width else value[: width - 1] + "…"


def container_uptime(c: Container, now: datetime) -> str:
    if c.running and c.started_at:
        return "up " + age(c.started_at, now)
    if c.state in ("exited", "dead"):
        code = "?" if c.exit_code is None else str(c.exit_code)
        ago = f" {age(c.finished_at, now)} ago" if c.finished_at else ""
        return f"exit {code}{ago}"
    return c.state


def _memory(c: Container) -> str:
    if c.memory_used is None:
        return "-"
    return human_bytes(c.memory_used)


def _ports(c: Container) -> str:
    return ", ".join(str(p) for p in c.ports)


def _uptime_sort(c: Container) -> tuple[int, float]:
    if c.running and c.started_at:
        return (0, -c.started_at.timestamp())
    return (1, 0.0)


CONTAINER_COLUMNS: list[Column[Container]] = [
    Column(
        "name",
        "NAME",
        lambda c, _: literal(_short(c.name, NAME_WIDTH), "bold"),
        lambda c: c.name.lower(),
    ),
    Column("host", "HOST", lambda c, _: literal(c.host), lambda c: c.host),
    Column(
        "state",
        "STATE",
        lambda c, _: literal(c.state, STATE_STYLE.get(c.state, "")),
        lambda c: (c.state != "running", c.state),
    ),
    Column(
        "health",
        "HEALTH",
        lambda c, _: literal(c.health or "-", HEALTH_STYLE.get(c.health, "dim")),
        lambda c: (c.health != "unhealthy", c.health),
    ),
    Column(
        "cpu",
        "CPU",
        lambda c, _: Text(percent(c.cpu_percent), justify="right"),
        lambda c: -(c.cpu_percent or 0.0),
    ),
    Column(
        "mem",
        "MEM",
        lambda c, _: Text(_memory(c), justify="right"),
        lambda c: -(c.memory_used or 0),
    ),
    Column("uptime", "UPTIME", lambda c, now: literal(container_uptime(c, now)), _uptime_sort),
    Column(
        "restarts",
        "RESTARTS",
        lambda c, _: Text(str(c.restart_count), justify="right"),
        lambda c: -c.restart_count,
    ),
    Column(
        "image",
        "IMAGE",
        lambda c, _: literal(_short(c.image, NAME_WIDTH)),
        lambda c: c.image.lower(),
    ),
    Column("ports", "PORTS", lambda c, _: literal(_ports(c)), _ports),
    Column(
        "project",
        "PROJECT",
        lambda c, _: literal(
            f"{c.compose_project}/{c.compose_service}" if c.compose_project else ""
        ),
        lambda c: (c.compose_project, c.compose_service),
    ),
]

SERVICE_COLUMNS: list[Column[Service]] = [
    Column("name", "SERVICE", lambda s, _: literal(s.name, "bold"), lambda s: s.name.lower()),
    Column("host", "HOST", lambda s, _: literal(s.host), lambda s: s.host),
    Column(
        "replicas",
        "REPLICAS",
        lambda s, _: literal(
            f"{s.replicas_running}/{'-' if s.replicas_desired is None else s.replicas_desired}",
            "green" if s.replicas_running == s.replicas_desired else "yellow",
        ),
        lambda s: (s.replicas_running - (s.replicas_desired or 0), s.name),
    ),
    Column("mode", "MODE", lambda s, _: literal(s.mode), lambda s: s.mode),
    Column("image", "IMAGE", lambda s, _: literal(s.image), lambda s: s.image.lower()),
    Column(
        "update",
        "UPDATE",
        lambda s, _: literal(
            s.update_state or "-", "yellow" if s.update_state == "updating" else ""
        ),
        lambda s: s.update_state,
    ),
    Column(
        "updated",
        "UPDATED",
        lambda s, now: literal(age(s.updated, now) + " ago" if s.updated else "-"),
        lambda s: -(s.updated.timestamp() if s.updated else 0),
    ),
]


# Icon + word + colour: the word alone carries the meaning (NO_COLOR, screen readers).
RUN_STATUS_LOOK = {
    RunStatus.QUEUED: ("◌", "cyan"),
    RunStatus.RUNNING: ("●", "yellow bold"),
    RunStatus.SUCCESS: ("✓", "green"),
    RunStatus.FAILED: ("✗", "red bold"),
    RunStatus.CANCELLED: ("⊘", "magenta"),
    RunStatus.SKIPPED: ("-", "dim"),
}


def badge(looks: dict, state: enum.Enum) -> Text:
    """`✓ success`: icon and word in the state's style."""
    icon, style = looks[state]
    return Text(f"{icon} {state.value}", style=style)


def run_status(status: RunStatus) -> Text:
    return badge(RUN_STATUS_LOOK, status)


def _started(run: PipelineRun) -> datetime | None:
    return run.started or run.created


def _run_title(run: PipelineRun) -> str:
    return run.message or run.event or ""


RUN_COLUMNS: list[Column[PipelineRun]] = [
    Column(
        "status",
        "STATUS",
        lambda r, _: run_status(r.status),
        lambda r: (r.status.finished, r.status.value),
    ),
    Column(
        "pipeline",
        "PIPELINE",
        lambda r, _: literal(_short(r.pipeline, 24), "bold"),
        lambda r: r.pipeline.lower(),
    ),
    Column(
        "number",
        "#",
        lambda r, _: Text("" if r.number is None else str(r.number), justify="right"),
        lambda r: -(r.number or 0),
    ),
    Column("branch", "BRANCH", lambda r, _: literal(_short(r.branch, 20)), lambda r: r.branch),
    Column(
        "started",
        "STARTED",
        lambda r, now: literal(age(_started(r), now) + " ago" if _started(r) else "-"),
        lambda r: -(_started(r).timestamp() if _started(r) else float("inf")),  # type: ignore[union-attr]
    ),
    Column(
        "duration",
        "TOOK",
        lambda r, now: Text(human_duration(r.duration_s(now)), justify="right"),
        lambda r: -(r.duration_s() or 0.0),
    ),
    Column(
        "commit",
        "COMMIT",
        lambda r, _: literal(_short(_run_title(r), 40)),
        lambda r: _run_title(r).lower(),
    ),
    Column("actor", "BY", lambda r, _: literal(_short(r.actor, 16)), lambda r: r.actor.lower()),
    Column(
        "source",
        "SOURCE",
        lambda r, _: literal(_short(f"{r.provider}:{r.project}", 28), "dim"),
        lambda r: (r.provider, r.project),
    ),
]

JOB_COLUMNS: list[Column[PipelineJob]] = [
    Column(
        "status",
        "STATUS",
        lambda j, _: run_status(j.status),
        lambda j: (j.status.finished, j.status.value),
    ),
    Column("stage", "STAGE", lambda j, _: literal(j.stage or "-"), lambda j: j.stage),
    Column("name", "JOB", lambda j, _: literal(j.name, "bold"), lambda j: j.name.lower()),
    Column(
        "duration",
        "TOOK",
        lambda j, now: Text(human_duration(j.duration_s(now)), justify="right"),
        lambda j: -(j.duration_s() or 0.0),
    ),
    Column(
        "vendor",
        "AS REPORTED",
        lambda j, _: literal(j.vendor_status, "dim"),
        lambda j: j.vendor_status,
    ),
]


def run_search_text(r: PipelineRun) -> str:
    return " ".join(
        (
            r.status.value,
            r.vendor_status,
            r.pipeline,
            r.project,
            r.provider,
            r.branch,
            r.sha[:12],
            r.message,
            r.actor,
            r.event,
            "" if r.number is None else f"#{r.number}",
        )
    ).lower()


def job_search_text(j: PipelineJob) -> str:
    return " ".join((j.status.value, j.vendor_status, j.stage, j.name)).lower()


THRESHOLD_LOOK = {
    ThresholdState.OK: ("✓", "green"),
    ThresholdState.WARNING: ("▲", "yellow bold"),
    ThresholdState.BREACH: ("✗", "red bold reverse"),
    ThresholdState.UNKNOWN: ("?", "dim"),
}


def threshold_text(state: ThresholdState) -> Text:
    return badge(THRESHOLD_LOOK, state)


def _serving(row: ModelRow) -> Text:
    text = literal(f"v{row.version}" if row.version else "-", "bold")
    if row.alias:
        text.append_text(literal(f" {row.alias}", "dim"))
    return text


def _challenger(row: ModelRow) -> Text:
    if not row.challenger_version:
        return Text("-", style="dim")
    text = literal(f"v{row.challenger_version} ")
    text.append(metric_value(row.challenger_value))
    return text


def _difference(row: ModelRow) -> Text:
    diff = row.difference
    if diff is None:
        return Text("")
    better = row.challenger_better
    style = "green" if better else "red" if better is False and diff != 0 else "dim"
    word = "better" if better else "worse" if better is False and diff != 0 else "same"
    return Text(f"{diff:+.3g} {word}", style=style)


def _threshold_hint(row: ModelRow) -> str:
    sign = "<" if row.higher_is_better else ">"
    if row.breach is not None:
        return f"breach {sign} {row.breach:g}"
    if row.warning is not None:
        return f"warn {sign} {row.warning:g}"
    return ""


_STATE_ORDER = {
    ThresholdState.BREACH: 0,
    ThresholdState.WARNING: 1,
    ThresholdState.UNKNOWN: 2,
    ThresholdState.OK: 3,
}


def _model_state(row: ModelRow) -> Text:
    """The threshold word, and `stale` while the row's source fails (last good value)."""
    text = threshold_text(row.state)
    return Text.assemble(text, (" stale", "yellow")) if row.stale else text


MODEL_COLUMNS: list[Column[ModelRow]] = [
    Column("state", "STATE", lambda m, _: _model_state(m), lambda m: _STATE_ORDER[m.state]),
    Column(
        "model",
        "MODEL",
        lambda m, _: literal(_short(m.model, 24), "bold"),
        lambda m: m.model.lower(),
    ),
    Column("metric", "METRIC", lambda m, _: literal(m.metric), lambda m: m.metric),
    Column("serving", "SERVING", lambda m, _: _serving(m), lambda m: m.version),
    Column(
        "value",
        "VALUE",
        lambda m, _: Text(metric_value(m.value), justify="right", style="bold"),
        lambda m: -(m.value or 0.0),
    ),
    Column(
        "trend",
        "TREND",
        lambda m, _: Text(sparkline([p.value for p in m.trend]), style="cyan"),
        lambda m: len(m.trend),
    ),
    Column("challenger", "CHALLENGER", lambda m, _: _challenger(m), lambda m: m.challenger_version),
    Column("diff", "DIFF", lambda m, _: _difference(m), lambda m: m.difference or 0.0),
    Column("limit", "LIMIT", lambda m, _: Text(_threshold_hint(m), style="dim"), _threshold_hint),
    Column(
        "changed",
        "SERVING SINCE",
        lambda m, now: literal(
            age(m.serving_changed_at, now) + " ago" if m.serving_changed_at else "-"
        ),
        lambda m: -(m.serving_changed_at.timestamp() if m.serving_changed_at else 0),
    ),
    Column(
        "source",
        "SOURCE",
        lambda m, _: literal(m.source, "dim"),
        lambda m: m.source,
    ),
]


def model_search_text(m: ModelRow) -> str:
    labels = " ".join(f"{k}={v}" for k, v in m.labels)
    return " ".join(
        (m.state.value, m.model, m.metric, m.version, m.alias, m.source, labels)
    ).lower()


def version_columns(metrics: tuple[str, ...]) -> list[Column[ModelVersion]]:
    """The model screen's version table: fixed facts, then one column per metric."""
    columns: list[Column[ModelVersion]] = [
        Column(
            "version",
            "VERSION",
            lambda v, _: literal(f"v{v.version}", "bold"),
            lambda v: -int(v.version) if v.version.isdigit() else 0,
        ),
        Column(
            "aliases",
            "ALIASES",
            lambda v, _: literal(", ".join(v.aliases), "cyan"),
            lambda v: v.aliases,
        ),
        Column(
            "stage",
            "STAGE",
            lambda v, _: literal(v.stage if v.stage not in ("", "None") else "-"),
            lambda v: v.stage,
        ),
        Column("status", "STATUS", lambda v, _: literal(v.status or "-"), lambda v: v.status),
    ]
    for name in metrics:
        columns.append(
            Column(
                f"metric:{name}",
                name.upper(),
                lambda v, _, n=name: Text(metric_value(v.metric(n)), justify="right"),
                lambda v, n=name: -(v.metric(n) or 0.0),
            )
        )
    columns += [
        Column(
            "created",
            "CREATED",
            lambda v, now: literal(age(v.created, now) + " ago" if v.created else "-"),
            lambda v: -(v.created.timestamp() if v.created else 0),
        ),
        Column(
            "run",
            "RUN",
            lambda v, _: literal(_short(v.run_name or v.run_id[:8], 24)),
            lambda v: v.run_name,
        ),
    ]
    return columns


# --- deployments (DORA keys) ----------------------------------------------------

LEVEL_STYLE = {
    "elite": "green bold",
    "high": "green",
    "medium": "yellow",
    "low": "red",
    "no data": "dim",
}
DAY_BARS = "▁▂▃▄▅▆▇█"


def day_bars(counts: list[int]) -> Text:
    """One character per day: `·` for none, then bars scaled to the busiest day."""
    top = max(counts, default=0)
    text = Text()
    for count in counts:
        if count == 0:
            text.append("·", style="dim")
        else:
            index = round((count / top) * (len(DAY_BARS) - 1)) if top > 1 else 0
            text.append(DAY_BARS[max(index, 1 if count > 1 else 0)], style="cyan")
    return text


def trend_mark(current: float | None, previous: float | None, higher_is_better: bool) -> Text:
    """↑ better than the previous period, ↓ worse, = the same; nothing to compare: blank."""
    if current is None or previous is None:
        return Text("")
    if abs(current - previous) < 1e-9:
        return Text(" =", style="dim")
    better = current > previous if higher_is_better else current < previous
    return Text(" ↑", style="green") if better else Text(" ↓", style="red")


def level_text(value: str, level: str) -> Text:
    text = Text(value)
    text.append(f" {level}", style=LEVEL_STYLE.get(level, ""))
    return text


def _seconds(value) -> float | None:
    return None if value is None else value.total_seconds()


def frequency_cell(report) -> Text:
    current, previous = report.current.frequency, report.previous.frequency
    if current.deploys == 0:
        return level_text("0", current.level)
    rate = f"{current.per_day:.1f}/day" if current.per_day >= 1 else f"{current.per_week:.1f}/wk"
    text = level_text(rate, current.level)
    text.append_text(
        trend_mark(current.per_day, previous.per_day if previous.deploys else None, True)
    )
    return text


def lead_cell(report) -> Text:
    current, previous = report.current, report.previous
    text = level_text(human_duration(_seconds(current.lead_time)), current.lead_time_level)
    text.append_text(trend_mark(_seconds(current.lead_time), _seconds(previous.lead_time), False))
    return text


def cfr_cell(report) -> Text:
    current, previous = report.current, report.previous
    rate = current.change_failure_rate
    text = level_text("-" if rate is None else f"{rate:.0%}", current.cfr_level)
    text.append_text(trend_mark(rate, previous.change_failure_rate, False))
    return text


def recovery_cell(report) -> Text:
    current, previous = report.current, report.previous
    text = level_text(human_duration(_seconds(current.recovery_time)), current.recovery_level)
    if current.ongoing:
        text.append(f" {current.ongoing} open", style="red")
    text.append_text(
        trend_mark(_seconds(current.recovery_time), _seconds(previous.recovery_time), False)
    )
    return text


def last_deploy_cell(row, now: datetime) -> Text:
    deploy = row.last_deploy
    if deploy is None:
        return Text("never", style="dim")
    text = literal(f"{age(deploy.at, now)} ago {deploy.version[:12]}")
    style = "green" if deploy.result == "success" else "red"
    text.append_text(literal(f" {deploy.result}", style))
    return text


def _service_name(row) -> Text:
    text = literal(row.service, "bold italic" if row.overall else "bold")
    kinds = "+".join(row.kinds)
    text.append(f" {kinds}", style="dim")
    return text


DEPLOYMENT_COLUMNS: list[Column[Any]] = [
    Column(
        "service", "SERVICE", lambda r, _: _service_name(r), lambda r: (not r.overall, r.service)
    ),
    Column(
        "days",
        "LAST 30 DAYS",
        lambda r, _: day_bars([count for _day, count in r.per_day]),
        lambda r: -sum(count for _day, count in r.per_day),
    ),
    Column(
        "frequency",
        "DEPLOYS",
        lambda r, _: frequency_cell(r.report(30)),
        lambda r: -r.report(30).current.frequency.per_day,
    ),
    Column(
        "lead",
        "LEAD TIME",
        lambda r, _: lead_cell(r.report(30)),
        lambda r: _seconds(r.report(30).current.lead_time) or 0.0,
    ),
    Column(
        "cfr",
        "FAIL RATE",
        lambda r, _: cfr_cell(r.report(30)),
        lambda r: r.report(30).current.change_failure_rate or 0.0,
    ),
    Column(
        "recovery",
        "RECOVERY",
        lambda r, _: recovery_cell(r.report(30)),
        lambda r: _seconds(r.report(30).current.recovery_time) or 0.0,
    ),
    Column(
        "last",
        "LAST DEPLOY",
        last_deploy_cell,
        lambda r: -(r.last_deploy.at.timestamp() if r.last_deploy else 0.0),
    ),
    Column(
        "pending",
        "NOT DEPLOYED",
        lambda r, _: Text(
            "-" if r.undeployed is None else f"{r.undeployed} commits",
            style="yellow" if r.undeployed else "dim",
        ),
        lambda r: -(r.undeployed or 0),
    ),
]


def deployment_search_text(row) -> str:
    last = row.last_deploy
    return " ".join(
        (row.service, *row.kinds, last.version if last else "", last.result if last else "")
    ).lower()


TIMELINE_STYLE = {
    "deploy": "green",
    "rollback": "yellow bold",
    "trouble": "red bold",
    "recovered": "green",
    "pipeline": "cyan",
}

TIMELINE_COLUMNS: list[Column[Any]] = [
    Column(
        "at",
        "WHEN",
        lambda e, now: literal(f"{e.at.astimezone():%Y-%m-%d %H:%M}  {age(e.at, now)} ago"),
        lambda e: -e.at.timestamp(),
    ),
    Column(
        "what",
        "WHAT",
        lambda e, _: Text(e.what, style=TIMELINE_STYLE.get(e.what, "")),
        lambda e: e.what,
    ),
    Column("detail", "DETAIL", lambda e, _: literal(_short(e.detail, 60)), lambda e: e.detail),
    Column(
        "result",
        "RESULT",
        lambda e, _: literal(e.result, "red" if e.result.startswith("failed") else ""),
        lambda e: e.result,
    ),
    Column("source", "SOURCE", lambda e, _: literal(e.source, "dim"), lambda e: e.source),
]


def timeline_search_text(entry) -> str:
    return " ".join((entry.what, entry.detail, entry.result, entry.source)).lower()


def container_search_text(c: Container) -> str:
    """What `/` matches against: every column a user can see, plus labels."""
    labels = " ".join(f"{k}={v}" for k, v in c.labels)
    return " ".join(
        (c.name, c.host, c.image, c.state, c.health, c.compose_project, c.compose_service, labels)
    ).lower()


def service_search_text(s: Service) -> str:
    return " ".join((s.name, s.host, s.image, s.mode, s.update_state)).lower()


def health_badge(health: SourceHealth, now: datetime, refresh: float | None = None) -> Text:
    """`docker:local ok 2s`: the word says the state, colour only repeats it (NO_COLOR)."""
    text = Text()
    text.append(strip_label(health.label))
    text.append(" ")
    text.append(health.state.value, style=SOURCE_STYLE[health.state])
    if health.state is HealthState.OK and health.message:
        text.append(f" {strip_label(health.message)}", style="dim")  # e.g. rate limit left
    if health.last_ok is not None and refresh is not None:
        # Fresh data needs no age; it appears once a poll is late, so an idle
        # screen stays still (no redraw every second).
        seconds = (now - health.last_ok).total_seconds()
        if seconds > refresh + 1:
            text.append(f" {human_duration(seconds)} ago", style="dim")
    if health.state is HealthState.ERROR and health.next_retry is not None:
        wait = max(0.0, (health.next_retry - now).total_seconds())
        text.append(f" retry {human_duration(wait)}", style="dim")
    return text


def strip_label(value: str) -> str:
    return literal(value).plain


def audit_table(entries: list[AuditEntry]) -> Table:
    table = Table(box=None, padding=(0, 1), header_style="bold")
    for column in (
        "WHEN",
        "WHO",
        "ACTION",
        "TARGET",
        "HOST",
        "IMAGE",
        "RESULT",
        "SECONDS",
        "STEPS",
        "ERROR",
    ):
        table.add_column(column, overflow="fold")
    for e in entries:
        image = e.old_image + (
            f" -> {e.new_image}" if e.new_image and e.new_image != e.old_image else ""
        )
        style = (
            "green"
            if e.result == "ok"
            else "yellow"
            if e.result.startswith(("refused", "cancelled"))
            else "red"
        )
        table.add_row(
            literal(e.at.replace("T", " ")[:19]),
            literal(e.actor),
            literal(f"{e.action} {e.kind}"),
            literal(e.target),
            literal(e.host),
            literal(image),
            literal(e.result, style),
            "" if e.duration_s is None else f"{e.duration_s:.1f}",
            literal(_step_names(e)),
            literal(e.error),
        )
    return table


def _step_names(entry: AuditEntry) -> str:
    """The steps each begun, in order, a repeated one once: `lock stop rename ...`."""
    names: list[str] = []
    for _at, step, _detail in entry.steps:
        if not names or names[-1] != step:
            names.append(step)
    return " ".join(names)
