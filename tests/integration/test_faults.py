"""Faults on purpose, and proof that Toil loses nothing.

Each test runs a fan-out of leaves (workflows/leaves.py) whose every attempt is logged
on the shared volume and whose outputs go through Toil's file store into one
outputs.json. It causes one fault at a chosen moment (when a leaf has started on the
victim), checks that the workflow still finishes with every leaf's output exactly
once, and prints how long recovery took. `make bench` is where recovery time is
tracked; here it is only printed.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from lab import fault, placement, slurm, workflow
from lab.cluster import Lab
from lab.placement import Placement
from lab.process import Result
from lab.wait import Check, wait_until
from tests.integration.conftest import RESULTS, WORKFLOWS

pytestmark = [pytest.mark.integration, pytest.mark.faults]

LEAVES = 6
SECONDS = 12
RUN_TIMEOUT = 300


@dataclass
class Run:
    """A fan-out of leaves running in the background on the lab."""

    lab: Lab
    record_dir: str = field(default_factory=lambda: f"/data/fault-runs/{uuid.uuid4().hex[:12]}")
    extra: list[str] = field(default_factory=list)
    record: workflow.RunRecord | None = None
    result: Result | None = None
    finished_at: float = 0.0
    thread: threading.Thread | None = None

    def start(self) -> Run:
        module, workdir = workflow.stage_workflow(self.lab.leader, WORKFLOWS / "leaves.py")
        args = ["--record", self.record_dir, "--leaves", str(LEAVES), "--seconds", str(SECONDS)]
        args += ["--logLevel", "INFO", *self.extra]

        def run() -> None:
            self.record, self.result = workflow.run_module(
                self.lab.leader, module, args, workdir=workdir, capture=True
            )
            self.finished_at = time.monotonic()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        return self

    def wait(self) -> Result:
        assert self.thread is not None
        self.thread.join(RUN_TIMEOUT)
        assert not self.thread.is_alive(), f"the workflow did not finish within {RUN_TIMEOUT}s"
        assert self.result is not None
        return self.result

    def attempts(self) -> dict[int, list[str]]:
        """Each leaf's attempt log lines ('start|done node pid time')."""
        text = self.lab.leader.exec(
            ["sh", "-c", f'for f in {self.record_dir}/leaf-*.log; do echo "== $f"; cat "$f"; done'],
            check=False,
        ).stdout
        found: dict[int, list[str]] = {}
        current = -1
        for line in text.splitlines():
            if line.startswith("== "):
                current = int(line.rsplit("leaf-", 1)[1].removesuffix(".log"))
                found[current] = []
            elif line.strip() and current >= 0:
                found[current].append(line)
        return found

    def wait_for_a_leaf_on(self, node: str) -> None:
        """Return once a leaf attempt has started on `node` (the moment to strike)."""

        def check() -> Check[None]:
            started = [i for i, lines in self.attempts().items() if any(f" {node} " in x for x in lines)]
            return Check(bool(started), f"leaves started on {node}: {started}", None)

        wait_until(check, what=f"a leaf to start on {node}", timeout=120, interval=0.5)

    def outputs(self) -> list[dict[str, object]]:
        data: list[dict[str, object]] = json.loads(
            self.lab.leader.read_text(f"{self.record_dir}/outputs.json")
        )
        return data

    def placements(self) -> list[Placement]:
        assert self.record is not None
        return placement.for_job_store(placement.collect(self.lab.nodes()), self.record.job_store)


def assert_every_output_exactly_once(run: Run, result: Result) -> None:
    assert result.returncode == 0, result.stderr[-4000:]
    outputs = run.outputs()
    assert sorted(int(str(o["leaf"])) for o in outputs) == list(range(LEAVES)), outputs
    attempts = run.attempts()
    assert sorted(attempts) == list(range(LEAVES))
    for index, lines in attempts.items():
        assert any(line.startswith("done ") for line in lines), f"leaf {index} never finished: {lines}"


def report_recovery(kind: str, struck: float, run: Run) -> float:
    """Print how long recovery took: to the workflow's end, and to each lost leaf's rerun."""
    took = run.finished_at - struck
    struck_at = time.time() - (time.monotonic() - struck)  # the fault's wall-clock time
    reruns = []
    for index, lines in run.attempts().items():
        starts = [float(line.split()[3]) for line in lines if line.startswith("start ")]
        dones = [line for line in lines if line.startswith("done ")]
        if len(starts) > 1:
            reruns.append(
                f"leaf {index}: {len(starts)} attempts, {len(dones)} done, "
                f"rerun started {starts[-1] - struck_at:.1f}s after the fault"
            )
    line = f"{kind}: the workflow finished {took:.1f}s after the fault; " + ("; ".join(reruns) or "no reruns")
    print("\n" + line)
    RESULTS.mkdir(parents=True, exist_ok=True)
    with (RESULTS / "recovery.txt").open("a") as log:
        log.write(line + "\n")
    return took


@pytest.fixture
def healed(lab: Lab) -> Iterator[Lab]:
    """Whatever a test breaks is undone, and every worker is ready again, before the next."""
    yield lab
    fault.heal_all(lab)
    lab.wait_workers(len(lab.workers()))


