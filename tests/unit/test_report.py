"""lab/report.py: the HTML page of where and when each job ran."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from lab.placement import Placement
from lab.report import render, write_report
from lab.workflow import RunRecord

T0 = 1_700_000_000.0


def placement(name: str = "job", **fields: Any) -> Placement:
    """A placement with plausible defaults; `fields` override them."""
    values: dict[str, Any] = {
        "name": name,
        "job_name": name,
        "job_id": f"id-{name}",
        "node": "worker-1",
        "container": "c1",
        "pid": 10,
        "sequence": 0,
        "start": T0,
        "end": T0 + 5.0,
        "status": "ok",
        "error": "",
        "batch_job_id": "1",
        "workflow_id": "w",
        "job_store": "/data/jobstores/hello",
    }
    values.update(fields)
    return Placement(**values)


def bars(page: str) -> list[str]:
    """Each job's group: its tooltip, its rect and its label."""
    return re.findall(r"<g><title>.*?</g>", page)


def row_pids(page: str) -> list[int]:
    return [int(pid) for pid in re.findall(r'<text class="pid"[^>]*>[^<]* · pid (\d+)</text>', page)]


def node_labels(page: str) -> list[str]:
    return re.findall(r'<text class="node"[^>]*>([^<]*)</text>', page)


def test_one_bar_per_placement_and_one_row_per_process_grouped_by_node() -> None:
    placements = [
        placement("a", node="worker-2", container="c2", pid=20, start=T0 + 1, end=T0 + 3),
        placement("b", node="worker-1", container="c1", pid=10, start=T0, end=T0 + 2),
        placement("c", node="worker-1", container="c1", pid=10, sequence=1, start=T0 + 2, end=T0 + 4),
        placement("d", node="worker-1", container="c1", pid=11, start=T0 + 3, end=T0 + 6),
    ]
    page = render(placements, "run")
    assert page.count('<rect class="job ') == 4
    assert row_pids(page) == [10, 11, 20]
    # worker-2's process started between worker-1's two, yet worker-1's rows stay together.
    assert node_labels(page) == ["worker-1", "worker-2"]
    assert "b → c · pid 10" in page
    assert "4 jobs in 3 worker processes on 2 nodes" in page


def test_same_pid_in_two_containers_is_two_rows() -> None:
    placements = [
        placement("a", node="worker-1", container="c1", pid=7),
        placement("b", node="worker-2", container="c2", pid=7),
    ]
    page = render(placements, "run")
    assert row_pids(page) == [7, 7]
    assert node_labels(page) == ["worker-1", "worker-2"]


def test_failed_job_is_drawn_as_failed() -> None:
    page = render([placement("ok"), placement("bad", pid=11, status="failed", error="boom")], "run")
    failed = [bar for bar in bars(page) if 'class="job failed"' in bar]
    assert len(failed) == 1
    assert "bad on worker-1" in failed[0]
    assert "boom" in failed[0]
    assert page.count('<rect class="job ok"') == 1
    assert "1 failed, 0 unfinished" in page


def test_unfinished_job_is_dashed_and_says_its_worker_died() -> None:
    placements = [
        placement("lost", pid=11, start=T0, end=None, status="unfinished"),
        placement("fine", pid=10, start=T0, end=T0 + 100.0),
    ]
    page = render(placements, "run")
    lost, fine = sorted(bars(page), key=lambda bar: "lost" not in bar)
    assert 'class="job unfinished"' in lost
    assert "stroke-dasharray" in lost
    assert "(worker died)" in lost
    assert "worker process died" in lost  # the tooltip
    assert "stroke-dasharray" not in fine
    assert "(worker died)" not in fine


def test_short_unfinished_job_still_says_so_in_its_tooltip() -> None:
    placements = [
        placement("lost", pid=11, start=T0 + 99.9, end=None, status="unfinished"),
        placement("fine", pid=10, start=T0, end=T0 + 100.0),
    ]
    page = render(placements, "run")
    (lost,) = [bar for bar in bars(page) if "lost" in bar]
    assert "stroke-dasharray" in lost
    title = re.search(r"<title>(.*?)</title>", lost)
    assert title is not None and "worker process died" in title.group(1)
    assert "0 failed, 1 unfinished" in page


def test_names_are_html_escaped() -> None:
    page = render([placement("<b>", job_id='x"y', error="<i>")], "<script>")
    assert "<b>" not in page
    assert "<i>" not in page
    assert "<script>" not in page
    assert "&lt;b&gt;" in page
    assert 'data-job="x&quot;y"' in page
    assert "<title>&lt;script&gt;</title>" in page


def test_no_placements_renders_a_page_that_says_so() -> None:
    page = render([], "empty")
    assert page.startswith("<!DOCTYPE html>")
    assert "no jobs recorded" in page
    assert "0 jobs in 0 worker processes on 0 nodes" in page
    assert '<rect class="job ' not in page
    assert page.rstrip().endswith("</html>")


def test_write_report_names_the_file_after_the_job_store(tmp_path: Path) -> None:
    record = RunRecord(
        workflow="hello",
        module="hello",
        job_store="/data/jobstores/hello-20240101-000000-000001/",
        argv=[],
        started=T0,
        exit_code=3,
    )
    directory = tmp_path / "reports" / "nested"
    path = write_report(directory, record, [placement("a")])
    assert path == directory / "hello-20240101-000000-000001.html"
    text = path.read_text()
    assert "<title>hello: exit code 3</title>" in text
    assert text.count('<rect class="job ') == 1
