"""Placement: where each job of a run ran, from the records written on the nodes."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

from innode.layout import PLACEMENT_DIR
from lab.node import Node

# Prints every record file of a node, each ending in a newline even when a killed
# process left its last line torn (awk 1); nothing, and exit 0, when there are none.
COLLECT_ARGV = ["sh", "-c", f"awk 1 {PLACEMENT_DIR}/*.jsonl 2>/dev/null; true"]


@dataclass(frozen=True)
class Placement:
    """One job body run in one worker process."""

    name: str  # the job's name as Toil shows it (unitName, else jobName)
    job_name: str
    job_id: str
    node: str  # the kernel's hostname in the process that ran it
    container: str  # the container id the process found in its own mounts
    pid: int
    sequence: int  # 0 for the first job this worker process ran
    start: float
    end: float | None  # None when the process died before the job ended
    status: str  # ok, failed, or unfinished
    error: str
    batch_job_id: str
    workflow_id: str
    job_store: str

    @property
    def process(self) -> tuple[str, str, int]:
        """What identifies the worker process: container, node and pid."""
        return (self.container, self.node, self.pid)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of this placement."""
        return asdict(self)


def parse_records(lines: Iterable[str]) -> list[Placement]:
    """Pair start and end records into placements; torn or foreign lines are skipped."""
    starts: dict[tuple[Any, ...], dict[str, Any]] = {}
    ends: dict[tuple[Any, ...], dict[str, Any]] = {}
    for line in lines:
        line = line.strip()
        if not line:
            continue
        try:
            record = json.loads(line)
            key = (record["node"], record["pid"], record["process_started"], record["sequence"])
            event = record["event"]
        except (ValueError, KeyError, TypeError):
            continue  # a line cut short by a killed process, or not ours
        if event == "start":
            starts[key] = record
        elif event == "end":
            ends[key] = record
    placements = []
    for key, start in starts.items():
        end = ends.get(key)
        placements.append(
            Placement(
                name=str(start.get("unit_name") or start.get("job_name", "")),
                job_name=str(start.get("job_name", "")),
                job_id=str(start.get("job_id", "")),
                node=str(start.get("node", "")),
                container=str(start.get("container", "")),
                pid=int(start["pid"]),
                sequence=int(start["sequence"]),
                start=float(start["time"]),
                end=None if end is None else float(end["time"]),
                status="unfinished" if end is None else str(end.get("status", "")),
                error="" if end is None else str(end.get("error", "")),
                batch_job_id=str(start.get("batch_job_id", "")),
                workflow_id=str(start.get("workflow_id", "")),
                job_store=str(start.get("job_store", "")),
            )
        )
    return sorted(placements, key=lambda p: (p.start, p.node, p.pid, p.sequence))


def collect(nodes: Sequence[Node]) -> list[Placement]:
    """Read the records of every running node."""
    lines: list[str] = []
    for node in nodes:
        if node.running:
            lines += node.exec(COLLECT_ARGV).stdout.splitlines()
    return parse_records(lines)


def for_job_store(placements: Iterable[Placement], job_store: str) -> list[Placement]:
    """The placements of the run that used this job store."""
    return [p for p in placements if p.job_store.removeprefix("file:") == job_store.removeprefix("file:")]


def of_run(nodes: Sequence[Node], job_store: str) -> list[Placement]:
    """The placements of the run that used this job store, read from every running node."""
    return for_job_store(collect(nodes), job_store)


def format_table(placements: Sequence[Placement]) -> str:
    """A table a person reads: one line per job."""
    if not placements:
        return "no jobs recorded for this run"
    origin = min(p.start for p in placements)
    rows = [("JOB", "NODE", "PID", "SEQ", "START", "END", "STATUS")]
    for p in placements:
        rows.append(
            (
                p.name,
                p.node,
                str(p.pid),
                str(p.sequence),
                f"+{p.start - origin:.2f}s",
                "-" if p.end is None else f"+{p.end - origin:.2f}s",
                p.status,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip()
        for row in rows
    ]
    when = datetime.fromtimestamp(origin, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    nodes = sorted({p.node for p in placements})
    processes = {p.process for p in placements}
    summary = (
        f"{len(placements)} jobs in {len(processes)} worker processes on {len(nodes)} nodes "
        f"({', '.join(nodes)}); started {when}"
    )
    return "\n".join([*lines, "", summary])
