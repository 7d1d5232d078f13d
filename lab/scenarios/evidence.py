"""What scenarios run and read: the leaves workflow, and the ground truth of a run.

Ground truth is what the jobs wrote of themselves (each leaf's own record, on the shared
volume), what Toil's leader printed (the job logs it relays from the workers), and what
the scheduler says (`squeue`). The lab's own records are never evidence.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lab import workflow
from lab.leaves import LeavesRun
from lab.node import Node
from lab.process import Result
from lab.scenarios.scenario import Stage
from lab.toil_tests import cause

# squeue: one line per job; the reason last (it may hold spaces).
SQUEUE_FORMAT = "%i|%j|%T|%N|%r"


def leaves(stage: Stage, *, leaves: int, seconds: float, extra: Sequence[str] = ()) -> LeavesRun:
    """Start the leaves workflow (innode/workflows/leaves.py) in the background on the stage's lab,
    with the scenario's options and then the user's."""
    options = [*extra, *stage.toil_args]
    return LeavesRun(stage.lab, leaves=leaves, seconds=seconds, extra=options).start()


def ended_within(run: LeavesRun, seconds: float) -> Result | None:
    """The run's result if it ends within `seconds`, else None (it is still running)."""
    return run.background.ended_within(seconds)


def processes(node: Node, needle: str) -> list[str]:
    """`ps` lines (pid, elapsed time, command) of the node's processes whose command holds `needle`."""
    listing = node.exec(["ps", "-eo", "pid=,etime=,args="]).stdout.splitlines()
    return [" ".join(line.split()) for line in listing if needle in line and "ps -eo" not in line]


def start(stage: Stage, path: str, args: Sequence[str]) -> workflow.Background:
    """Stage an in-node workflow file (e.g. innode/workflows/service_client.py) on the leader and
    run it in the background with `args`, then the user's options, output captured."""
    leader = stage.leader()
    module, workdir = workflow.stage_workflow(leader, stage.lab.config.root / path)
    return workflow.run_in_background(leader, module, [*args, *stage.toil_args], workdir=workdir)


def leaf_lines(run: LeavesRun, index: int) -> list[str]:
    """Leaf `index`'s own lines: 'start NODE PID TIME' and 'done NODE PID TIME'."""
    return run.logs().get(index, [])


def relayed_log(output: str, job: str) -> list[str]:
    """The first failed job's log that Toil's leader relayed for a job whose name holds `job`,
    cleaned of Toil's prefixes; [] when it relayed none."""
    for name, block in cause.job_logs(output.splitlines()):
        if job in name:
            return [cause.clean(line) for line in block if line.strip()]
    return []


def leader_lines(output: str, needles: Iterable[str]) -> list[str]:
    """The leader's own lines (not relayed job logs) that hold one of `needles`, cleaned."""
    wanted = tuple(needles)
    relayed = False
    found = []
    for line in output.splitlines():
        if cause.JOB_LOG_START.search(line):
            relayed = True
        elif relayed and cause.JOB_LOG_END in line:
            relayed = False
        elif not relayed and any(needle in line for needle in wanted):
            found.append(cause.clean(line))
    return found


def ends_in(lines: Sequence[str], exception: str) -> bool:
    """True when a traceback among these lines ends in `exception` with no message (bare)."""
    return any(line.strip() == exception for line in cause.exceptions(lines))


@dataclass(frozen=True)
class QueuedJob:
    """One job as squeue lists it."""

    id: str
    name: str
    state: str  # PENDING, RUNNING, ...
    nodes: str
    reason: str

    @property
    def line(self) -> str:
        return f"{self.id} {self.name} {self.state} {self.nodes or '-'} ({self.reason})"


def parse_squeue(text: str) -> list[QueuedJob]:
    """Parse `squeue --noheader --format=SQUEUE_FORMAT`."""
    jobs = []
    for line in text.splitlines():
        parts = line.split("|", 4)
        if len(parts) == 5:
            jobs.append(QueuedJob(*(part.strip() for part in parts)))
    return jobs


def squeue(leader: Node) -> list[QueuedJob]:
    """Every job slurmctld holds now."""
    return parse_squeue(leader.exec(["squeue", "--noheader", f"--format={SQUEUE_FORMAT}"]).stdout)
