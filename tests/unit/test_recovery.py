"""lab/bench/recovery.py: reading the leaves' attempt logs, and the recovery table."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from lab.bench.recovery import LEAVES, SECONDS, LeavesRun, Recovery, format_report
from lab.node import Node

from .fakes import FakeRun

LEADER_ID = "a" * 64
RECORD_DIR = "/data/x"
LEAF_LOGS = (
    "== /data/x/leaf-0.log\n"
    "start worker-1 10 100.0\n"
    "done worker-1 10 112.0\n"
    "== /data/x/leaf-1.log\n"
    "start worker-2 11 100.5\n"
    "start worker-3 20 140.0\n"
    "done worker-3 20 152.0\n"
)


class FakeLab:
    """Just what LeavesRun.attempts asks of a Lab: its leader."""

    def __init__(self) -> None:
        self.config = SimpleNamespace(name="t")
        self.leader = Node(
            name="leader",
            role="leader",
            container_id=LEADER_ID,
            container_name="t-leader-1",
            state="running",
            health="",
        )


def leaves_run(fake_run: FakeRun, output: str = LEAF_LOGS) -> LeavesRun:
    fake_run.on("docker", "exec", LEADER_ID, "sh", "-c", stdout=output)
    the_lab: Any = FakeLab()
    return LeavesRun(the_lab, record_dir=RECORD_DIR)


def test_attempts_parses_each_leafs_log(fake_run: FakeRun) -> None:
    run = leaves_run(fake_run)
    assert run.attempts() == {
        0: ["start worker-1 10 100.0", "done worker-1 10 112.0"],
        1: ["start worker-2 11 100.5", "start worker-3 20 140.0", "done worker-3 20 152.0"],
    }
    (argv,) = fake_run.argvs
    assert argv[:5] == ["docker", "exec", LEADER_ID, "sh", "-c"]
    assert f"{RECORD_DIR}/leaf-*.log" in argv[5]


def test_attempts_with_no_logs_yet_is_empty(fake_run: FakeRun) -> None:
    assert leaves_run(fake_run, output="").attempts() == {}


def test_attempts_keeps_a_leaf_that_has_not_logged_yet(fake_run: FakeRun) -> None:
    run = leaves_run(fake_run, output="== /data/x/leaf-12.log\n\n")
    assert run.attempts() == {12: []}


def test_reruns_lists_leaves_started_more_than_once(fake_run: FakeRun) -> None:
    run = leaves_run(fake_run)
    assert run.reruns(struck_wall=110.0) == [(1, 2, 1, 30.0)]


def test_reruns_of_a_run_without_reruns_is_empty(fake_run: FakeRun) -> None:
    run = leaves_run(fake_run, output="== /data/x/leaf-0.log\nstart worker-1 10 100.0\n")
    assert run.reruns(struck_wall=50.0) == []


def recovery(kind: str, rerun_after: float | None, finished_after: float, ok: bool = True) -> Recovery:
    return Recovery(
        kind=kind,
        victim="worker",
        finished_after=finished_after,
        rerun_after=rerun_after,
        total=60.0,
        baseline=41.0,
        ok=ok,
    )


def test_format_report_of_measured_faults() -> None:
    report = format_report(
        [
            recovery("kill", rerun_after=30.04, finished_after=45.0),
            recovery("restart-scheduler", rerun_after=None, finished_after=12.3),
            recovery("pause", rerun_after=8.0, finished_after=50.5, ok=False),
        ]
    )
    header, columns, *rows = report.splitlines()
    assert header == (
        f"Recovery per fault kind ({LEAVES} leaves of {SECONDS:g}s; baseline without a fault: 41.0s)"
    )
    assert columns.split() == ["FAULT", "RERUN", "AFTER", "DONE", "AFTER", "OUTPUTS"]
    assert [row.split() for row in rows] == [
        ["kill", "30.0s", "45.0s", "exactly", "once"],
        ["restart-scheduler", "-", "12.3s", "exactly", "once"],
        ["pause", "8.0s", "50.5s", "WRONG"],
    ]
    # The times end where their headings end.
    for row in rows:
        _, rerun, done, *_ = row.split()
        assert right_edge(row, rerun) == right_edge(columns, "RERUN AFTER")
        assert right_edge(row, done) == right_edge(columns, "DONE AFTER")


def right_edge(line: str, text: str) -> int:
    return line.rindex(text) + len(text)


def test_format_report_of_nothing_says_so() -> None:
    assert format_report([]).splitlines()[0] == "no faults measured"
