"""Toil #4853: `slurm_load_jobs error: Socket timed out` killed the workflow.

Toil ran out of retries within seconds when slurmctld did not answer squeue. Since PR
#4869 its grid-engine queries retry (`with_retries`, lib/retry.py's delays) until
`--statePollingTimeout` (1200 s).

Preparation: slurmctld is frozen (SIGSTOP) for FROZEN seconds while the run's leaves run,
so that squeue and scontrol time out (slurm.conf's MessageTimeout, 3 s), then thawed.
Observed: Toil's own error lines about the failed queries, and how the run ended.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from lab.node import Node
from lab.scenarios import evidence
from lab.scenarios.scenario import Issue, Outcome, Scenario, Stage, outcome
from lab.wait import Check, wait_until

LEAVES = 3
LEAF_SECONDS = 20.0
# Longer than the few seconds Toil retried before the fix.
FROZEN = 60.0
RUN_TIMEOUT = 300.0
FAILED_QUERY = (
    "Errored operation",
    "Failed operation",
    "Socket timed out",
    "Unable to contact slurm controller",
)


@dataclass(frozen=True)
class Observed:
    frozen_for: float  # seconds slurmctld was stopped
    stopped_state: str  # slurmctld's process state while frozen ('T': stopped)
    query_errors: list[str]  # Toil's lines about queries that failed
    exit_code: int | None
    leaves_done: int  # leaves whose own record says they finished


class SlurmctldUnreachable(Scenario[Observed]):
    name = "4853-slurmctld-timeout"
    issue = Issue(4853, "Make Slurm `getRunningJobIDs` retry more", "closed")
    batch_systems = ("slurm",)
    expected = "fixed"
    summary = f"freeze slurmctld for {FROZEN:g} s under {LEAVES} running leaves; does the run survive?"
    observed = Observed

    def play(self, stage: Stage) -> Observed:
        leader = stage.leader()
        run = evidence.leaves(stage, leaves=LEAVES, seconds=LEAF_SECONDS)

        def started() -> Check[None]:
            count = sum(1 for lines in run.logs().values() if lines)
            return Check(count >= 1, f"{count} leaves started", None)

        wait_until(started, what="a leaf to start", timeout=90)
        _signal(leader, "STOP")
        frozen_at = time.monotonic()
        stage.undo("thaw slurmctld", lambda: _signal(leader, "CONT"))
        state = leader.exec(["ps", "-o", "stat=", "-C", "slurmctld"], check=False).stdout.strip()
        time.sleep(FROZEN)
        _signal(leader, "CONT")
        frozen_for = time.monotonic() - frozen_at
        result = run.wait(RUN_TIMEOUT)
        output = result.stdout + result.stderr
        done = sum(1 for lines in run.logs().values() if any(line.startswith("done ") for line in lines))
        return Observed(
            frozen_for=round(frozen_for, 1),
            stopped_state=state,
            query_errors=evidence.leader_lines(output, FAILED_QUERY)[:6],
            exit_code=result.returncode,
            leaves_done=done,
        )

    def judge(self, observed: Observed) -> Outcome:
        frozen = ("slurmctld's state while frozen (ps)", [observed.stopped_state or "(not found)"])
        if not observed.stopped_state.startswith("T"):
            return outcome("inconclusive", "slurmctld was not stopped", frozen)
        errors = ("Toil's leader", observed.query_errors)
        if not observed.query_errors:
            return outcome(
                "inconclusive",
                f"Toil asked nothing of slurmctld that failed in the {observed.frozen_for:g} s it was frozen",
                frozen,
            )
        if observed.exit_code == 0 and observed.leaves_done == LEAVES:
            return outcome(
                "fixed",
                f"Toil's queries failed while slurmctld was frozen for {observed.frozen_for:g} s, "
                "and the run finished every leaf",
                errors,
            )
        return outcome(
            "reproduces",
            f"the run ended with exit code {observed.exit_code} and {observed.leaves_done}/{LEAVES} leaves "
            "done after slurmctld stopped answering",
            errors,
        )


def _signal(leader: Node, name: str) -> None:
    """Stop (STOP) or resume (CONT) slurmctld on the leader."""
    leader.exec(["pkill", f"-{name}", "-x", "slurmctld"], user="root")
