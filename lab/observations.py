"""What jobs saw of themselves, held against the lab's placement records, job by job.

The test workflows' jobs note, in their own code, their hostname, process id and
container id (from their own mount table) when their body starts and ends, on the
shared volume (tests/integration/userscripts/observed.py). The placement recorder
(innode/recorder.py) writes the same facts from outside the job's code. `disagreements`
holds one against the other: a recorder that lied about a job's node, process or
container is caught here.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from innode.layout import DATA_DIR
from lab.node import Node
from lab.placement import Placement

ROOT = f"{DATA_DIR}/observations"


@dataclass(frozen=True)
class Observed:
    """One job body, as the job itself saw it."""

    name: str
    host: str
    pid: int
    container: str
    start: float
    end: float | None  # None: the process died in the body (e.g. it killed itself)

    @property
    def process(self) -> tuple[str, str, int]:
        """Container, node and pid: what Placement.process says of a worker process."""
        return (self.container, self.host, self.pid)


def folder(job_store: str) -> str:
    """Where the jobs of the run with this job store write what they observed."""
    return f"{ROOT}/{job_store.removeprefix('file:').rstrip('/').rsplit('/', 1)[-1]}"


def parse(lines: Iterable[str]) -> list[Observed]:
    """Pair start and end lines by (name, pid); torn lines are skipped."""
    starts: dict[tuple[str, int], dict[str, object]] = {}
    ends: dict[tuple[str, int], float] = {}
    for line in lines:
        try:
            record = json.loads(line)
            key = (str(record["name"]), int(record["pid"]))
        except (ValueError, KeyError, TypeError):
            continue
        if record.get("event") == "start":
            starts[key] = record
        elif record.get("event") == "end":
            ends[key] = float(record["time"])
    found = [
        Observed(name, str(r["host"]), pid, str(r["container"]), float(str(r["time"])), ends.get((name, pid)))
        for (name, pid), r in starts.items()
    ]
    return sorted(found, key=lambda o: (o.start, o.name))


def read(leader: Node, job_store: str) -> list[Observed]:
    """What the jobs of this run observed, read on the leader."""
    where = folder(job_store)
    script = f"cat {shlex.quote(where)}/*.jsonl 2>/dev/null; true"
    return parse(leader.exec(["sh", "-c", script]).stdout.splitlines())


def disagreements(
    placements: Sequence[Placement],
    observed: Sequence[Observed],
    containers: Mapping[str, str],
    not_jobs: Iterable[str] = (),
) -> list[str]:
    """Where the lab's records and the jobs' own accounts differ; [] when they agree job by job.

    Each observation must match a placement of the same job name in node, pid and
    container, and each container must be Docker's for that node (`containers`: node name
    -> container id). Names in `not_jobs` (a deferred function) are no job of their own: each
    must have run in some worker process the lab recorded for this run.
    """
    problems = []
    unmatched = list(placements)
    free = set(not_jobs)
    for seen in observed:
        where = f"{seen.host} pid {seen.pid} container {seen.container[:12]}"
        if seen.name in free:
            if not any(p.process == seen.process for p in placements):
                problems.append(
                    f"{seen.name} ran on {where}, a worker process the lab recorded no job of this run in"
                )
        else:
            match = next((p for p in unmatched if p.name == seen.name and p.process == seen.process), None)
            if match is None:
                recorded = [
                    f"{p.node} pid {p.pid} container {p.container[:12]}"
                    for p in placements
                    if p.name == seen.name
                ]
                problems.append(
                    f"{seen.name} saw itself on {where}; the lab recorded {seen.name} at: "
                    f"{', '.join(recorded) or 'nowhere'}"
                )
            else:
                unmatched.remove(match)
        if containers.get(seen.host) != seen.container:
            problems.append(
                f"{seen.name} ran in container {seen.container[:12]}, which is not Docker's {seen.host} "
                f"({containers.get(seen.host, 'no such node')[:12]})"
            )
    return problems
