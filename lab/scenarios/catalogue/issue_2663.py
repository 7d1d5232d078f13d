"""Toil #2663: DeadlockException thrown wrongly while the jobs that use a service wait in the queue.

Toil's leader counts the jobs its batch system says are running; Toil's Slurm batch system
counts only those in state R. A client job pending in a busy queue (behind other users'
jobs) is not counted, so when its service is all that runs, the leader calls it a
deadlock after `--deadlockWait` (60 s by default) and ends the workflow.

Preparation: jobs that are not Toil's fill the workers (as root, `sbatch --mem`): worker-2 and
worker-3 whole, and worker-1 all but one Toil job's memory, for FILL_SECONDS. The workflow's
root job, then its service, take that one slot, and the service's client waits (PD,
Resources). Toil's own deadlock options are left at their defaults.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass

from innode.layout import DATA_DIR, LAB_USER
from lab.errors import LabError
from lab.node import Node
from lab.scenarios import evidence
from lab.scenarios.scenario import Issue, Outcome, Scenario, Stage, outcome
from lab.wait import Check, wait_until

WORKFLOW = "innode/workflows/service_client.py"
TOIL_JOB_MB = 256  # innode/workflows/service_client.py's REQUEST
FILL_SECONDS = 240
RUN_TIMEOUT = FILL_SECONDS + 180.0
FILLER = "lab-filler"
DEADLOCK = ("Potential deadlock detected", "Deadlock encountered", "DeadlockException", "service deadlocked")


def real_memory(leader: Node, node: str) -> int:
    """A worker's RealMemory (MB), as slurmctld has it."""
    text = leader.exec(["scontrol", "show", "node", node]).stdout
    found = re.search(r"RealMemory=(\d+)", text)
    if found is None:
        raise ValueError(f"scontrol show node {node} gave no RealMemory")
    return int(found.group(1))


@dataclass(frozen=True)
class Observed:
    fillers: list[str]  # squeue lines of the fillers once they ran
    queue_while_serving: list[str]  # squeue once the service had started
    events: list[str]  # the service's and client's own lines
    deadlock_lines: list[str]  # the leader's lines about a deadlock
    exit_code: int | None


class ServiceDeadlockWhileQueued(Scenario[Observed]):
    name = "2663-service-deadlock"
    issue = Issue(2663, "DeadlockException incorrectly thrown using SLURM", "open")
    batch_systems = ("slurm",)
    expected = "reproduces"
    summary = (
        "other jobs fill the workers but one slot; a service runs there while its client waits in the queue"
    )
    observed = Observed

    def play(self, stage: Stage) -> Observed:
        leader = stage.leader()
        workers = [w.name for w in stage.lab.workers()]
        ids: list[str] = []
        stage.undo("cancel the filler jobs", lambda: _cancel(leader, ids))
        for name in workers:
            memory = real_memory(leader, name) - (TOIL_JOB_MB if name == workers[0] else 0)
            argv = ["sbatch", "--parsable", "-J", FILLER, "-w", name, f"--mem={memory}", "-o", "/dev/null"]
            submitted = leader.exec([*argv, "--wrap", f"sleep {FILL_SECONDS}"], user="root")
            ids.append(submitted.stdout.strip().split(";")[0])

        def fillers_running() -> Check[list[evidence.QueuedJob]]:
            jobs = [j for j in evidence.squeue(leader) if j.id in ids and j.state == "RUNNING"]
            return Check(len(jobs) == len(ids), f"{len(jobs)}/{len(ids)} fillers running", jobs)

        fillers = wait_until(fillers_running, what="the fillers to run", timeout=60).value
        record = f"{DATA_DIR}/scenarios/2663-{uuid.uuid4().hex[:8]}"
        run = evidence.start(stage, WORKFLOW, ["--record", record, "--logLevel", "INFO"])

        def events() -> list[str]:
            return (leader.read_text(f"{record}/events.log") or "").splitlines()

        def serving() -> Check[None]:
            return Check(any(e.startswith("service-start") for e in events()), "no service yet", None)

        try:
            wait_until(serving, what="the service to start", timeout=120, interval=1.0)
            time.sleep(5)  # the client has been issued by now
            queue = [job.line for job in evidence.squeue(leader)]
        except LabError as error:
            queue = [f"(the service did not start: {error})"]
        result = run.wait(RUN_TIMEOUT)
        output = result.stdout + result.stderr
        leader.exec(["chown", "-R", LAB_USER, record], user="root", check=False)
        return Observed(
            fillers=[job.line for job in fillers],
            queue_while_serving=queue,
            events=events(),
            deadlock_lines=evidence.leader_lines(output, DEADLOCK)[:4],
            exit_code=result.returncode,
        )

    def judge(self, observed: Observed) -> Outcome:
        queue = ("squeue once the service ran", observed.queue_while_serving)
        events = ("the service's and the client's own records", observed.events)
        started = [e for e in observed.events if e.startswith("service-start")]
        if not started:
            return outcome("inconclusive", "the service never started", queue, events)
        waiting = [
            line for line in observed.queue_while_serving if "_client " in line and " PENDING " in line
        ]
        if not waiting:
            return outcome(
                "inconclusive", "the client was not waiting in the queue while the service ran", queue
            )
        deadlock = ("Toil's leader", observed.deadlock_lines)
        if any(
            "service deadlocked" in line or "Deadlock encountered" in line for line in observed.deadlock_lines
        ):
            return outcome(
                "reproduces",
                "Toil declared a service deadlock while the service's client was pending in Slurm's queue",
                deadlock,
                queue,
            )
        client_done = any(e.startswith("client-done") for e in observed.events)
        if observed.exit_code == 0 and client_done:
            return outcome(
                "fixed", "the client ran once the queue let it, and the workflow finished", queue, events
            )
        return outcome(
            "inconclusive",
            f"the workflow ended (exit {observed.exit_code}) without a deadlock or the client done",
            events,
        )


def _cancel(leader: Node, ids: list[str]) -> None:
    if ids:
        leader.exec(["scancel", *ids], user="root", check=False)
