"""lab/observations.py: the jobs' own accounts, held against the lab's records; a lie is caught."""

from __future__ import annotations

import dataclasses
import json

from lab import observations
from lab.observations import Observed
from lab.placement import Placement

W1, W2 = "1" * 64, "2" * 64
CONTAINERS = {"worker-1": W1, "worker-2": W2}


def placed(name: str, node: str, pid: int, container: str, start: float = 1.0) -> Placement:
    return Placement(
        name, name, f"id-{name}-{pid}", node, container, pid, 0, start, start + 1, "ok", "", "", "", ""
    )


def line(name: str, event: str, host: str, pid: int, container: str, time: float) -> str:
    return json.dumps(
        {"name": name, "event": event, "host": host, "pid": pid, "container": container, "time": time}
    )


# Deferral DAG 2, cut short: Deferring killed itself; the deferred function ran in Follow-on's process.
LINES = [
    line("root", "start", "worker-1", 10, W1, 1.0),
    line("root", "end", "worker-1", 10, W1, 1.5),
    line("deferring", "start", "worker-1", 11, W1, 2.0),
    line("dummy", "start", "worker-1", 12, W1, 3.0),
    line("dummy", "end", "worker-1", 12, W1, 3.1),
    line("dummy", "start", "worker-1", 13, W1, 3.2),
    line("dummy", "end", "worker-1", 13, W1, 3.3),
    '{"name": "torn", "ev',
    line("deferred", "start", "worker-1", 14, W1, 5.0),
    line("deferred", "end", "worker-1", 14, W1, 5.1),
]
PLACEMENTS = [
    placed("root", "worker-1", 10, W1),
    placed("deferring", "worker-1", 11, W1),
    placed("dummy", "worker-1", 12, W1),
    placed("dummy", "worker-1", 13, W1),
    placed("Job", "worker-1", 14, W1),
]


def test_parse_pairs_each_jobs_start_and_end() -> None:
    found = observations.parse(LINES)
    assert [(o.name, o.pid, o.end) for o in found] == [
        ("root", 10, 1.5),
        ("deferring", 11, None),
        ("dummy", 12, 3.1),
        ("dummy", 13, 3.3),
        ("deferred", 14, 5.1),
    ]
    assert found[0] == Observed("root", "worker-1", 10, W1, 1.0, 1.5)


def test_records_that_agree_with_the_jobs_raise_nothing() -> None:
    seen = observations.parse(LINES)
    assert observations.disagreements(PLACEMENTS, seen, CONTAINERS, ["deferred"]) == []


def test_a_record_that_lies_about_a_jobs_pid_is_caught() -> None:
    lying = [*PLACEMENTS[:1], dataclasses.replace(PLACEMENTS[1], pid=99), *PLACEMENTS[2:]]
    problems = observations.disagreements(lying, observations.parse(LINES), CONTAINERS, ["deferred"])
    assert problems == [
        f"deferring saw itself on worker-1 pid 11 container {W1[:12]}; the lab recorded deferring at: "
        f"worker-1 pid 99 container {W1[:12]}"
    ]


def test_a_record_that_lies_about_a_jobs_node_and_container_is_caught() -> None:
    lying = [dataclasses.replace(PLACEMENTS[0], node="worker-2", container=W2), *PLACEMENTS[1:]]
    problems = observations.disagreements(lying, observations.parse(LINES), CONTAINERS, ["deferred"])
    assert len(problems) == 1 and problems[0].startswith("root saw itself on worker-1 pid 10")


def test_two_jobs_of_one_name_cannot_share_one_record() -> None:
    one_dummy = [p for p in PLACEMENTS if not (p.name == "dummy" and p.pid == 13)]
    problems = observations.disagreements(one_dummy, observations.parse(LINES), CONTAINERS, ["deferred"])
    assert len(problems) == 1 and problems[0].startswith("dummy saw itself on worker-1 pid 13")


def test_a_container_that_is_not_dockers_for_that_node_is_caught() -> None:
    problems = observations.disagreements(
        PLACEMENTS, observations.parse(LINES), {"worker-1": W2}, ["deferred"]
    )
    assert problems and all("which is not Docker's worker-1" in p for p in problems)


def test_a_deferred_function_must_have_run_in_a_process_of_the_run() -> None:
    elsewhere = [p for p in PLACEMENTS if p.pid != 14]
    problems = observations.disagreements(elsewhere, observations.parse(LINES), CONTAINERS, ["deferred"])
    where = f"worker-1 pid 14 container {W1[:12]}"
    assert problems == [f"deferred ran on {where}, a worker process the lab recorded no job of this run in"]


def test_the_folder_is_named_after_the_job_store() -> None:
    assert observations.folder("file:/data/jobstores/foo.bar-1/") == "/data/observations/foo.bar-1"