def test_a_worker_killed_mid_job(healed: Lab) -> None:
    lab = healed
    run = Run(lab).start()
    run.wait_for_a_leaf_on("worker-2")
    struck = time.monotonic()
    fault.inject(lab, "kill", "worker-2")
    result = run.wait()
    report_recovery("kill", struck, run)
    assert_every_output_exactly_once(run, result)
    fault.heal(lab, "worker-2")  # its placement records are on its own volume
    jobs = run.placements()
    lost = [p for p in jobs if p.node == "worker-2" and p.status == "unfinished"]
    assert lost, "a leaf should have been lost with worker-2"
    for job in lost:
        again = [p for p in jobs if p.job_id == job.job_id and p.status == "ok"]
        assert again and all(p.node != "worker-2" for p in again), (job, again)


def test_a_killed_worker_comes_back_and_is_used_again(healed: Lab) -> None:
    lab = healed
    fault.inject(lab, "kill", "worker-3")
    assert [f.kind for f in fault.faults_in_force(lab) if f.node == "worker-3"] == ["kill"]
    assert fault.heal(lab, "worker-3") == ["started"]
    lab.wait_workers(len(lab.workers()))
    states = {s.name: s for s in slurm.worker_states(lab.leader)}
    assert states["worker-3"].state == "idle"
    run = Run(lab, extra=["--slurmPartition", "worker-3"])
    run.start()
    result = run.wait()
    assert_every_output_exactly_once(run, result)
    assert {p.node for p in run.placements()} == {"worker-3"}


@pytest.mark.parametrize(("kind", "victim"), [("pause", "worker-1"), ("partition", "worker-3")])
def test_a_worker_lost_past_the_timeout_then_healed(healed: Lab, kind: str, victim: str) -> None:
    """A worker paused (frozen) or partitioned (off the network) until slurmctld declares
    it down, then brought back: the workflow succeeds and no output is doubled.

    The outputs are those that go through Toil's file store. A leaf's own side effect can
    happen twice: a frozen attempt that wakes after its rerun has started may finish
    before slurmd kills it (test-results/recovery.txt shows "2 attempts, 2 done" then).
    """
    lab = healed
    run = Run(lab).start()
    run.wait_for_a_leaf_on(victim)
    struck = time.monotonic()
    fault.inject(lab, kind, victim)
    assert [f.kind for f in fault.faults_in_force(lab) if f.node == victim] == [kind]

    def lost() -> Check[None]:
        # DOWN: past SlurmdTimeout, slurmctld has given the node's jobs up and requeued them.
        state = {s.name: s for s in slurm.worker_states(lab.leader)}[victim]
        return Check(state.state == "down", f"{victim} is {state.raw}", None)

    wait_until(lost, what=f"slurmctld to declare {victim} down", timeout=60)
    assert fault.heal(lab, victim), f"nothing was undone on {victim}"
    result = run.wait()
    report_recovery(kind, struck, run)
    assert_every_output_exactly_once(run, result)


def test_the_scheduler_restarted_mid_workflow(healed: Lab) -> None:
    lab = healed
    run = Run(lab).start()
    run.wait_for_a_leaf_on("worker-1")
    before = lab.leader.exec(["pgrep", "-x", "slurmctld"]).stdout.split()
    struck = time.monotonic()
    fault.inject(lab, "restart-scheduler", "leader")
    lab.wait_leader()
    assert lab.leader.exec(["pgrep", "-x", "slurmctld"]).stdout.split() != before
    result = run.wait()
    report_recovery("restart-scheduler", struck, run)
    assert_every_output_exactly_once(run, result)


def test_the_toil_leader_killed_then_restarted(healed: Lab) -> None:
    lab = healed
    run = Run(lab, extra=["--clean", "never"]).start()
    run.wait_for_a_leaf_on("worker-2")

    def some_done() -> Check[list[int]]:
        done = [i for i, lines in run.attempts().items() if any(x.startswith("done ") for x in lines)]
        return Check(bool(done), f"leaves done: {done}", done)

    finished_before = wait_until(some_done, what="a leaf to finish", timeout=120, interval=0.5).value
    struck = time.monotonic()
    fault.inject(lab, "kill-leader", "leader")
    killed = run.wait()
    assert killed.returncode == -9 or killed.returncode == 137, killed.returncode
    assert run.record is not None
    job_store = run.record.job_store
    assert lab.leader.exec(["test", "-d", job_store], check=False).returncode == 0, "the job store is gone"

    again = Run(lab, record_dir=run.record_dir, extra=["--restart", "--clean", "never"]).start()
    result = again.wait()
    report_recovery("kill-leader (with --restart)", struck, again)
    assert again.record is not None and again.record.job_store == job_store
    assert_every_output_exactly_once(again, result)
    # No leaf that had finished before the kill ran again.
    attempts = again.attempts()
    for index in finished_before:
        starts = [line for line in attempts[index] if line.startswith("start ")]
        assert len(starts) == 1, f"leaf {index} finished before the kill but ran again: {attempts[index]}"
