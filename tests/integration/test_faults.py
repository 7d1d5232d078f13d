"""Faults on purpose, on each batch system, and what the jobs themselves saw of them.

Each test runs the fault workflow (lab/leaves.py: leaves that log every attempt of
their own on the shared volume and return an output through Toil's file store),
strikes one fault at a chosen moment (once a leaf has started on the victim), and
asserts what is true of that kind of fault, from the leaves' own logs
(lab/attempts.py), never from Toil's or the lab's records:
  - kill: the killed attempts started and never finished; each of their leaves started
    again after the fault, on another node, and finished once; no other leaf ran twice;
  - pause, partition: every leaf finished at least once; a leaf whose body finished
    twice is named with the reason (a cut-off attempt woke after its rerun started);
  - restart-scheduler: every leaf started once and finished once (unless Toil's leader ended
    on the restarting Mesos master's 404: then as kill-leader, from the --restart that follows);
  - kill-leader, then --restart: leaves that had finished before the kill did not run again
    (a --restart that Toil 9.6.0's load_job race ended is followed by one more, and named).
Separately, the outputs that went through Toil's file store are one per leaf. Recovery
times are printed and kept in test-results/recovery.txt; `make bench` tracks them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest

from lab import attempts, fault
from lab.cluster import Lab
from lab.leaves import LEAVES, LeavesRun, Struck, ended_by_race, expectation, strike, wait_until_lost
from tests.integration.conftest import RESULTS

pytestmark = [pytest.mark.integration, pytest.mark.faults]


def report(lab: Lab, struck: Struck) -> str:
    """Print, and keep in test-results/recovery.txt, what happened and how long recovery took."""
    run = struck.run
    seen = run.attempts()
    counted = attempts.tally(seen, run.leaves, struck.struck_wall)
    line = (
        f"{lab.batch_system()}: {struck.kind} on {struck.victim}: {counted.words()}; the workflow finished "
        f"{run.finished_at - struck.struck:.1f} s after the fault"
    )
    if counted.rerun_after is not None:
        line += f"; the first rerun started {counted.rerun_after:.1f} s after it"
    line += "".join(f"\n  {attempts.why_doubled(seen, leaf)}" for leaf in counted.doubled)
    for raced in struck.raced_runs:
        line += (
            f"\n  a race on Toil's side ended a run ({ended_by_race(raced)}: docs/faults.md); "
            "--restart followed it"
        )
    keep(line)
    return line


def keep(line: str) -> None:
    """Print a line and append it to test-results/recovery.txt."""
    print("\n" + line)
    RESULTS.mkdir(parents=True, exist_ok=True)
    with (RESULTS / "recovery.txt").open("a") as log:
        log.write(line + "\n")


def assert_outcome(struck: Struck) -> None:
    """The workflow succeeded, its file-store outputs are one per leaf, and the fault's expectation holds."""
    result = struck.run.result
    assert result is not None and result.returncode == 0, result.stderr[-4000:] if result else "no result"
    assert struck.run.file_store_outputs() == list(range(LEAVES)), "file-store outputs: one per leaf"
    problems = expectation(struck)
    assert not problems, "\n".join(problems)


@pytest.fixture
def healed(lab: Lab) -> Iterator[Lab]:
    """Whatever a test breaks is undone, and every worker is ready again, before the next."""
    yield lab
    fault.heal_all(lab)
    lab.wait_workers(len(lab.workers()))


def test_a_worker_killed_mid_job_has_its_leaves_rerun_elsewhere_once(healed: Lab) -> None:
    struck = strike(healed, "kill")
    report(healed, struck)
    assert_outcome(struck)
    # Toil's records agree: the lost jobs ran again, to the end, on another node.
    jobs = struck.run.placements()
    lost = [p for p in jobs if p.node == struck.victim and p.status == "unfinished"]
    assert lost, f"a leaf should have been lost with {struck.victim}"
    for job in lost:
        again = [p for p in jobs if p.job_id == job.job_id and p.status == "ok"]
        assert again and all(p.node != struck.victim for p in again), (job, again)


