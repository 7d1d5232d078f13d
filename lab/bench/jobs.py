"""(b) 64 trivial Toil jobs on the lab's batch system, against the same workflow on single_machine."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lab import placement, workflow
from lab.bench.measure import cpu_seconds
from lab.cluster import Lab
from lab.errors import ConfigError, LabError, NotReady
from lab.steps import Say
from lab.wait import Check, wait_until

SINGLE_MACHINE = "single_machine"
WORKFLOW_MODULE = "bench_trivial"
# Toil logs every issued job at INFO; the bench wants only failures on its terminal.
QUIET_TOIL = ("--logLevel=ERROR",)

# The trivial workflow. Children take Toil's and the lab's default requirements
# (1 core, --defaultMemory), as a user's first workflow would.
WORKFLOW_TEMPLATE = '''\\
"""toil-lab bench: a root job that adds @JOBS@ children, each returning at once."""

from toil.common import Toil
from toil.job import Job


def child(job, index):
    return index


def root(job, count):
    for index in range(count):
        job.addChildJobFn(child, index)


if __name__ == "__main__":
    options = Job.Runner.getDefaultArgumentParser().parse_args()
    with Toil(options) as toil:
        toil.start(Job.wrapJobFn(root, @JOBS@))
'''


@dataclass(frozen=True)
class JobRun:
    """One run of the trivial workflow."""

    batch_system: str  # the lab's (slurm, mesos) or single_machine on its leader
    lab_batch_system: str  # the batch system of the lab it ran on
    round: int
    wall_s: float
    cpu_s: dict[str, float]  # CPU seconds each node's container used during the run
    jobs_recorded: int
    nodes_used: list[str]
    toil_args: list[str]


def workflow_source(jobs: int) -> str:
    """The source of the trivial workflow with `jobs` children."""
    if jobs < 1:
        raise ConfigError(f"--jobs={jobs}: the workflow needs at least one child job")
    return WORKFLOW_TEMPLATE.replace("@JOBS@", str(jobs))


def run_trivial(
    lab: Lab, path: Path, batch_system: str, round_: int, extra: Sequence[str], say: Say
) -> JobRun:
    """Run the trivial workflow once with `lab run`'s code path and time it."""
    args = [*QUIET_TOIL, *extra]
    if batch_system == SINGLE_MACHINE:
        args = ["--batchSystem", SINGLE_MACHINE, *args]
    nodes = [node for node in lab.nodes() if node.running]
    before = cpu_seconds(nodes)
    say(f"round {round_}: {batch_system} on the {lab.batch_system()} lab ...")
    started = time.monotonic()
    record, code = workflow.run_workflow(lab.leader(), path, args)
    wall = time.monotonic() - started
    after = cpu_seconds(nodes)
    if code != 0:
        raise LabError(
            f"the {batch_system} run of the bench workflow failed (exit code {code}, job store "
            f"{record.job_store}); rerun with --keep and look with `LAB_NAME={lab.config.name} lab logs`"
        )
    found = placement.of_run(nodes, record.job_store)
    used = sorted({p.node for p in found})
    say(f"round {round_}: {batch_system}: {wall:.1f} s, {len(found)} jobs on {', '.join(used)}")
    return JobRun(
        batch_system=batch_system,
        lab_batch_system=lab.batch_system(),
        round=round_,
        wall_s=round(wall, 2),
        cpu_s={name: round(after[name] - before[name], 2) for name in after},
        jobs_recorded=len(found),
        nodes_used=used,
        toil_args=list(args),
    )


def wait_until_idle(lab: Lab, timeout: float = 60.0) -> None:
    """Return once the scheduler holds no job (finished ones may still be completing)."""
    backend = lab.backend()

    def check() -> Check[None]:
        queued = backend.queued_jobs(lab.leader())
        return Check(queued == 0, f"{queued} jobs still held by {backend.scheduler}", None)

    with contextlib.suppress(NotReady):
        wait_until(check, what=f"no job left in {backend.scheduler}", timeout=timeout, interval=0.5)
