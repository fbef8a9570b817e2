"""The DORA keys: properties over generated event sets, DST and window edges, and one
recorded event set whose every value was worked out by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsdash.dora.failures import change_failure_rate, classify, median_recovery_time
from opsdash.dora.frequency import deployment_frequency, deploys_per_day
from opsdash.dora.keys import compute_keys, per_service, window_dates
from opsdash.dora.lead_time import lead_times, median_lead_time
from opsdash.dora.levels import (
    LEVELS,
    NO_DATA,
    cfr_level,
    frequency_level,
    lead_time_level,
    recovery_level,
)
from opsdash.dora.records import RESULTS, Change, Deploy, HealthIssue

BERLIN = ZoneInfo("Europe/Berlin")
H = timedelta(hours=1)
M = timedelta(minutes=1)
D = timedelta(days=1)
PROPS = settings(deadline=None, database=None, max_examples=150)

# --- generated event sets -------------------------------------------------------

BASE = datetime(2026, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 4, 15, 12, 0, tzinfo=UTC)
SERVICES = ("api", "web", "ranker")
VERSIONS = tuple(f"v{n}" for n in range(8))
# a coarse grid (10 min) over the 105 days before NOW, plus a few fixed instants,
# so deploys in the same second and issues right after a deploy come up often
moments = st.one_of(
    st.integers(0, 105 * 144).map(lambda n: BASE + n * 10 * M),
    st.sampled_from([NOW - 3 * D, NOW - 3 * D + 30 * M, NOW - 40 * D, NOW]),
)
deploys_st = st.builds(
    Deploy,
    service=st.sampled_from(SERVICES),
    at=moments,
    version=st.sampled_from(VERSIONS),
    result=st.sampled_from(RESULTS),
    kind=st.sampled_from(("app", "model")),
    source=st.sampled_from(("", "container-redeploy", "container-rollback", "github:api")),
)
issues_st = st.builds(
    lambda service, start, length: HealthIssue(
        service, start, None if length is None else start + length
    ),
    st.sampled_from(SERVICES),
    moments,
    st.one_of(st.none(), st.integers(0, 72 * 60).map(lambda n: n * M)),
)
changes_st = st.dictionaries(
    st.sampled_from(VERSIONS),
    st.lists(
        st.builds(
            Change,
            sha=st.sampled_from(tuple(f"c{n}" for n in range(12))),
            committed_at=moments,
            service=st.sampled_from(SERVICES),
        ),
        max_size=4,
    ),
    max_size=len(VERSIONS),
)
zones = st.sampled_from(
    (UTC, BERLIN, ZoneInfo("America/New_York"), ZoneInfo("Asia/Kolkata"), timezone(-5 * H))
)
windows = st.sampled_from((7, 30, 90))


def _all_keys(report):
    return [report.current, report.previous]


def _level_rank(level: str) -> int:
    return LEVELS.index(level)


@PROPS
@given(issues=st.lists(issues_st, max_size=5), changes=changes_st, days=windows, tz=zones)
def test_no_deploys_means_no_data(issues, changes, days, tz):
    report = compute_keys([], changes, issues, NOW, days, tz)
    for keys in _all_keys(report):
        assert keys.deploys == 0 and keys.frequency.deploy_days == 0
        assert keys.frequency.per_day == 0.0 and keys.frequency.bucket is None
        assert keys.lead_time is None and keys.change_failure_rate is None
        assert keys.recovery_time is None and keys.failed == keys.ongoing == 0
        assert {
            keys.frequency.level,
            keys.lead_time_level,
            keys.cfr_level,
            keys.recovery_level,
        } == {NO_DATA}
    assert per_service([], changes, issues, NOW, days, tz) == {}
    assert sum(n for _, n in deploys_per_day([], NOW, days, tz)) == 0


@PROPS
@given(
    ago=st.integers(0, 6 * 24 * 60).map(lambda n: n * M),
    commit_before=st.integers(1, 30 * 24 * 60).map(lambda n: n * M),
)
def test_one_good_deploy(ago, commit_before):
    at = NOW - ago
    deploy = Deploy("api", at, "v1")
    changes = {"v1": [Change("c1", at - commit_before, "api")]}
    keys = compute_keys([deploy], changes, [], NOW, 7, UTC).current
    assert keys.deploys == 1 and keys.frequency.deploy_days == 1
    assert keys.frequency.per_day == 1 / 7
    assert keys.lead_time == commit_before and keys.changes == 1
    assert keys.change_failure_rate == 0.0 and keys.cfr_level == "elite"
    assert keys.recovery_time is None and keys.recovery_level == NO_DATA
    assert keys.frequency.level == "high"  # once a week


@PROPS
@given(
    n=st.integers(2, 6),
    results=st.lists(st.sampled_from(RESULTS), min_size=6, max_size=6),
    issue_after=st.integers(0, 59).map(lambda n: n * M),
)
def test_deploys_in_the_same_second(n, results, issue_after):
    at = NOW - 2 * D
    deploys = [Deploy("api", at, f"v{i}", results[i]) for i in range(n)]
    issue = HealthIssue("api", at + issue_after, at + issue_after + H)
    outcomes = classify(deploys, [issue])
    # the issue is blamed on one deploy only: the last in the total order
    assert [o.reason == "health" for o in outcomes].count(True) <= 1
    blamed = [o for o in outcomes if o.failed and o.deploy.result == "success"]
    assert all(o.deploy == outcomes[-1].deploy for o in blamed)
    keys = compute_keys(deploys, {}, [issue], NOW, 7, UTC).current
    assert keys.deploys == n and keys.frequency.deploy_days == 1
    assert keys.failed == sum(o.failed for o in outcomes)


@PROPS
@given(
    deploys=st.lists(deploys_st, max_size=25),
    issues=st.lists(issues_st, max_size=8),
    changes=changes_st,
    days=windows,
    tz=zones,
    data=st.data(),
)
def test_result_does_not_depend_on_input_order(deploys, issues, changes, days, tz, data):
    shuffled_deploys = data.draw(st.permutations(deploys))
    shuffled_issues = data.draw(st.permutations(issues))
    shuffled_changes = {v: data.draw(st.permutations(cs)) for v, cs in reversed(changes.items())}
    assert compute_keys(deploys, changes, issues, NOW, days, tz) == compute_keys(
        shuffled_deploys, shuffled_changes, shuffled_issues, NOW, days, tz
    )
    assert per_service(deploys, changes, issues, NOW, days, tz) == per_service(
        shuffled_deploys, shuffled_changes, shuffled_issues, NOW, days, tz
    )


@PROPS
@given(
    deploys=st.lists(deploys_st, max_size=20),
    issues=st.lists(issues_st, max_size=6),
    changes=changes_st,
    written_in=zones,
    tz=zones,
    other_tz=zones,
)
def test_time_zones(deploys, issues, changes, written_in, tz, other_tz):
    # the same instants written in another zone give the same result
    moved = [
        Deploy(d.service, d.at.astimezone(written_in), d.version, d.result, d.kind, source=d.source)
        for d in deploys
    ]
    moved_issues = [
        HealthIssue(
            i.service, i.start.astimezone(written_in), i.end and i.end.astimezone(written_in)
        )
        for i in issues
    ]
    now = NOW.astimezone(written_in)
    assert compute_keys(moved, changes, moved_issues, now, 30, tz) == compute_keys(
        deploys, changes, issues, NOW, 30, tz
    )
    # failures, recoveries and lead times do not depend on the zone at all; only the
    # bucketing into days and weeks follows it
    assert classify(moved, moved_issues, now=now) == classify(deploys, issues, now=NOW)
    assert lead_times(moved, changes) == lead_times(deploys, changes)
    # over a span holding every event, each zone counts every deploy once
    total = sum(d.at <= NOW for d in deploys)
    assert sum(n for _, n in deploys_per_day(deploys, NOW, 120, tz)) == total
    assert sum(n for _, n in deploys_per_day(deploys, NOW, 120, other_tz)) == total
    for day, n in deploys_per_day(deploys, NOW, 120, tz):
        assert n == sum(d.at <= NOW and d.at.astimezone(tz).date() == day for d in deploys)


def _berlin(*args, fold=0):
    return datetime(*args, tzinfo=BERLIN, fold=fold)


def test_dst_spring_forward_day_has_23_hours():
    first = _berlin(2026, 3, 29, 0, 30)  # CET, +01:00
    last = _berlin(2026, 3, 29, 23, 30)  # CEST, +02:00
    assert last.astimezone(UTC) - first.astimezone(UTC) == 22 * H
    deploys = [Deploy("api", first, "v1"), Deploy("api", last, "v2")]
    bars = dict(deploys_per_day(deploys, _berlin(2026, 3, 30, 12), 3, BERLIN))
    assert bars == {date(2026, 3, 28): 0, date(2026, 3, 29): 2, date(2026, 3, 30): 0}
    # in UTC the first one is still on the 28th
    bars = dict(deploys_per_day(deploys, _berlin(2026, 3, 30, 12), 3, UTC))
    assert bars == {date(2026, 3, 28): 1, date(2026, 3, 29): 1, date(2026, 3, 30): 0}
    # a 7-day window is 7 calendar days (167 hours here) and per_day divides by 7
    now = _berlin(2026, 3, 29, 23, 59)
    assert window_dates(now, 7, BERLIN) == (date(2026, 3, 23), date(2026, 3, 29))
    edge = [
        Deploy("api", _berlin(2026, 3, 23, 0, 0, 30), "v0"),  # inside: Monday just after midnight
        Deploy("api", _berlin(2026, 3, 22, 23, 59), "v9"),  # outside: Sunday before
    ]
    keys = compute_keys([*deploys, *edge], {}, [], now, 7, BERLIN).current
    assert keys.deploys == 3 and keys.frequency.per_day == 3 / 7
    assert keys.frequency.deploy_days == 2


def test_dst_fall_back_day_has_25_hours():
    first = _berlin(2026, 10, 25, 0, 30)  # CEST
    last = _berlin(2026, 10, 25, 23, 30)  # CET
    assert last.astimezone(UTC) - first.astimezone(UTC) == 24 * H
    # 02:30 happens twice; the second (fold=1) is an hour later in real time
    early = _berlin(2026, 10, 25, 2, 30)
    fix = _berlin(2026, 10, 25, 2, 10, fold=1)  # earlier on the wall clock, 40 min later
    deploys = [
        Deploy("api", first, "v1"),
        Deploy("api", early, "v2", "failed"),
        Deploy("api", fix, "v3"),
        Deploy("api", last, "v4"),
    ]
    outcomes = classify(deploys)
    assert [o.deploy.version for o in outcomes] == ["v1", "v2", "v3", "v4"]
    assert outcomes[1].recovery == 40 * M
    bars = dict(deploys_per_day(deploys, _berlin(2026, 10, 26, 9), 2, BERLIN))
    assert bars == {date(2026, 10, 25): 4, date(2026, 10, 26): 0}
    keys = compute_keys(deploys, {}, [], _berlin(2026, 10, 25, 23, 59), 7, BERLIN).current
    assert keys.recovery_time == 40 * M and keys.recovery_level == "elite"
    assert (keys.first, keys.last) == (date(2026, 10, 19), date(2026, 10, 25))


@PROPS
@given(
    offsets=st.lists(st.integers(0, 7 * 24 * 60 - 1), max_size=30),
    week=st.sampled_from((date(2026, 3, 23), date(2026, 10, 19))),
)
def test_dst_weeks_count_local_days(offsets, week):
    # instants spread over the whole local week, which is 167 or 169 hours long
    start = datetime.combine(week, datetime.min.time(), BERLIN).astimezone(UTC)
    end = datetime.combine(week + 7 * D, datetime.min.time(), BERLIN).astimezone(UTC)
    span = (end - start) // M
    deploys = [Deploy("api", start + (n % span) * M, f"v{n}") for n in offsets]
    freq = deployment_frequency(deploys, week, week + 6 * D, BERLIN)
    assert freq.deploys == len(deploys) and freq.days == 7
    local_days = {d.at.astimezone(BERLIN).date() for d in deploys}
    assert freq.deploy_days == len(local_days)
    assert all(week <= day <= week + 6 * D for day in local_days)


def _daily(*days: date) -> list[Deploy]:
    return [Deploy("api", datetime(d.year, d.month, d.day, 12, tzinfo=UTC), "v") for d in days]


def test_window_cut_mid_week_keeps_the_larger_piece():
    # Wed 2026-03-04 .. Tue 2026-03-10: 5 days of one week, 2 of the next
    start, end = date(2026, 3, 4), date(2026, 3, 10)
    three_days = _daily(date(2026, 3, 4), date(2026, 3, 5), date(2026, 3, 6))
    assert deployment_frequency(three_days, start, end).bucket == "daily"
    # deploys only in the 2-day piece: that week does not take part; the month
    # (none has more than half its days inside) falls back to March
    two_days = _daily(date(2026, 3, 9), date(2026, 3, 10))
    freq = deployment_frequency(two_days, start, end)
    assert freq.bucket == "monthly" and freq.level == "high"
    # the same 3 deploy days split over both pieces: the kept week has 1
    split = _daily(date(2026, 3, 8), date(2026, 3, 9), date(2026, 3, 10))
    assert deployment_frequency(split, start, end).bucket == "weekly"
    # a window of 3 days holds no majority week: both of its weeks count
    short = _daily(date(2026, 3, 7), date(2026, 3, 9))  # Sat, and Mon of the next week
    assert deployment_frequency(short, date(2026, 3, 7), date(2026, 3, 9)).bucket == "weekly"
    only_sunday = _daily(date(2026, 3, 8))  # weeks with 1 and 0: median 0.5; March: 1
    assert deployment_frequency(only_sunday, date(2026, 3, 7), date(2026, 3, 9)).bucket == "monthly"
    # a 4-day piece (Thu-Sun) is a majority and counts as a week of its own
    four = deployment_frequency(
        _daily(date(2026, 3, 5), date(2026, 3, 6), date(2026, 3, 7)),
        date(2026, 3, 5),
        date(2026, 3, 15),
    )
    # weeks: Thu-Sun (3 deploy days) and Mon-Sun (0): median 1.5 days, 1.5 deploys
    assert four.bucket == "weekly"
    with pytest.raises(ValueError):
        deployment_frequency([], end, start)


@PROPS
@given(
    deploys=st.lists(deploys_st, max_size=30),
    issues=st.lists(issues_st, max_size=8),
    changes=changes_st,
    days=windows,
    tz=zones,
    window=st.sampled_from(("5m", "1h", "6h")),
)
def test_invariants(deploys, issues, changes, days, tz, window):
    failure_window = {"5m": 5 * M, "1h": H, "6h": 6 * H}[window]
    report = compute_keys(deploys, changes, issues, NOW, days, tz, failure_window)
    outcomes = classify(deploys, issues, failure_window, NOW)
    known = [d for d in deploys if d.at <= NOW]
    leads = lead_times(known, changes)
    assert sum(n for _, n in deploys_per_day(deploys, NOW, days, tz)) == report.current.deploys
    for keys in _all_keys(report):
        freq = keys.frequency
        assert freq.days == days == (keys.last - keys.first).days + 1
        assert freq.per_week == 7 * freq.per_day and freq.per_month == 30 * freq.per_day
        assert freq.per_day == freq.deploys / days
        assert freq.deploy_days <= min(freq.deploys, days)
        assert (freq.bucket is None) == (freq.deploys == 0)
        if keys.change_failure_rate is not None:
            assert 0 <= keys.change_failure_rate <= 1
        assert keys.failed <= keys.deploys and keys.recovered + keys.ongoing == keys.failed

        def inside(d: Deploy, keys=keys) -> bool:
            return keys.first <= d.at.astimezone(tz).date() <= keys.last

        window_leads = [lead.time for lead in leads if inside(lead.deploy)]
        recoveries = [o.recovery for o in outcomes if inside(o.deploy) and o.recovery is not None]
        assert keys.changes == len(window_leads)
        if window_leads:
            assert min(window_leads) <= keys.lead_time <= max(window_leads)
        if recoveries:
            assert min(recoveries) <= keys.recovery_time <= max(recoveries)
        for level in (freq.level, keys.lead_time_level, keys.cfr_level, keys.recovery_level):
            assert level in (*LEVELS, NO_DATA)
    for o in outcomes:
        assert o.recovery is None or o.recovery >= timedelta(0)
        assert o.failed == (o.deploy.result != "success" or o.reason in ("health", "rollback"))
        assert o.recovered_at is None or o.recovered_at <= NOW
    for lead in leads:
        assert lead.time > timedelta(0) and lead.deploy.result == "success"
    assert len({(lead.change.service, lead.change.sha) for lead in leads}) == len(leads)
    # the services' deploys add up to the overall count
    services = per_service(deploys, changes, issues, NOW, days, tz, failure_window)
    assert sum(r.current.deploys for r in services.values()) == report.current.deploys
    assert sum(r.current.failed for r in services.values()) == report.current.failed


@PROPS
@given(a=st.floats(0, 1), b=st.floats(0, 1))
def test_cfr_level_is_monotonic(a, b):
    low, high = sorted((a, b))
    assert _level_rank(cfr_level(low)) <= _level_rank(cfr_level(high))


@PROPS
@given(a=st.integers(0, 10**8), b=st.integers(0, 10**8))
def test_time_levels_are_monotonic(a, b):
    low, high = sorted((timedelta(seconds=a), timedelta(seconds=b)))
    assert _level_rank(lead_time_level(low)) <= _level_rank(lead_time_level(high))
    assert _level_rank(recovery_level(low)) <= _level_rank(recovery_level(high))
    slow, fast = sorted((a / 10**6, b / 10**6))
    assert _level_rank(frequency_level(fast)) <= _level_rank(frequency_level(slow))


def test_level_bounds():
    assert lead_time_level(D - timedelta(seconds=1)) == "elite"
    assert lead_time_level(D) == lead_time_level(7 * D - timedelta(seconds=1)) == "high"
    assert lead_time_level(7 * D) == lead_time_level(29 * D) == "medium"
    assert lead_time_level(30 * D) == lead_time_level(400 * D) == "low"
    assert cfr_level(0.0) == cfr_level(0.05) == "elite"
    assert cfr_level(0.0501) == cfr_level(0.10) == cfr_level(0.20) == "high"
    assert cfr_level(0.2001) == cfr_level(0.40) == cfr_level(1.0) == "low"
    assert recovery_level(59 * M) == "elite"
    assert recovery_level(H) == recovery_level(D - M) == "high"
    assert recovery_level(D) == recovery_level(3 * D) == recovery_level(60 * D) == "low"
    assert frequency_level(1.01) == "elite"
    assert frequency_level(1.0) == frequency_level(1 / 7) == "high"
    assert frequency_level(1 / 8) == frequency_level(1 / 30) == "medium"
    assert frequency_level(1 / 31) == frequency_level(0.0) == "low"
    for f in (lead_time_level, cfr_level, recovery_level, frequency_level):
        assert f(None) == NO_DATA
    assert median_lead_time([]) is None
    assert change_failure_rate([]) is None and median_recovery_time([]) is None


def test_records_need_aware_times_and_known_words():
    with pytest.raises(ValueError):
        Deploy("api", datetime(2026, 3, 1), "v1")
    with pytest.raises(ValueError):
        Deploy("api", NOW, "v1", "cancelled")
    with pytest.raises(ValueError):
        Deploy("api", NOW, "v1", kind="job")
    with pytest.raises(ValueError):
        HealthIssue("api", NOW, NOW - H)
    with pytest.raises(ValueError):
        compute_keys([], {}, [], datetime(2026, 3, 1))


def test_an_issue_ending_after_now_is_still_going_on():
    deploy = Deploy("api", NOW - 2 * H, "v1")
    issue = HealthIssue("api", NOW - 90 * M, NOW + H)
    (outcome,) = classify([deploy], [issue], now=NOW)
    assert outcome.reason == "health" and outcome.ongoing
    (outcome,) = classify([deploy], [issue])  # seen from later, it ended
    assert outcome.recovery == 2 * H + 30 * M


# --- one recorded event set, worked out by hand ---------------------------------


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# now is Tuesday 2026-03-31 18:00 UTC; the 30-day window is Mon 03-02 .. Tue 03-31,
# the previous one Sat 01-31 .. Sun 03-01 (1 + 28 + 1 days).
HAND_NOW = t("2026-03-31 18:00")
HAND_DEPLOYS = [
    # api (app)
    Deploy("api", t("2026-02-20 12:00"), "a0", source="github:api"),  # previous window
    Deploy("api", t("2026-03-02 09:00"), "a1", source="github:api"),
    Deploy("api", t("2026-03-04 10:00"), "a2", source="github:api"),  # issue 20 min later
    Deploy("api", t("2026-03-04 10:50"), "a3", source="github:api"),  # the hotfix
    Deploy("api", t("2026-03-10 14:00"), "a4", "rolled back", source="container-redeploy"),
    Deploy("api", t("2026-03-11 09:00"), "a5", source="github:api"),
    Deploy("api", t("2026-03-20 12:00"), "a6", source="github:api"),  # issue 2 h later
    # web (app)
    Deploy("web", t("2026-02-10 09:00"), "w0", source="gitlab:web"),  # previous window
    Deploy("web", t("2026-03-03 12:00"), "w1", source="gitlab:web"),
    Deploy("web", t("2026-03-05 12:00"), "w2", source="gitlab:web"),  # rolled back by the next
    Deploy("web", t("2026-03-05 12:30"), "w1", source="container-rollback"),
    Deploy("web", t("2026-03-17 08:00"), "w4", "failed", source="gitlab:web"),
    Deploy("web", t("2026-03-17 10:00"), "w4", source="gitlab:web"),  # the retry
    Deploy("web", t("2026-03-30 16:00"), "w6", source="gitlab:web"),  # issue still going on
    # ranker (a model; versions are registry versions)
    Deploy("ranker", t("2026-03-09 06:00"), "3", kind="model", source="mlflow"),
    Deploy("ranker", t("2026-03-23 06:00"), "4", kind="model", source="mlflow"),  # breach
    Deploy("ranker", t("2026-03-23 08:00"), "3", kind="model", source="rollback"),
    Deploy("ranker", t("2026-03-27 12:00"), "5", kind="model", source="mlflow"),  # same second
    Deploy("ranker", t("2026-03-27 12:00"), "6", kind="model", source="mlflow"),
]
HAND_ISSUES = [
    HealthIssue("api", t("2026-03-04 10:20"), t("2026-03-04 11:00")),  # blamed on a2
    HealthIssue("api", t("2026-03-20 14:00"), t("2026-03-20 15:00")),  # 2 h after a6: not
    HealthIssue("web", t("2026-02-11 09:30"), t("2026-02-11 10:00")),  # 24.5 h after w0: not
    HealthIssue("web", t("2026-03-30 16:30")),  # blamed on w6, ongoing
    HealthIssue("ranker", t("2026-03-23 06:40"), t("2026-03-23 09:40")),  # metric breach, on "4"
]
c0 = Change("c0", t("2026-02-18 12:00"), "api")
c5 = Change("c5", t("2026-03-10 12:00"), "api")
wc1 = Change("wc1", t("2026-03-01 12:00"), "web")
HAND_CHANGES = {
    "a0": [c0],
    "a1": [
        c0,
        Change("c1", t("2026-03-01 09:00"), "api"),
        Change("c2", t("2026-03-02 08:00"), "api"),
    ],
    "a2": [Change("c3", t("2026-03-03 10:00"), "api")],
    "a3": [Change("c4", t("2026-03-04 10:30"), "api")],
    "a4": [c5],
    "a5": [c5, Change("c6", t("2026-03-11 08:00"), "api")],
    "a6": [Change("c7", t("2026-03-13 12:00"), "api"), Change("c8", t("2026-03-20 12:30"), "api")],
    "w1": [wc1],
    "w2": [Change("wc2", t("2026-03-04 12:00"), "web")],
    "w4": [Change("wc3", t("2026-03-16 10:00"), "web")],
}

# Outcomes (failure window 1 h):
#   a2  health: issue at 10:20 (20 min after, before a3 at 10:50). Failed at 10:20;
#       recovered at min(a3 10:50, issue end 11:00) = 10:50 -> 30 min.
#   a4  rolled back: failed at 03-10 14:00, recovered by a5 03-11 09:00 -> 19 h.
#   w2  rollback: the next web deploy is container-rollback. Failed at 12:00,
#       recovered by that rollback at 12:30 -> 30 min.
#   w4  failed: 08:00, recovered by the retry at 10:00 -> 2 h.
#   w6  health: issue 16:30, no end, no later deploy -> ongoing.
#   "4" health (the breach at 06:40 comes before the rollback counts): failed at 06:40,
#       recovered at min(rollback 08:00, breach end 09:40) = 08:00 -> 1 h 20 min.
#   Everything else succeeded: a6's issue comes 2 h later, w0's 24.5 h later, and the
#   a2 issue started before a3.
# Lead times (first successful deploy of each change; <= 0 left out):
#   a0: c0 48 h (previous window; a1 contains c0 again: not counted)
#   a1: c1 24 h, c2 1 h    a2: c3 24 h    a3: c4 20 min
#   a4 rolled back: nothing; c5 counts at a5: 21 h, c6 1 h
#   a6: c7 7 days = 168 h; c8 committed 30 min after a6: left out
#   w1: wc1 48 h    w2: wc2 24 h (it reached production)    rollback to w1: wc1 seen
#   w4 failed: nothing; the retry: wc3 24 h    ranker: no changes
HAND_FAILURES = {
    ("api", "a2"): ("health", 30 * M),
    ("api", "a4"): ("rolled back", 19 * H),
    ("web", "w2"): ("rollback", 30 * M),
    ("web", "w4"): ("failed", 2 * H),
    ("web", "w6"): ("health", None),
    ("ranker", "4"): ("health", 80 * M),
}


def test_hand_outcomes():
    outcomes = classify(HAND_DEPLOYS, HAND_ISSUES, now=HAND_NOW)
    failed = {
        (o.deploy.service, o.deploy.version): (o.reason, o.recovery) for o in outcomes if o.failed
    }
    assert failed == HAND_FAILURES
    leads = {
        (lead.deploy.version, lead.change.sha): lead.time
        for lead in lead_times(HAND_DEPLOYS, HAND_CHANGES)
    }
    assert leads == {
        ("a0", "c0"): 48 * H,
        ("a1", "c1"): 24 * H,
        ("a1", "c2"): H,
        ("a2", "c3"): 24 * H,
        ("a3", "c4"): 20 * M,
        ("a5", "c5"): 21 * H,
        ("a5", "c6"): H,
        ("a6", "c7"): 168 * H,
        ("w1", "wc1"): 48 * H,
        ("w2", "wc2"): 24 * H,
        ("w4", "wc3"): 24 * H,
    }


def test_hand_keys_overall():
    report = compute_keys(HAND_DEPLOYS, HAND_CHANGES, HAND_ISSUES, HAND_NOW, 30, UTC)
    cur = report.current
    assert (cur.first, cur.last) == (date(2026, 3, 2), date(2026, 3, 31))
    # 17 deploys in 30 days: 17/30 a day, 119/30 (3.97) a week, 17 a month -> high
    f = cur.frequency
    assert (f.deploys, f.days, f.per_day, f.per_week, f.per_month) == (
        17,
        30,
        17 / 30,
        7 * 17 / 30,
        17.0,
    )
    # deploy days: 03-02 03-03 03-04 03-05 03-09 03-10 03-11 03-17 03-20 03-23 03-27 03-30
    assert f.deploy_days == 12 and f.level == "high"
    # weeks from Mon 03-02, 03-09, 03-16, 03-23 (03-30..31 is 2 days: left out)
    # deploy days 4, 3, 2, 2 -> median 2.5 < 3; deploys 6, 3, 3, 4 -> median 3.5 >= 1
    assert f.bucket == "weekly"
    # lead times 20m 1h 1h 21h 24h | 24h 24h 24h 48h 168h: median 24 h, exactly a day -> high
    assert (cur.lead_time, cur.changes, cur.lead_time_level) == (24 * H, 10, "high")
    # failed a2 a4 w2 w4 w6 "4": 6 of 17 -> 35.3% -> low
    assert (cur.failed, cur.change_failure_rate, cur.cfr_level) == (6, 6 / 17, "low")
    # recoveries 30m 30m 80m 2h 19h (w6 ongoing): median 80 min -> high
    assert (cur.recovery_time, cur.recovered, cur.ongoing) == (80 * M, 5, 1)
    assert cur.recovery_level == "high"

    prev = report.previous
    assert (prev.first, prev.last) == (date(2026, 1, 31), date(2026, 3, 1))
    # w0 (02-10) and a0 (02-20): 2/30 a day, 0.47 a week, 2 a month -> medium
    f = prev.frequency
    assert (f.deploys, f.deploy_days, f.per_day, f.level) == (2, 2, 2 / 30, "medium")
    # weeks from 02-02, 02-09, 02-16, 02-23 (01-31..02-01 is 2 days: left out):
    # deploys 0, 1, 1, 0 -> median 0.5 < 1; months: only February (28 of 28 days) has
    # more than half its days inside: 2 deploys -> monthly
    assert f.bucket == "monthly"
    assert (prev.lead_time, prev.changes, prev.lead_time_level) == (48 * H, 1, "high")
    assert (prev.change_failure_rate, prev.cfr_level, prev.failed) == (0.0, "elite", 0)
    assert (prev.recovery_time, prev.recovery_level, prev.ongoing) == (None, NO_DATA, 0)


def test_hand_keys_per_service():
    services = per_service(HAND_DEPLOYS, HAND_CHANGES, HAND_ISSUES, HAND_NOW, 30, UTC)
    assert list(services) == ["api", "ranker", "web"]

    api = services["api"].current
    # a1..a6: 6 deploys on 03-02 03-04 03-10 03-11 03-20; 0.2 a day, 1.4 a week -> high
    # weeks: deploy days 2, 2, 1, 0; deploys 3, 2, 1, 0 -> median 1.5 -> weekly
    f = api.frequency
    assert (f.deploys, f.deploy_days, f.per_day, f.bucket, f.level) == (6, 5, 0.2, "weekly", "high")
    # 20m 1h 1h [21h] 24h 24h 168h -> 21 h -> elite
    assert (api.lead_time, api.changes, api.lead_time_level) == (21 * H, 7, "elite")
    # a2 a4 of 6 -> 1/3 -> low
    assert (api.failed, api.change_failure_rate, api.cfr_level) == (2, 2 / 6, "low")
    # 30m and 19h -> 9h45m -> high
    assert (api.recovery_time, api.ongoing, api.recovery_level) == (9 * H + 45 * M, 0, "high")
    api_prev = services["api"].previous
    assert (api_prev.deploys, api_prev.lead_time, api_prev.cfr_level) == (1, 48 * H, "elite")
    # 1 deploy in 30 days: 1 a month -> medium; weeks 0 0 1 0, February 1 -> monthly
    assert (api_prev.frequency.level, api_prev.frequency.bucket) == ("medium", "monthly")

    web = services["web"].current
    # w1 w2 rollback w4 retry w6: 6 deploys on 03-03 03-05 03-17 03-30
    # weeks: deploys 3, 0, 2, 0 (w6 is in the left-out 03-30 week) -> median 1 -> weekly
    f = web.frequency
    assert (f.deploys, f.deploy_days, f.per_day, f.bucket, f.level) == (6, 4, 0.2, "weekly", "high")
    # 48h 24h 24h -> 24 h -> high
    assert (web.lead_time, web.changes, web.lead_time_level) == (24 * H, 3, "high")
    # w2 w4 w6 of 6 -> 50% -> low
    assert (web.failed, web.change_failure_rate, web.cfr_level) == (3, 0.5, "low")
    # 30m and 2h -> 1h15m -> high; w6 ongoing
    assert (web.recovery_time, web.recovered, web.ongoing) == (75 * M, 2, 1)
    assert web.recovery_level == "high"
    web_prev = services["web"].previous
    assert (web_prev.deploys, web_prev.lead_time, web_prev.lead_time_level) == (1, None, NO_DATA)
    assert (web_prev.change_failure_rate, web_prev.cfr_level) == (0.0, "elite")

    ranker = services["ranker"].current
    # "3" "4" rollback "5" "6": 5 deploys on 03-09 03-23 03-27; 7/6 a week -> high
    # weeks: deploys 0, 1, 0, 4 -> median 0.5; March (30 of 31 days): 5 -> monthly
    f = ranker.frequency
    assert (f.deploys, f.deploy_days, f.per_day, f.bucket, f.level) == (
        5,
        3,
        5 / 30,
        "monthly",
        "high",
    )
    assert (ranker.lead_time, ranker.changes, ranker.lead_time_level) == (None, 0, NO_DATA)
    # 1 of 5 = 20%, the high value itself -> high
    assert (ranker.failed, ranker.change_failure_rate, ranker.cfr_level) == (1, 0.2, "high")
    assert (ranker.recovery_time, ranker.recovery_level) == (80 * M, "high")
    ranker_prev = services["ranker"].previous
    assert ranker_prev.deploys == 0 and ranker_prev.frequency.bucket is None
    assert (ranker_prev.frequency.level, ranker_prev.cfr_level) == (NO_DATA, NO_DATA)


def test_hand_keys_last_7_days_and_bars():
    report = compute_keys(HAND_DEPLOYS, HAND_CHANGES, HAND_ISSUES, HAND_NOW, 7, UTC)
    cur, prev = report.current, report.previous
    # 03-25..03-31: "5" "6" w6 -> w6 failed and ongoing: CFR 1/3, no recovery time
    assert (cur.first, cur.last, cur.deploys, cur.failed) == (
        date(2026, 3, 25),
        HAND_NOW.date(),
        3,
        1,
    )
    assert (cur.change_failure_rate, cur.recovery_time, cur.ongoing) == (1 / 3, None, 1)
    assert (cur.recovery_level, cur.lead_time) == (NO_DATA, None)
    # 03-18..03-24: a6 "4" rollback -> "4" failed, 80 min; lead c7 exactly 7 days -> medium
    assert (prev.deploys, prev.failed, prev.recovery_time) == (3, 1, 80 * M)
    assert (prev.lead_time, prev.lead_time_level) == (7 * D, "medium")
    assert deploys_per_day(HAND_DEPLOYS, HAND_NOW, 7, UTC) == [
        (date(2026, 3, 25), 0),
        (date(2026, 3, 26), 0),
        (date(2026, 3, 27), 2),
        (date(2026, 3, 28), 0),
        (date(2026, 3, 29), 0),
        (date(2026, 3, 30), 1),
        (date(2026, 3, 31), 0),
    ]
