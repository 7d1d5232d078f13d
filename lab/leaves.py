"""The fault workflow: a fan-out of leaves that log their own attempts, run in the background,
struck with one fault mid-run; what the fault tests and the recovery bench both read.

The workflow (innode/workflows/leaves.py) logs every attempt of every leaf
on the shared volume (lab/attempts.py reads those logs) and gathers the leaves'
outputs, through Toil's file store, into one outputs.json.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lab import attempts, fault, placement, workflow
from lab.attempts import Attempt
from lab.cluster import Lab
from lab.errors import LabError
from lab.node import Node
from lab.placement import Placement
from lab.process import Result
from lab.wait import Check, wait_until

LEAVES_WORKFLOW = Path("innode/workflows/leaves.py")
LEAVES = 6
SECONDS = 12
# On Mesos, a leaf must outlast a pause or partition past the master's ping timeout (~10 s),
# or a restart of the master, until its agent is registered again: its agent then forwards
# the executor's own TASK_FINISHED. A task that finished while its agent was unreachable, or
# unknown to a restarted master, is reported by a TASK_FINISHED that the master makes, with
# no wallTime label, and Toil 9.6 asserts one: its leader ends (tests/integration/test_faults.py).
CUT_OFF_SECONDS = {"mesos": 20.0}
CUT_OFF_KINDS = ("pause", "partition", "restart-scheduler")
RUN_TIMEOUT = 300.0
# The node each kind of fault strikes; faults on the leader wait for a leaf on worker-2.
VICTIMS = {"kill": "worker-2", "pause": "worker-1", "partition": "worker-3"}
# Endings of a Toil leader that are races on Toil's side (docs/faults.md, "Findings on Toil's
# leader"), told from Toil's own traceback at the end of the run's output:
# - load_job: on --restart, Toil 9.6.0's FileJobStore.load_job finds a job's `.new` file, which a
#   worker of the killed run is writing, warns and removes it; when the worker renames it in
#   between, the restarted leader dies of FileNotFoundError.
# - master-404: pymesos, Toil's Mesos scheduler driver, reconnects to a restarting mesos-master
#   that answers 404 (its HTTP routes not, or no longer, installed); the driver raises and Toil's
#   leader ends.
RACES = {
    "load_job": re.compile(
        r'fileJobStore\.py", line \d+, in load_job\n\s*os\.remove\(jobFile \+ "\.new"\)\n'
        r"FileNotFoundError: \[Errno 2\] [^\n]*/job\.new'\n\Z"
    ),
    "master-404": re.compile(
        r'pymesos/process\.py", line \d+, in read\n\s*raise RuntimeError\([^\n]*\)\n'
        r"RuntimeError: Failed with HTTP 404: [^\n]*\n\Z"
    ),
}
# A run that such a race ended is followed by --restart, as a user would run it, at most this often.
RESTART_TRIES = 2


@dataclass
class LeavesRun:
    """A fan-out of leaves running in the background on a lab."""

    lab: Lab
    record_dir: str = field(default_factory=lambda: f"/data/fault-runs/{uuid.uuid4().hex[:12]}")
    extra: list[str] = field(default_factory=list)
    leaves: int = LEAVES
    seconds: float = SECONDS
    running: workflow.Background | None = None
    _leader: Node | None = field(default=None, repr=False)

    def leader(self) -> Node:
        """The lab's leader, found once: the run's logs are read from it every half second, and
        no fault replaces its container (kill-leader and restart-scheduler end processes in it)."""
        if self._leader is None:
            self._leader = self.lab.leader()
        return self._leader

    def start(self) -> LeavesRun:
        """Stage the workflow on the leader and start it in the background."""
        path = self.lab.config.root / LEAVES_WORKFLOW
        leader = self.leader()
        module, workdir = workflow.stage_workflow(leader, path)
        args = ["--record", self.record_dir, "--leaves", str(self.leaves), "--seconds", str(self.seconds)]
        self.running = workflow.run_in_background(
            leader, module, [*args, "--logLevel", "INFO", *self.extra], workdir=workdir
        )
        return self

    @property
    def background(self) -> workflow.Background:
        """The run under way (LabError before start)."""
        if self.running is None:
            raise LabError("the run was not started")
        return self.running

    @property
    def started_at(self) -> float:
        """When the run started (time.monotonic())."""
        return self.background.started_at

    @property
    def finished_at(self) -> float:
        """When the run ended (time.monotonic()); 0 while it runs."""
        return self.background.finished_at

    @property
    def record(self) -> workflow.RunRecord | None:
        """The run's record, once it has ended."""
        return self.background.record

    @property
    def result(self) -> Result | None:
        """The run's result, once it has ended."""
        return self.background.result

    def wait(self, timeout: float = RUN_TIMEOUT) -> Result:
        """The workflow's result, once it has finished."""
        return self.background.wait(timeout)

    def logs(self) -> dict[int, list[str]]:
        """Each leaf's own log lines ('start|done NODE PID TIME')."""
        script = f'for f in {self.record_dir}/leaf-*.log; do [ -e "$f" ] && echo "== $f" && cat "$f"; done'
        text = self.leader().exec(["sh", "-c", script + "; true"]).stdout
        found: dict[int, list[str]] = {}
        current = -1
        for line in text.splitlines():
            if line.startswith("== "):
                current = int(line.rsplit("leaf-", 1)[1].removesuffix(".log"))
                found[current] = []
            elif line.strip() and current >= 0:
                found[current].append(line)
        return found

    def attempts(self) -> list[Attempt]:
        """Every attempt of every leaf, from their logs."""
        return attempts.parse_attempts(self.logs())

    def wait_for_a_leaf_on(self, node: str) -> None:
        """Return once a leaf attempt has started on `node` (the moment to strike)."""

        def check() -> Check[None]:
            started = sorted({a.leaf for a in self.attempts() if a.node == node})
            return Check(bool(started), f"leaves started on {node}: {started}", None)

        wait_until(check, what=f"a leaf to start on {node}", timeout=120, interval=0.5)

    def wait_for_a_leaf_done(self) -> list[int]:
        """Return once some leaf has finished; which ones have."""

        def check() -> Check[list[int]]:
            done = attempts.finished_leaves(self.attempts())
            return Check(bool(done), f"leaves done: {done}", done)

        return wait_until(check, what="a leaf to finish", timeout=120, interval=0.5).value

    def file_store_outputs(self) -> list[int]:
        """The leaves whose outputs the gathering job read back through Toil's file store (none
        when it wrote no record)."""
        text = self.leader().read_text(f"{self.record_dir}/outputs.json")
        data: list[dict[str, object]] = json.loads(text) if text is not None else []
        return sorted(int(str(entry["leaf"])) for entry in data)

    def placements(self) -> list[Placement]:
        """This run's placement records."""
        assert self.record is not None, "the run has not ended"
        return placement.of_run(self.lab.nodes(), self.record.job_store)


