"""The Models panel's records: thresholds, champion vs challenger, alias plans."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from opsdash.model import to_jsonable
from opsdash.model.ml import (
    AliasChange,
    AliasPlan,
    MetricPoint,
    ModelRow,
    ModelsSnapshot,
    ModelVersion,
    ThresholdState,
    threshold_state,
)
from opsdash.sources.base import SourceError
from opsdash.sources.mlflow import normalize_version, thin

OK, WARNING, BREACH, UNKNOWN = (
    ThresholdState.OK,
    ThresholdState.WARNING,
    ThresholdState.BREACH,
    ThresholdState.UNKNOWN,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.95, OK),
        (0.90, OK),  # equal to the warning threshold still passes it
        (0.89, WARNING),
        (0.80, WARNING),  # equal to the breach threshold is not a breach
        (0.79, BREACH),
        (-math.inf, BREACH),
        (math.inf, OK),
    ],
)
def test_higher_is_better(value, expected):
    assert threshold_state(value, warning=0.90, breach=0.80) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.05, OK),
        (0.10, OK),
        (0.11, WARNING),
        (0.20, WARNING),
        (0.21, BREACH),
        (math.inf, BREACH),
    ],
)
def test_lower_is_better_inverts(value, expected):
    assert threshold_state(value, warning=0.10, breach=0.20, higher_is_better=False) is expected


def test_no_value_or_nan_is_unknown():
    assert threshold_state(None, 0.9, 0.8) is UNKNOWN
    assert threshold_state(math.nan, 0.9, 0.8) is UNKNOWN
    assert threshold_state(math.nan, None, None, higher_is_better=False) is UNKNOWN


def test_missing_thresholds():
    assert threshold_state(0.1, None, None) is OK
    assert threshold_state(0.1, None, 0.5) is BREACH
    assert threshold_state(0.6, 0.7, None) is WARNING
    assert threshold_state(0.6, math.nan, None) is OK  # a NaN threshold never fires


def test_states_are_plain_words():
    assert [s.value for s in ThresholdState] == ["ok", "warning", "breach", "unknown"]
    assert f"{BREACH}" == "breach"


def test_row_difference_follows_direction():
    row = ModelRow("mlflow:m", "mlflow", "churn", "accuracy", "2", 0.91)
    assert row.difference is None and row.challenger_better is None
    better = ModelRow(
        "mlflow:m", "mlflow", "churn", "accuracy", "2", 0.91, challenger_version="3",
        challenger_value=0.93,
    )  # fmt: skip
    assert better.difference == pytest.approx(0.02)
    assert better.challenger_better is True
    assert (better.champion_version, better.champion_value) == ("2", 0.91)
    loss = ModelRow(
        "mlflow:m", "mlflow", "churn", "loss", "2", 0.09, direction="lower",
        challenger_value=0.07,
    )  # fmt: skip
    assert loss.difference == pytest.approx(-0.02)
    assert loss.higher_is_better is False and loss.challenger_better is True
    nan = ModelRow("p", "prometheus", "m", "a", value=math.nan, challenger_value=1.0)
    assert nan.difference is None


def test_row_keys_are_unique_per_label_set():
    a = ModelRow("prometheus:p", "prometheus", "churn", "accuracy", "3", labels=(("env", "a"),))
    b = ModelRow("prometheus:p", "prometheus", "churn", "accuracy", "3", labels=(("env", "b"),))
    assert a.key != b.key


def test_version_metric_lookup():
    version = ModelVersion("churn", "2", metrics=(("accuracy", 0.91), ("loss", 0.09)))
    assert version.metric("loss") == 0.09
    assert version.metric("f1") is None
    assert version.key == "churn/2"


def test_alias_change_and_plan_read_as_one_line():
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert str(AliasChange("churn", "champion", "2", "3", at)) == "churn: champion v2 -> v3"
    assert str(AliasChange("churn", "champion", "", "1", at)) == "churn: champion (none) -> v1"
    plan = AliasPlan(
        "churn", "champion", "promote", "2", "3", (("accuracy", 0.91),), (("accuracy", 0.93),)
    )
    assert str(plan) == "promote churn: champion v2 -> v3 (accuracy 0.91 -> 0.93)"
    assert not plan.noop
    assert AliasPlan("churn", "champion", "promote", "3", "3").noop


def test_snapshot_is_jsonable():
    at = datetime(2026, 1, 2, tzinfo=UTC)
    row = ModelRow(
        "mlflow:m", "mlflow", "churn", "accuracy", "2", 0.9, state=OK,
        trend=(MetricPoint(at, 0.9, 4),),
    )  # fmt: skip
    snap = ModelsSnapshot("mlflow:m", "mlflow", rows=(row,), versions=(ModelVersion("churn", "2"),))
    data = to_jsonable(snap)
    assert data["rows"][0]["state"] == "ok"
    assert data["rows"][0]["trend"][0] == {"at": at.isoformat(), "value": 0.9, "step": 4}
    assert snap.versions_of("churn")[0].version == "2"


def test_version_numbers():
    assert normalize_version(3) == "3"
    assert normalize_version("v12") == "12"
    assert normalize_version(" 007 ") == "7"
    with pytest.raises(SourceError, match="not a model version number"):
        normalize_version("champion")


def test_thin_keeps_the_ends():
    points = [MetricPoint(None, float(i), i) for i in range(1000)]
    kept = thin(points, 60)
    assert len(kept) == 60
    assert kept[0].step == 0 and kept[-1].step == 999
    assert thin(points[:5], 60) == tuple(points[:5])