def test_a_killed_worker_comes_back_and_is_used_again(healed: Lab) -> None:
    lab = healed
    fault.inject(lab, "kill", "worker-3")
    assert [f.kind for f in fault.faults_in_force(lab) if f.node == "worker-3"] == ["kill"]
    assert fault.heal(lab, "worker-3") == ["started"]
    lab.wait_workers(len(lab.workers()))
    assert {s.name: s for s in lab.worker_states()}["worker-3"].ready
    with lab.pinned("worker-3") as options:
        run = LeavesRun(lab, extra=options).start()
        result = run.wait()
    assert result.returncode == 0, result.stderr[-4000:]
    assert attempts.expect_each_once(run.attempts(), run.leaves) == []
    assert {a.node for a in run.attempts()} == {"worker-3"}


@pytest.mark.parametrize("kind", ["pause", "partition"])
def test_a_worker_lost_past_the_timeout_then_healed_finishes_every_leaf(healed: Lab, kind: str) -> None:
    """A worker paused (frozen) or partitioned (off the network) until the scheduler declares it
    lost, then healed: every leaf finishes at least once. A leaf's body may finish twice (its
    cut-off attempt woke after the rerun started): counted, named and explained, never hidden.

    Slurm requeues the lost jobs: a frozen (paused) attempt, thawed, either finishes before
    slurmctld's kill reaches it, or is killed and its requeued copy starts the leaf again (both
    seen: every leaf of one run finished on the thawed worker); a partitioned attempt goes on
    running on its own volume and finishes (its requeued copy then finds the job done and runs
    no body). Mesos reports the cut-off tasks to Toil as lost (TASK_LOST), and Toil reissues
    them; when the agent returns, the master may report them running again, and the cut-off
    attempts may then finish too."""
    struck = strike(healed, kind)
    line = report(healed, struck)
    assert_outcome(struck)
    seen = struck.run.attempts()
    counted = attempts.tally(seen, LEAVES, struck.struck_wall)
    assert all(f"leaf {leaf}:" in line for leaf in counted.doubled)
    cut_off = [a for a in seen if a.node == struck.victim and a.started < struck.struck_wall]
    assert cut_off, f"no leaf was running on {struck.victim} when the fault struck: {seen}"
    if (healed.batch_system(), kind) == ("slurm", "pause"):
        # Each thawed attempt finished before slurmctld's kill reached it, or its leaf ran again.
        again = {a.leaf for a in seen if a.started >= struck.struck_wall}
        left = [a for a in cut_off if a.finished is None and a.leaf not in again]
        assert not left, f"cut off on {struck.victim}, neither finished nor ran again: {left}; {line}"
    elif (healed.batch_system(), kind) == ("slurm", "partition"):
        assert all(a.finished for a in cut_off), cut_off
    else:
        assert struck.run.result is not None
        assert "Exit reason: LOST" in struck.run.result.stderr, "Toil should have been told of lost tasks"


# What the Mesos master logs when it reports a task's end itself, for an agent that registers
# again (after being unreachable, or with a restarted master that did not know it).
MASTER_MADE_FINISH = re.compile(
    r"Sending status update TASK_FINISHED for task \S+ of framework \S+ "
    r"'(Unreachable agent re-reregistered|Unknown agent reregistered)'"
)