def wait_until_lost(lab: Lab, name: str, timeout: float = 60) -> None:
    """Wait until the scheduler declares a worker lost: Slurm DOWN, or a Mesos agent the master
    declared unreachable and no longer lists (its tasks are then lost to the framework)."""
    backend, leader = lab.backend(), lab.leader()  # the fault is a worker's: the leader stays

    def check() -> Check[None]:
        state = {s.name: s for s in backend.worker_states(leader)}.get(name)
        if state is None:  # the scheduler has forgotten it altogether
            return Check(True, f"{name} is no longer listed by {backend.scheduler}", None)
        return Check(state.lost, f"{name} is {state.raw}", None)

    # Each poll is a `docker exec` on the leader: every 0.25 s at first, then at most every 0.5 s.
    wait_until(
        check,
        what=f"{backend.scheduler} to declare {name} lost",
        timeout=timeout,
        interval=0.25,
        max_interval=0.5,
    )


@dataclass(frozen=True)
class Struck:
    """A run that one fault struck: the run that finished, when the fault came, what it found."""

    kind: str
    victim: str
    run: LeavesRun  # the run that finished (after kill-leader: the --restart run)
    struck: float  # monotonic time of the fault
    struck_wall: float  # its wall-clock time, as in the leaves' logs
    # Leaves that had finished when the first run's leader ended (kill-leader: before the kill).
    finished_before: tuple[int, ...]
    # The run whose leader ended: killed (kill-leader), or by master-404 (a master's restart);
    # `run` is then the --restart run that completed the workflow.
    first: LeavesRun | None = None
    raced: tuple[LeavesRun, ...] = ()  # --restart runs that a race on Toil's side ended (RACES)

    @property
    def raced_runs(self) -> tuple[LeavesRun, ...]:
        """Every run that a race on Toil's side ended: the struck run (unless its leader was
        killed), then --restart runs."""
        struck = () if self.first is None or self.kind == "kill-leader" else (self.first,)
        return (*struck, *self.raced)


