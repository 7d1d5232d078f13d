"""Toil #1629: when Mesos removes Toil's framework, Toil's leader does not notice.

"Mesos aborted my toil framework last night, but the leader didn't notice, and left several
instances running idle." Toil's Mesos batch system runs its scheduler driver (pymesos) in a
thread of its own; nothing tells the leader that the framework is gone, and with no offers
no job runs again.

Preparation: none on the nodes. While the run's leaves run, the master is told to tear
down Toil's framework (the operator API's TEARDOWN, as an operator or a failed master
would). Observed: the master's own state of the framework, and whether Toil's leader is
still running WATCH seconds later, with its jobs' records.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from lab import fault, workflow
from lab.backends import mesos
from lab.errors import LabError
from lab.scenarios import evidence
from lab.scenarios.scenario import Issue, Outcome, Scenario, Stage, outcome
from lab.wait import Check, wait_until

LEAVES = 3
LEAF_SECONDS = 30.0
# Long past what the leaves needed: a leader that noticed has ended by then.
WATCH = 90.0
FRAMEWORK = "toil"


def toil_frameworks(state: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """The master's frameworks named `toil` under `key` (frameworks, completed_frameworks)."""
    return [f for f in state.get(key) or [] if f.get("name") == FRAMEWORK]


def killed(framework: dict[str, Any]) -> int:
    """How many of a framework's finished tasks the master killed."""
    return sum(1 for task in framework.get("completed_tasks") or [] if task.get("state") == "TASK_KILLED")


@dataclass(frozen=True)
class Observed:
    framework_before: str  # 'ID active=... tasks=N' before the teardown
    completed_after: list[str]  # the master's completed frameworks named toil, after
    leader_running_after: bool  # Toil's leader still alive WATCH s after the teardown
    exit_code: int | None  # the leader's exit code, if it ended
    leader_lines: list[str]  # the leader's last lines
    leaves_done: int
    leader_process: list[str] = field(default_factory=list)  # `ps` of Toil's leader after the watch


class FrameworkTornDown(Scenario[Observed]):
    name = "1629-framework-removed"
    issue = Issue(1629, "batch system health checks?", "open")
    batch_systems = ("mesos",)
    expected = "reproduces"
    summary = (
        f"tear down Toil's framework under {LEAVES} running leaves; does its leader notice in {WATCH:g} s?"
    )
    observed = Observed

    def play(self, stage: Stage) -> Observed:
        leader = stage.leader()
        run = evidence.leaves(stage, leaves=LEAVES, seconds=LEAF_SECONDS)
        stage.undo("stop Toil's leader", lambda: _stop_leader(stage))

        def framework_running() -> Check[dict[str, Any]]:
            found = [f for f in toil_frameworks(mesos.master_state(leader), "frameworks") if f.get("tasks")]
            return Check(bool(found), f"{len(found)} toil frameworks with tasks", found[0] if found else {})

        framework = wait_until(framework_running, what="Toil's framework to run tasks", timeout=120).value
        before = (
            f"{framework['id']} active={framework.get('active')} tasks={len(framework.get('tasks') or [])}"
        )
        mesos.teardown(leader, str(framework["id"]))
        result = evidence.ended_within(run, WATCH)
        process = (
            []
            if result is not None
            else evidence.processes(leader, workflow.require_last_run(leader).job_store)
        )
        state = mesos.master_state(leader)
        completed = [
            f"{f['id']} tasks killed={killed(f)}"
            for f in toil_frameworks(state, "completed_frameworks")
            if f["id"] == framework["id"]
        ]
        done = sum(1 for lines in run.logs().values() if any(line.startswith("done ") for line in lines))
        return Observed(
            framework_before=before,
            completed_after=completed,
            leader_running_after=result is None,
            exit_code=None if result is None else result.returncode,
            leader_lines=[] if result is None else (result.stdout + result.stderr).strip().splitlines()[-5:],
            leaves_done=done,
            leader_process=process,
        )

    def judge(self, observed: Observed) -> Outcome:
        master = (
            "the Mesos master's state",
            [f"before: {observed.framework_before}", *observed.completed_after],
        )
        if not observed.completed_after:
            return outcome("inconclusive", "the master did not remove Toil's framework", master)
        if observed.leader_running_after:
            return outcome(
                "reproduces",
                f"Toil's leader was still running {WATCH:g} s after the master removed its framework "
                f"({observed.leaves_done}/{LEAVES} leaves done)",
                master,
                (f"Toil's leader process, {WATCH:g} s after (ps)", observed.leader_process),
            )
        ended = ("Toil's leader, last lines", observed.leader_lines)
        return outcome(
            "fixed",
            f"Toil's leader ended (exit {observed.exit_code}) within {WATCH:g} s of losing its framework",
            master,
            ended,
        )


def _stop_leader(stage: Stage) -> None:
    """Kill Toil's leader if it still runs (it does when the bug is there)."""
    with contextlib.suppress(LabError):
        fault.kill_toil_leader(stage.lab)