@pytest.mark.backends("mesos")
@pytest.mark.parametrize(("kind", "victim"), [("pause", "worker-3"), ("restart-scheduler", "leader")])
def test_a_finish_the_master_reports_itself_ends_toils_leader(healed: Lab, kind: str, victim: str) -> None:
    """A finding on Toil 9.6 and Mesos 1.12, from this lab. A task that finishes while its agent
    is unreachable (a paused worker's 3-s leaf, done the moment it thaws), or unknown to a
    restarted master (in-memory registry), can be reported, when the agent registers again, by
    a TASK_FINISHED that the master makes itself, with no wallTime label; Toil's Mesos scheduler
    asserts one (statusUpdate: `assert wallTime is not None`) and its leader ends. Whether the
    master makes one is a race (the executor's own update may get through first): whenever the
    master's log shows one, Toil's leader ended on that assertion (leaves not yet launched then
    never ran: seen in CI) and `--restart` completes the workflow without running again a leaf
    that had finished; when it shows none, the run succeeds with every leaf finished."""
    lab = healed
    since = datetime.now(timezone.utc).isoformat()
    run = LeavesRun(lab, seconds=3, extra=["--clean", "never"]).start()
    run.wait_for_a_leaf_on("worker-3")
    fault.inject(lab, kind, victim)
    if kind == "pause":
        wait_until_lost(lab, victim)
        fault.heal(lab, victim)
    ended = run.wait()
    made = MASTER_MADE_FINISH.findall(lab.leader().logs(since=since))
    seen = run.attempts()
    finished = attempts.finished_leaves(seen)
    line = (
        f"mesos: {kind}: {len(made)} finishes reported by the master; Toil's leader: "
        f"{ended.returncode}; leaves finished: {len(finished)}/{run.leaves}"
    )
    keep(line)
    if not made:
        assert ended.returncode == 0, ended.stderr[-3000:]
        assert attempts.expect_each_at_least_once(seen, run.leaves) == []
        return
    assert ended.returncode != 0, "Toil's leader went on after a TASK_FINISHED without wallTime"
    assert "assert wallTime is not None" in ended.stderr, ended.stderr[-3000:]
    lab.wait_workers(len(lab.workers()))
    again = LeavesRun(
        lab, record_dir=run.record_dir, seconds=3, extra=["--restart", "--clean", "never"]
    ).start()
    result = again.wait()
    assert result.returncode == 0, result.stderr[-4000:]
    assert again.file_store_outputs() == list(range(LEAVES)), "file-store outputs: one per leaf"
    assert attempts.expect_not_rerun(again.attempts(), finished) == []


def test_the_scheduler_restarted_mid_workflow_reruns_nothing(healed: Lab) -> None:
    """slurmctld restarts from its state files; a restarted mesos-master forgets its agents
    (in-memory registry) until they and Toil's framework register again: either way, every
    leaf ran once, to the end (on Mesos, leaves that outlast the agents' return: see the
    finding below). Unless Toil's leader ended on the restarting master's 404 to pymesos (a
    finding, docs/faults.md): then --restart completes it, rerunning no leaf that had finished."""
    lab = healed
    before = lab.leader().exec(["pgrep", "-x", lab.backend().scheduler]).stdout.split()
    struck = strike(lab, "restart-scheduler")
    report(lab, struck)
    assert lab.leader().exec(["pgrep", "-x", lab.backend().scheduler]).stdout.split() != before
    # On Mesos, pymesos may meet the restarting master's 404 and Toil's leader end (docs/faults.md):
    # then --restart must complete the workflow, rerunning no leaf that had finished.
    if struck.first is not None:
        assert lab.batch_system() == "mesos" and ended_by_race(struck.first) == "master-404"
    assert_outcome(struck)


def test_the_toil_leader_killed_then_restarted_reruns_no_finished_leaf(healed: Lab) -> None:
    struck = strike(healed, "kill-leader")
    report(healed, struck)
    assert struck.first is not None and struck.first.result is not None
    assert struck.first.result.returncode in (-9, 137), struck.first.result.returncode
    assert struck.run.record is not None and struck.first.record is not None
    assert struck.run.record.job_store == struck.first.record.job_store
    assert struck.finished_before, "a leaf should have finished before the kill"
    # A --restart may meet Toil 9.6.0's load_job race (docs/faults.md): then the next --restart
    # must complete the workflow, rerunning no finished leaf.
    assert [ended_by_race(raced) for raced in struck.raced] == ["load_job"] * len(struck.raced)
    assert_outcome(struck)