def race(output: str) -> str | None:
    """The name of the race on Toil's side (RACES) that a run's output ends in, if any."""
    tail = output.rstrip() + "\n"
    return next((name for name, pattern in RACES.items() if pattern.search(tail)), None)


def ended_by_race(run: LeavesRun) -> str | None:
    """The race that ended this finished run, if a race did."""
    result = run.result
    if result is None or result.returncode == 0:
        return None
    return race(result.stdout + result.stderr)


Restarts = tuple[LeavesRun, tuple[LeavesRun, ...]]


def restart(start: Callable[[], LeavesRun], tries: int = RESTART_TRIES) -> Restarts:
    """Run --restart until a run does not end by a race on Toil's side, at most `tries` times: the
    last run, and the runs a race ended. Any other failure is the last run's to report."""
    raced: list[LeavesRun] = []
    while True:
        run = start()
        run.wait()
        if ended_by_race(run) is None or len(raced) + 1 >= tries:
            return run, tuple(raced)
        raced.append(run)


def seconds_for(kind: str, batch_system: str) -> float:
    """How long each leaf lasts when this kind of fault strikes on this batch system."""
    return CUT_OFF_SECONDS.get(batch_system, SECONDS) if kind in CUT_OFF_KINDS else SECONDS


def strike(lab: Lab, kind: str) -> Struck:
    """Run the leaves, cause one fault of this kind mid-run, undo it, and let the run finish."""
    victim = VICTIMS.get(kind, "leader")
    extra = ["--clean", "never"] if kind == "kill-leader" else []
    run = LeavesRun(lab, extra=extra, seconds=seconds_for(kind, lab.batch_system())).start()
    run.wait_for_a_leaf_on(VICTIMS["kill"] if victim == "leader" else victim)
    finished_before = tuple(run.wait_for_a_leaf_done()) if kind == "kill-leader" else ()
    struck, struck_wall = time.monotonic(), time.time()
    fault.inject(lab, kind, victim)
    if kind in ("pause", "partition"):
        wait_until_lost(lab, victim)
        fault.heal(lab, victim)
    first: LeavesRun | None = None
    raced: tuple[LeavesRun, ...] = ()
    run.wait()
    if kind == "kill-leader" or (kind == "restart-scheduler" and ended_by_race(run) == "master-404"):
        first = run
        if kind != "kill-leader":  # what must not run again: what had finished when the leader ended
            finished_before = tuple(attempts.finished_leaves(run.attempts()))
            lab.wait_workers(len(lab.workers()))  # the agents registered with the new master
        record_dir, again = run.record_dir, ["--restart", "--clean", "never"]
        run, raced = restart(lambda: LeavesRun(lab, record_dir=record_dir, extra=again).start())
    if kind == "kill":
        fault.heal(lab, victim)  # its placement records are on its own volume
    lab.wait_workers(len(lab.workers()))
    return Struck(kind, victim, run, struck, struck_wall, finished_before, first, raced)


def expectation(struck: Struck) -> list[str]:
    """What is true of this kind of fault, checked against the leaves' own logs; the problems found."""
    found, leaves = struck.run.attempts(), struck.run.leaves
    if struck.kind == "kill":
        return attempts.expect_killed_and_rerun(found, leaves, struck.victim, struck.struck_wall)
    if struck.kind == "restart-scheduler" and struck.first is None:
        return attempts.expect_each_once(found, leaves)
    if struck.first is not None:  # Toil's leader ended (killed, or by a race); --restart finished
        return attempts.expect_each_at_least_once(found, leaves) + attempts.expect_not_rerun(
            found, struck.finished_before
        )
    return attempts.expect_each_at_least_once(found, leaves)
