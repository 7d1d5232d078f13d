"""lab/placement.py: start and end records paired into placements, and shown."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from innode.layout import PLACEMENT_DIR
from lab import placement
from lab.placement import Placement
from lab.process import Result

T0 = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
STORE = "file:/data/jobstores/fanout-20241129-201502-123456"


def start(node: str, pid: int, started: float, sequence: int, time: float, **extra: Any) -> str:
    record = {
        "event": "start",
        "pid": pid,
        "process_started": started,
        "sequence": sequence,
        "time": time,
        "node": node,
        "container": f"{node}-container",
        "job_name": "fanout.child",
        "unit_name": "",
        "job_id": f"kind-child/instance-{node}-{sequence}",
        "batch_job_id": "17",
        "job_store": STORE,
        "workflow_id": "wf-1",
        **extra,
    }
    return json.dumps(record, sort_keys=True)


def end(
    node: str, pid: int, started: float, sequence: int, time: float, status: str = "ok", error: str = ""
) -> str:
    record: dict[str, Any] = {
        "event": "end",
        "node": node,
        "pid": pid,
        "process_started": started,
        "sequence": sequence,
        "time": time,
        "status": status,
    }
    if error:
        record["error"] = error
    return json.dumps(record, sort_keys=True)


def test_pairs_start_and_end_across_nodes_with_the_same_pid() -> None:
    # Containers have their own pid namespaces: two workers often share a pid.
    lines = [
        start("worker-1", 57, T0, 0, T0 + 1.0),
        start("worker-2", 57, T0 + 0.5, 0, T0 + 1.5),
        end("worker-2", 57, T0 + 0.5, 0, T0 + 4.0, status="failed", error="RuntimeError: boom"),
        end("worker-1", 57, T0, 0, T0 + 2.0),
    ]
    one, two = placement.parse_records(lines)
    assert (one.node, one.pid, one.start, one.end, one.status, one.error) == (
        "worker-1",
        57,
        T0 + 1.0,
        T0 + 2.0,
        "ok",
        "",
    )
    assert (two.node, two.start, two.end, two.status, two.error) == (
        "worker-2",
        T0 + 1.5,
        T0 + 4.0,
        "failed",
        "RuntimeError: boom",
    )


def test_an_end_pairs_only_with_the_start_of_its_own_node() -> None:
    # Two containers can start a worker with the same pid in the same instant; only
    # the node tells their records apart.
    lines = [
        start("worker-1", 57, T0, 0, T0 + 1.0),
        start("worker-2", 57, T0, 0, T0 + 1.5),
        end("worker-2", 57, T0, 0, T0 + 3.0, status="failed", error="OSError: gone"),
    ]
    one, two = placement.parse_records(lines)
    assert (one.node, one.status, one.end, one.error) == ("worker-1", "unfinished", None, "")
    assert (two.node, two.status, two.end, two.error) == ("worker-2", "failed", T0 + 3.0, "OSError: gone")


def test_an_end_from_another_node_does_not_finish_a_job() -> None:
    lines = [start("worker-1", 57, T0, 0, T0 + 1.0), end("worker-3", 57, T0, 0, T0 + 2.0)]
    [p] = placement.parse_records(lines)
    assert (p.node, p.status, p.end) == ("worker-1", "unfinished", None)


def test_all_fields_of_a_placement() -> None:
    [p] = placement.parse_records(
        [start("worker-3", 9, T0, 0, T0 + 1, unit_name="child 3"), end("worker-3", 9, T0, 0, T0 + 2)]
    )
    assert p == Placement(
        name="child 3",
        job_name="fanout.child",
        job_id="kind-child/instance-worker-3-0",
        node="worker-3",
        container="worker-3-container",
        pid=9,
        sequence=0,
        start=T0 + 1,
        end=T0 + 2,
        status="ok",
        error="",
        batch_job_id="17",
        workflow_id="wf-1",
        job_store=STORE,
    )
    assert p.process == ("worker-3-container", "worker-3", 9)
    assert p.to_json()["name"] == "child 3"
    assert json.loads(json.dumps(p.to_json())) == p.to_json()


def test_name_falls_back_to_the_job_name() -> None:
    [p] = placement.parse_records([start("worker-1", 1, T0, 0, T0)])
    assert p.name == "fanout.child"


def test_start_without_end_is_unfinished() -> None:
    [p] = placement.parse_records([start("worker-1", 42, T0, 0, T0 + 1)])
    assert (p.status, p.end, p.error) == ("unfinished", None, "")


def test_torn_last_line_is_skipped() -> None:
    lines = [
        start("worker-1", 42, T0, 0, T0 + 1),
        end("worker-1", 42, T0, 0, T0 + 2),
        start("worker-1", 42, T0, 1, T0 + 3),
        end("worker-1", 42, T0, 1, T0 + 4)[:25],  # the process was killed mid-write
    ]
    first, second = placement.parse_records(lines)
    assert (first.sequence, first.status) == (0, "ok")
    assert (second.sequence, second.status, second.end) == (1, "unfinished", None)


@pytest.mark.parametrize(
    "line",
    ["not json at all", "[1, 2, 3]", '"a string"', "null", "42", '{"event": "start"}', '{"pid": 1}', "   "],
)
def test_foreign_lines_are_skipped(line: str) -> None:
    assert placement.parse_records([line, start("worker-1", 1, T0, 0, T0)])[0].pid == 1
    assert placement.parse_records([line]) == []


def test_sequence_and_time_order() -> None:
    lines = [
        start("worker-2", 8, T0, 1, T0 + 5),
        start("worker-1", 3, T0, 0, T0 + 2),
        start("worker-2", 8, T0, 0, T0 + 1),
        end("worker-2", 8, T0, 1, T0 + 6),
        end("worker-2", 8, T0, 0, T0 + 2),
    ]
    found = placement.parse_records(lines)
    assert [(p.node, p.sequence) for p in found] == [("worker-2", 0), ("worker-1", 0), ("worker-2", 1)]
    assert [p.end for p in found] == [T0 + 2, None, T0 + 6]


def test_for_job_store_with_and_without_file_prefix() -> None:
    lines = [
        start("worker-1", 1, T0, 0, T0, job_store="file:/data/jobstores/a"),
        start("worker-1", 2, T0, 0, T0, job_store="/data/jobstores/a"),
        start("worker-1", 3, T0, 0, T0, job_store="/data/jobstores/ab"),
        start("worker-1", 4, T0, 0, T0, job_store="file:/data/jobstores/b"),
    ]
    found = placement.parse_records(lines)
    assert [p.pid for p in placement.for_job_store(found, "/data/jobstores/a")] == [1, 2]
    assert [p.pid for p in placement.for_job_store(found, "file:/data/jobstores/a")] == [1, 2]
    assert [p.pid for p in placement.for_job_store(found, "/data/jobstores/b")] == [4]
    assert placement.for_job_store(found, "/data/jobstores/c") == []


def test_format_table() -> None:
    found = placement.parse_records(
        [
            start("worker-1", 10, T0, 0, T0, unit_name="root"),
            end("worker-1", 10, T0, 0, T0 + 1.25),
            start("worker-2", 10, T0 + 0.1, 0, T0 + 1.5, job_name="fanout.child"),
            end("worker-2", 10, T0 + 0.1, 0, T0 + 3.0, status="failed", error="x"),
            start("worker-2", 10, T0 + 0.1, 1, T0 + 3.5),
        ]
    )
    lines = placement.format_table(found).splitlines()
    assert lines[0].split() == ["JOB", "NODE", "PID", "SEQ", "START", "END", "STATUS"]
    assert lines[1].split() == ["root", "worker-1", "10", "0", "+0.00s", "+1.25s", "ok"]
    assert lines[2].split() == ["fanout.child", "worker-2", "10", "0", "+1.50s", "+3.00s", "failed"]
    assert lines[3].split() == ["fanout.child", "worker-2", "10", "1", "+3.50s", "-", "unfinished"]
    # Columns line up: every row puts NODE at the same offset.
    assert {line.index("worker-") for line in lines[1:4]} == {lines[0].index("NODE")}
    assert lines[4] == ""
    assert lines[5] == (
        "3 jobs in 2 worker processes on 2 nodes (worker-1, worker-2); started 2023-11-14 22:13:20 UTC"
    )


def test_format_table_without_jobs() -> None:
    assert placement.format_table([]) == "no jobs recorded for this run"


# --- collect ---------------------------------------------------------------------


class RecordingNode:
    """A Node-like object whose exec answers with canned output."""

    def __init__(self, name: str, stdout: str, running: bool = True) -> None:
        self.name = name
        self.stdout = stdout
        self.running = running
        self.calls: list[list[str]] = []

    def exec(self, argv: Sequence[str], **kwargs: Any) -> Result:
        if not self.running:
            raise AssertionError(f"exec on stopped node {self.name}")
        self.calls.append(list(argv))
        return Result(tuple(argv), 0, self.stdout, "")


def test_collect_reads_every_running_node() -> None:
    one = RecordingNode(
        "worker-1", start("worker-1", 5, T0, 0, T0 + 1) + "\n" + end("worker-1", 5, T0, 0, T0 + 2) + "\n"
    )
    two = RecordingNode("worker-2", start("worker-2", 5, T0 + 1, 0, T0 + 3) + "\n")
    stopped = RecordingNode("worker-3", "", running=False)
    found = placement.collect([one, two, stopped])  # type: ignore[list-item]
    assert [(p.node, p.status) for p in found] == [("worker-1", "ok"), ("worker-2", "unfinished")]
    # awk, not cat: awk ends a torn last line, so it cannot join the next file's first.
    assert one.calls == [["sh", "-c", "awk 1 /var/lib/lab/placement/*.jsonl 2>/dev/null; true"]]
    assert two.calls == one.calls
    assert stopped.calls == []


class LocalNode:
    """A Node-like object that runs exec's argv here, with the placement dir moved to `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.running = True

    def exec(self, argv: Sequence[str], **kwargs: Any) -> Result:
        argv = [arg.replace(PLACEMENT_DIR, str(self.root)) for arg in argv]
        assert any(str(self.root) in arg for arg in argv), f"{argv!r} does not read the placement dir"
        done = subprocess.run(argv, capture_output=True, text=True, check=True)
        return Result(tuple(argv), done.returncode, done.stdout, done.stderr)


