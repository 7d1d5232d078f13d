"""Toil #5082: after `toil kill` of a running Slurm workflow, its jobs stayed in the queue.

PR #5083 made the grid-engine batch systems cancel every issued job when they shut down.
`toil kill JOBSTORE` on the leader's machine sends the leader SIGTERM, and the leader shuts
its batch system down.

Preparation: none on the nodes. Three leaves sleep far longer than the scenario lasts;
once squeue shows them running, `toil kill` is run on the leader. Observed: squeue before the
kill, and the same jobs' presence after the leader has exited (KILL_GRACE seconds later).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from innode.layout import LAB_USER
from lab import workflow
from lab.scenarios import evidence
from lab.scenarios.scenario import Issue, Outcome, Scenario, Stage, outcome
from lab.wait import Check, wait_until

LEAVES = 3
LEAF_SECONDS = 600.0
# How long the jobs may take to leave the queue after the leader exits (slurmctld's KillWait
# is 5 s on a lab).
KILL_GRACE = 20.0
START_TIMEOUT = 90.0
EXIT_TIMEOUT = 120.0


@dataclass(frozen=True)
class Observed:
    running_before: list[str]  # squeue lines of the run's leaf jobs before the kill
    kill_output: list[str]  # what `toil kill` said
    leader_exit_code: int | None  # None: the leader did not exit
    left_after: list[str]  # squeue lines of those jobs KILL_GRACE s after the leader exited
    leader_lines: list[str]


class KillLeavesJobsQueued(Scenario[Observed]):
    name = "5082-toil-kill"
    issue = Issue(5082, "Slurm jobs can stay running after `toil kill`", "closed")
    batch_systems = ("slurm",)
    expected = "fixed"
    summary = f"`toil kill` a run of {LEAVES} running leaves; are its Slurm jobs gone {KILL_GRACE:g} s after?"
    observed = Observed

    def play(self, stage: Stage) -> Observed:
        leader = stage.leader()
        run = evidence.leaves(stage, leaves=LEAVES, seconds=LEAF_SECONDS)
        ids: list[str] = []

        def cancel_left() -> None:
            if ids:
                leader.exec(["scancel", *ids], check=False)

        stage.undo("cancel the run's Slurm jobs", cancel_left)

        def leaves_running() -> Check[list[evidence.QueuedJob]]:
            jobs = [j for j in evidence.squeue(leader) if j.name.endswith("_leaf") and j.state == "RUNNING"]
            return Check(len(jobs) >= LEAVES, f"{len(jobs)} leaf jobs running", jobs)

        before = wait_until(leaves_running, what=f"{LEAVES} leaf jobs to run", timeout=START_TIMEOUT).value
        ids.extend(job.id for job in before)
        job_store = workflow.require_last_run(leader).job_store
        killed = leader.exec(["toil", "kill", job_store], user=LAB_USER, check=False)
        result = evidence.ended_within(run, EXIT_TIMEOUT)
        exit_code = None if result is None else result.returncode
        output = "" if result is None else result.stdout + result.stderr
        time.sleep(KILL_GRACE)
        left = [job for job in evidence.squeue(leader) if job.id in ids]
        return Observed(
            running_before=[job.line for job in before],
            kill_output=(killed.stdout + killed.stderr).strip().splitlines()[-5:],
            leader_exit_code=exit_code,
            left_after=[job.line for job in left],
            leader_lines=evidence.leader_lines(output, ("kill", "Kill", "signal", "Signal"))[-8:],
        )

    def judge(self, observed: Observed) -> Outcome:
        before = ("squeue before the kill", observed.running_before)
        if len(observed.running_before) < LEAVES:
            return outcome("inconclusive", "the run's leaves were not all running when it was killed", before)
        killed = ("toil kill", observed.kill_output)
        if observed.leader_exit_code is None:
            return outcome(
                "inconclusive", f"Toil's leader did not exit within {EXIT_TIMEOUT:g} s", before, killed
            )
        if observed.left_after:
            return outcome(
                "reproduces",
                f"{len(observed.left_after)} of the killed run's jobs were still queued {KILL_GRACE:g} s "
                "after its leader exited",
                before,
                (f"squeue {KILL_GRACE:g} s after the leader exited", observed.left_after),
            )
        return outcome(
            "fixed",
            f"none of the run's {len(observed.running_before)} jobs was in squeue {KILL_GRACE:g} s after "
            f"its leader exited ({observed.leader_exit_code})",
            before,
            killed,
            ("Toil's leader", observed.leader_lines),
        )
