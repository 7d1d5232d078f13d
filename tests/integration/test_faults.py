"""Faults on purpose, and proof that Toil loses nothing.

Each test runs a fan-out of leaves (workflows/leaves.py) whose every attempt is logged
on the shared volume and whose outputs go through Toil's file store into one
outputs.json. It causes one fault at a chosen moment (when a leaf has started on the
victim), checks that the workflow still finishes with every leaf's output exactly
once, and prints how long recovery took. `make bench` is where recovery time is
tracked; here it is only printed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from lab import fault
from lab.bench.recovery import LEAVES, LeavesRun, wait_until_lost
from lab.cluster import Lab
from lab.process import Result
from tests.integration.conftest import RESULTS

# The fault tests measure Slurm's recovery (its timeouts and requeue), on Slurm only.
pytestmark = [pytest.mark.integration, pytest.mark.faults, pytest.mark.backends("slurm")]


def assert_every_output_exactly_once(run: LeavesRun, result: Result) -> None:
    assert result.returncode == 0, result.stderr[-4000:]
    outputs = run.outputs()
    assert sorted(int(str(o["leaf"])) for o in outputs) == list(range(LEAVES)), outputs
    attempts = run.attempts()
    assert sorted(attempts) == list(range(LEAVES))
    for index, lines in attempts.items():
        assert any(line.startswith("done ") for line in lines), f"leaf {index} never finished: {lines}"


def report_recovery(kind: str, struck: float, run: LeavesRun) -> float:
    """Print, and keep in test-results/recovery.txt, how long recovery took."""
    took = run.finished_at - struck
    struck_at = time.time() - (time.monotonic() - struck)  # the fault's wall-clock time
    reruns = [
        f"leaf {leaf}: {attempts} attempts, {done} done, rerun started {after:.1f}s after the fault"
        for leaf, attempts, done, after in run.reruns(struck_at)
    ]
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
    run = LeavesRun(lab).start()
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
    states = {s.name: s for s in lab.worker_states()}
    assert states["worker-3"].state == "idle"
    run = LeavesRun(lab, extra=["--slurmPartition", "worker-3"])
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
    run = LeavesRun(lab).start()
    run.wait_for_a_leaf_on(victim)
    struck = time.monotonic()
    fault.inject(lab, kind, victim)
    assert [f.kind for f in fault.faults_in_force(lab) if f.node == victim] == [kind]

    wait_until_lost(lab, victim)
    assert fault.heal(lab, victim), f"nothing was undone on {victim}"
    result = run.wait()
    report_recovery(kind, struck, run)
    assert_every_output_exactly_once(run, result)


def test_the_scheduler_restarted_mid_workflow(healed: Lab) -> None:
    lab = healed
    run = LeavesRun(lab).start()
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
    run = LeavesRun(lab, extra=["--clean", "never"]).start()
    run.wait_for_a_leaf_on("worker-2")

    finished_before = run.wait_for_a_leaf_done()
    struck = time.monotonic()
    fault.inject(lab, "kill-leader", "leader")
    killed = run.wait()
    assert killed.returncode == -9 or killed.returncode == 137, killed.returncode
    assert run.record is not None
    job_store = run.record.job_store
    assert lab.leader.exec(["test", "-d", job_store], check=False).returncode == 0, "the job store is gone"

    again = LeavesRun(lab, record_dir=run.record_dir, extra=["--restart", "--clean", "never"]).start()
    result = again.wait()
    report_recovery("kill-leader (with --restart)", struck, again)
    assert again.record is not None and again.record.job_store == job_store
    assert_every_output_exactly_once(again, result)
    # No leaf that had finished before the kill ran again.
    attempts = again.attempts()
    for index in finished_before:
        starts = [line for line in attempts[index] if line.startswith("start ")]
        assert len(starts) == 1, f"leaf {index} finished before the kill but ran again: {attempts[index]}"
