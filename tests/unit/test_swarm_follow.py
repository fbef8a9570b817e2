"""Following a Swarm rollout: only this rollout's tasks, in words people use."""

from __future__ import annotations

import pytest

from opsdash.actions.base import ActionError, ActionPlan
from opsdash.actions.swarm import SwarmActions
from opsdash.model import swarm_update_words


def task(tid, slot, state, desired):
    return {"ID": tid * 3, "Slot": slot, "Status": {"State": state}, "DesiredState": desired}


class FakeSwarmApi:
    """A service whose task list holds an earlier update's tasks; each poll moves
    the rollout one step on, and the last one gives `final` as the update state."""

    def __init__(self, final: str):
        history = [
            task("oldslot1a", 1, "shutdown", "shutdown"),
            task("oldslot2a", 2, "failed", "shutdown"),
        ]
        run1, run2 = (
            task("runslot1b", 1, "running", "running"),
            task("runslot2b", 2, "running", "running"),
        )
        stop1, stop2 = (
            t | {"Status": {"State": "shutdown"}, "DesiredState": "shutdown"} for t in (run1, run2)
        )
        new1, new2 = (
            task("newslot1c", 1, "running", "running"),
            task("newslot2c", 2, "running", "running"),
        )
        self.steps = [
            [*history, run1, run2],  # before the update is posted
            [*history, stop1, run2, new1],
            [*history, stop1, stop2, new1, new2],
        ]
        self.final = final
        self.polls = 0

    def tasks(self, filters):
        step = self.steps[min(self.polls, len(self.steps) - 1)]
        self.polls += 1
        return step

    def inspect_service(self, service_id):
        state = self.final if self.polls >= len(self.steps) else "rollback_started"
        return {"ID": service_id, "UpdateStatus": {"State": state, "Message": "rollback done"}}


class FakeSource:
    name = "swarm"

    def __init__(self, api):
        self.client = api


def follow(final: str, done: str):
    api = FakeSwarmApi(final)
    swarm = SwarmActions(FakeSource(api), timeout=30)
    plan = ActionPlan(action="rollback", kind="service", target="web", target_id="s1", host="swarm")
    lines: list[str] = []
    before = swarm._tasks("s1")
    result = swarm._follow(
        plan, lambda step, line: lines.append(f"{step} {line}"), before, done=done, deployed=True
    )
    return result, lines


def test_only_this_rollouts_tasks_are_listed_once_each_change(monkeypatch):
    monkeypatch.setattr("opsdash.actions.swarm.time.sleep", lambda _s: None)
    result, lines = follow("rollback_completed", done="rollback_completed")
    assert result.message == "web: rolled back"
    assert not any("task task" in line for line in lines)
    assert not any("oldslot" in line for line in lines)  # an earlier update's tasks
    assert lines == [
        "task slot 1 runslot1br: shutdown (wants shutdown)",
        "task slot 1 newslot1cn: running (wants running)",
        "task slot 2 runslot2br: shutdown (wants shutdown)",
        "task slot 2 newslot2cn: running (wants running)",
    ]


def test_an_update_the_engine_rolled_back_says_so_in_words(monkeypatch):
    monkeypatch.setattr("opsdash.actions.swarm.time.sleep", lambda _s: None)
    with pytest.raises(ActionError, match=r"^web: rolling back: rollback done$") as failed:
        follow("rollback_completed", done="completed")
    assert failed.value.rolled_back


@pytest.mark.parametrize(
    ("state", "words"),
    [
        ("rollback_completed", "rolled back"),
        ("rollback_started", "rolling back"),
        ("rollback_paused", "rollback paused"),
        ("completed", "completed"),
        ("updating", "updating"),
        ("something_new", "something new"),
        ("", ""),
    ],
)
def test_update_states_in_words(state, words):
    assert swarm_update_words(state) == words