def test_collect_of_a_node_without_records(tmp_path: Path) -> None:
    assert placement.collect([LocalNode(tmp_path / "missing")]) == []  # type: ignore[list-item]


def test_a_torn_file_does_not_swallow_the_next_files_first_record(tmp_path: Path) -> None:
    """A killed worker leaves its own file without a final newline; the next file must still count."""
    killed = tmp_path / "worker-1-100-1700000000000.jsonl"
    killed.write_text(start("worker-1", 100, T0, 0, T0 + 1) + "\n" + end("worker-1", 100, T0, 0, T0 + 2)[:30])
    alive = tmp_path / "worker-1-200-1700000005000.jsonl"
    alive.write_text(
        start("worker-1", 200, T0 + 5, 0, T0 + 6) + "\n" + end("worker-1", 200, T0 + 5, 0, T0 + 7) + "\n"
    )
    found = placement.collect([LocalNode(tmp_path)])  # type: ignore[list-item]
    assert [(p.pid, p.status) for p in found] == [(100, "unfinished"), (200, "ok")]


def test_a_file_without_a_final_newline_keeps_its_last_record(tmp_path: Path) -> None:
    (tmp_path / "worker-1-100-1700000000000.jsonl").write_text(
        start("worker-1", 100, T0, 0, T0 + 1) + "\n" + end("worker-1", 100, T0, 0, T0 + 2)
    )
    (tmp_path / "worker-1-200-1700000005000.jsonl").write_text(
        start("worker-1", 200, T0 + 5, 0, T0 + 6) + "\n"
    )
    (tmp_path / "notes.txt").write_text(start("worker-1", 300, T0 + 9, 0, T0 + 9) + "\n")
    found = placement.collect([LocalNode(tmp_path)])  # type: ignore[list-item]
    assert [(p.pid, p.status) for p in found] == [(100, "ok"), (200, "unfinished")]
