"""Deployments: the DORA key cells, the deployments panel and the service timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.text import Text

from opsdash.formatting import age, human_duration
from opsdash.safetext import literal
from opsdash.views.common import Column, search_text, short

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


VERSION_WIDTH = 24  # the most of a version the LAST DEPLOY cell shows


def short_version(version: str, width: int = VERSION_WIDTH) -> str:
    """What a cell shows of a deployed version, keeping the part that tells
    versions apart: a commit or revision by its first 12 characters, a digest by
    its first 12 hex digits, an image reference whole when it fits, else cut on
    the left of its name so the tag stays (`…/busybox:1.36`, never `acc/busybox:`)."""
    name, at, digest = version.partition("@")
    if at:
        digest = digest.partition(":")[2] or digest
        return _keep_end(f"{name}@{digest[:12]}" if name else digest[:12], width)
    if version.startswith("sha256:"):
        return version.removeprefix("sha256:")[:12]
    if not any(mark in version for mark in ":/"):
        return version[:12]  # a commit or revision label
    return _keep_end(version, width)


def _keep_end(ref: str, width: int) -> str:
    """`ref` cut on the left to `width`; a tag longer than that is cut in its middle."""
    if len(ref) <= width:
        return ref
    name, colon, tag = ref.rpartition(":")
    if not colon or "/" in tag:
        name, tag = ref, ""  # no tag (the colon was a registry's port)
    tail = colon + tag if tag else ""
    if len(tail) > width - 4:  # too long a tag: its start and its end
        half = (width - 1) // 2
        return ref[:half] + "…" + ref[-(width - 1 - half) :]
    return "…" + name[-(width - 1 - len(tail)) :] + tail


def last_deploy_cell(row, now: datetime) -> Text:
    deploy = row.last_deploy
    if deploy is None:
        return Text("never", style="dim")
    text = literal(f"{age(deploy.at, now)} ago {short_version(deploy.version)}")
    style = "green" if deploy.result == "success" else "red"
    text.append_text(literal(f" {deploy.result}", style))
    return text


def _last_deploy_search(row) -> str:
    """The whole version (the cell shows a short form) and the result."""
    deploy = row.last_deploy
    return f"{deploy.version} {deploy.result}" if deploy else ""


def _service_name(row) -> Text:
    text = literal(row.service, "bold italic" if row.overall else "bold")
    kinds = "+".join(row.kinds)
    text.append(f" {kinds}", style="dim")
    return text


DEPLOYMENT_COLUMNS: list[Column[Any]] = [
    Column(
        "service",
        "SERVICE",
        lambda r, _: _service_name(r),
        lambda r: (not r.overall, r.service),
        search=lambda r: " ".join((r.service, *r.kinds)),
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
        search=_last_deploy_search,
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


deployment_search_text = search_text(DEPLOYMENT_COLUMNS)


TIMELINE_STYLE = {
    "deploy": "green",
    "rollback": "yellow bold",
    "trouble": "red bold",
    "recovered": "green",
    "pipeline": "cyan",
    "registered": "magenta",
    "alias move": "green",
    "metric": "bold",
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
        search=lambda e: e.what,
    ),
    Column(
        "detail",
        "DETAIL",
        lambda e, _: literal(short(e.detail, 60)),
        lambda e: e.detail,
        search=lambda e: e.detail,
    ),
    Column(
        "result",
        "RESULT",
        lambda e, _: literal(e.result, "red" if e.result.startswith("failed") else ""),
        lambda e: e.result,
        search=lambda e: e.result,
    ),
    Column(
        "source",
        "SOURCE",
        lambda e, _: literal(e.source, "dim"),
        lambda e: e.source,
        search=lambda e: e.source,
    ),
]


timeline_search_text = search_text(TIMELINE_COLUMNS)
