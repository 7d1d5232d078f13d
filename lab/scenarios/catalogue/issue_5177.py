"""Toil #5177: a job stopped at its Slurm time limit is reported as a bare KeyboardInterrupt.

Toil asks Slurm for `--signal=B:USR2@30` on every job, and its worker's handler for that
signal raises `KeyboardInterrupt()`; the worker then logs "Worker crashed with traceback"
ending in `KeyboardInterrupt` and exits 77. The leader's own line already says "Exit
reason: TIMELIMIT", so the verdict reads the job's own log, which the leader relays: that
is what a user reads to learn why a job died.

Preparation: none on the nodes; the run gives its one leaf a time limit shorter than its
sleep (`--slurmTime`), and no retry.
"""

from __future__ import annotations

from dataclasses import dataclass

from lab.scenarios import evidence
from lab.scenarios.scenario import Issue, Outcome, Scenario, Stage, outcome

# The leaf sleeps past its limit; Slurm warns it 30 s before (Toil's --signal=B:USR2@30).
# The limit is every job's, the root's too, and sbatch(1) says the warning "may be sent up
# to 60 seconds earlier than specified": under 0:01:00 it reached jobs 13 s after they
# started, and on a loaded host the root job, still running, died of it (exit 140) before
# adding the leaf. Under 0:02:00 no job is warned before it has run 30 s.
TIME_LIMIT = "0:02:00"
LEAF_SECONDS = 240.0
RUN_TIMEOUT = 300.0


@dataclass(frozen=True)
class Observed:
    exit_code: int | None
    leaf_attempts: list[str]  # the leaf's own lines: 'start|done NODE PID TIME'
    job_log: list[str]  # the failed leaf's log, as the leader relayed it
    leader_lines: list[str]  # the leader's lines about the failed job


class WalltimeKeyboardInterrupt(Scenario[Observed]):
    name = "5177-walltime"
    issue = Issue(
        5177, "Error message when job killed for running out of slurm time is very misleading", "open"
    )
    batch_systems = ("slurm",)
    expected = "reproduces"
    summary = f"one leaf sleeps {LEAF_SECONDS:g} s under --slurmTime {TIME_LIMIT}; read its relayed log"
    observed = Observed

    def play(self, stage: Stage) -> Observed:
        run = evidence.leaves(
            stage,
            leaves=1,
            seconds=LEAF_SECONDS,
            extra=["--slurmTime", TIME_LIMIT, "--retryCount", "0"],
        )
        result = run.wait(RUN_TIMEOUT)
        output = result.stdout + result.stderr
        return Observed(
            exit_code=result.returncode,
            leaf_attempts=evidence.leaf_lines(run, 0),
            job_log=evidence.relayed_log(output, "leaf"),
            leader_lines=evidence.leader_lines(output, ("Job failed with exit value", "Exit reason:")),
        )

    def judge(self, observed: Observed) -> Outcome:
        attempts = ("the leaf's own record", observed.leaf_attempts)
        if not any(line.startswith("start ") for line in observed.leaf_attempts):
            return outcome("inconclusive", "the leaf never started", attempts)
        if any(line.startswith("done ") for line in observed.leaf_attempts):
            return outcome("inconclusive", "the leaf finished within its time limit", attempts)
        if not observed.job_log:
            leader = ("Toil's leader", observed.leader_lines)
            return outcome(
                "inconclusive", "Toil's leader relayed no log of the stopped leaf", attempts, leader
            )
        said = [line for line in observed.job_log if "KeyboardInterrupt" in line or "crashed" in line]
        told = [line for line in observed.job_log if "time" in line.lower() and "limit" in line.lower()]
        relayed = ("the leaf's log, relayed by Toil's leader", said + told)
        leader = ("Toil's leader", observed.leader_lines)
        if evidence.ends_in(observed.job_log, "KeyboardInterrupt"):
            return outcome(
                "reproduces",
                "the time-limited job's own log ends in a bare KeyboardInterrupt traceback",
                relayed,
                leader,
            )
        if told:
            return outcome("fixed", "the job's own log says it ran out of time", relayed, leader)
        return outcome(
            "inconclusive",
            "the job's log neither ends in KeyboardInterrupt nor names a time limit",
            ("the leaf's log, relayed by Toil's leader", observed.job_log[-5:]),
            leader,
        )
