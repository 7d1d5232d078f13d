"""Toil #2373: --workDir should not have to exist on the machine that launches the workflow.

On a cluster, --workDir names node-local scratch on the compute nodes, which the launching
machine may not have. Toil 9.6.0's leader still makes (and, failing that, refuses) the
directory on its own machine before any job is issued (toil/common.py,
getToilWorkDir: "does not exist and could not be created").

Preparation: every worker gets a scratch folder the lab user owns; on the leader the
folder's parent exists but only root may write there. Observed: whether the leader
started, and where the jobs ran, from their own records.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from innode.layout import LAB_USER
from lab.node import Node
from lab.scenarios import evidence
from lab.scenarios.scenario import Issue, Outcome, Scenario, Stage, outcome

SCRATCH_PARENT = "/scratch"
SCRATCH = f"{SCRATCH_PARENT}/toil"
LEAVES = 3
RUN_TIMEOUT = 240.0
REFUSED = ("could not be created", "does not exist")


@dataclass(frozen=True)
class Observed:
    leader_can_create: bool  # whether the lab user could make SCRATCH on the leader
    workers_ready: list[str]  # the workers whose SCRATCH the lab user can write
    exit_code: int | None
    refusal: list[str]  # the leader's lines about the work directory
    leaves_done: list[str]  # the leaves' own 'done' lines


class WorkDirOnlyOnWorkers(Scenario[Observed]):
    name = "2373-workdir-on-workers"
    issue = Issue(
        2373, "--workdir shouldn't have to exist on the launch system when using any batch system", "open"
    )
    batch_systems = ("slurm", "mesos")
    expected = "reproduces"
    summary = f"--workDir {SCRATCH}: made on every worker, impossible on the leader"
    observed = Observed

    def play(self, stage: Stage) -> Observed:
        leader = stage.leader()
        workers = stage.lab.workers()
        for node in [leader, *workers]:
            stage.undo(f"remove {SCRATCH_PARENT} on {node.name}", functools.partial(_remove, node))
        leader.exec(["sh", "-c", f"mkdir -p {SCRATCH_PARENT} && chmod 755 {SCRATCH_PARENT}"], user="root")
        ready = []
        for node in workers:
            node.exec(["sh", "-c", f"mkdir -p {SCRATCH} && chown {LAB_USER} {SCRATCH}"], user="root")
            if node.exec(["test", "-w", SCRATCH], user=LAB_USER, check=False).returncode == 0:
                ready.append(node.name)
        probe = leader.exec(["sh", "-c", f"mkdir {SCRATCH} && rmdir {SCRATCH}"], user=LAB_USER, check=False)
        run = evidence.leaves(stage, leaves=LEAVES, seconds=1, extra=["--workDir", SCRATCH])
        result = run.wait(RUN_TIMEOUT)
        output = result.stdout + result.stderr
        done = [line for lines in run.logs().values() for line in lines if line.startswith("done ")]
        return Observed(
            leader_can_create=probe.returncode == 0,
            workers_ready=ready,
            exit_code=result.returncode,
            refusal=evidence.leader_lines(output, REFUSED)[:3],
            leaves_done=done,
        )

    def judge(self, observed: Observed) -> Outcome:
        prepared = ("the work directory on the workers", observed.workers_ready)
        if observed.leader_can_create:
            return outcome(
                "inconclusive", f"the lab user could make {SCRATCH} on the leader after all", prepared
            )
        if not observed.workers_ready:
            return outcome("inconclusive", f"no worker had a writable {SCRATCH}", prepared)
        refused = ("Toil's leader", observed.refusal)
        if observed.exit_code != 0 and observed.refusal and not observed.leaves_done:
            return outcome(
                "reproduces",
                f"the leader refused a --workDir that every worker has ({len(observed.workers_ready)}), "
                "before any job ran",
                refused,
                prepared,
            )
        if observed.exit_code == 0 and len(observed.leaves_done) == LEAVES:
            return outcome(
                "fixed",
                f"the leaves ran in {SCRATCH} on the workers, which the leader lacks",
                ("the leaves' own records", observed.leaves_done),
            )
        return outcome(
            "inconclusive", f"the run ended with exit code {observed.exit_code} for another reason", refused
        )


def _remove(node: Node) -> None:
    node.exec(["rm", "-rf", SCRATCH_PARENT], user="root", check=False)
