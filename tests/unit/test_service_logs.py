"""A Swarm service's log stream: the engine's details name each line's task;
the text after them is kept as it came."""

from __future__ import annotations

from opsdash.log_lines import split_stamp
from opsdash.sources.docker_service_logs import ServiceLogStream, TaskNames, split_details

STAMP = "2026-12-03T12:00:01.5Z"
DETAILS = "com.docker.swarm.node.id=n1,com.docker.swarm.service.id=s1,com.docker.swarm.task.id={}"


def test_details_come_off_the_text_and_a_cut_rest_keeps_its_a_equals_b():
    attrs, text = split_details(split_stamp(f"{STAMP} {DETAILS.format('t1')} a=b [bold]x"))
    assert attrs["com.docker.swarm.task.id"] == "t1" and str(text) == "a=b [bold]x"
    assert text.stamp == STAMP
    attrs, text = split_details(split_stamp("a=b rest of a cut line"))
    assert attrs == {} and str(text) == "a=b rest of a cut line"


def test_lines_are_named_service_slot_and_unknown_tasks_by_id():
    tasks = [{"ID": "t1", "Slot": 1}, {"ID": "t2", "Slot": 2}]
    chunks = [
        f"{STAMP} {DETAILS.format('t2')} second\n".encode(),
        f"{STAMP} {DETAILS.format('t1')} first\n".encode(),
        f"{STAMP} {DETAILS.format('zzzzzzzzzzzzzzzz')} other\n".encode(),
    ]
    stream = ServiceLogStream(iter(chunks), TaskNames("api", lambda: tasks))
    lines = list(stream)
    assert [(line.origin, line.slot, str(line)) for line in lines] == [
        ("api.2", 1, "second"),
        ("api.1", 0, "first"),
        ("api.zzzzzzzzzzzz", 2, "other"),
    ]
    assert all(line.at for line in lines)
