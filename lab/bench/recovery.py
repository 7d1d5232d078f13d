"""Recovery from faults: a fan-out of logged leaves run in the background, and the
benchmark of how long the lab takes to recover from each kind of fault.

The workflow (tests/integration/workflows/leaves.py) logs every attempt of every leaf
on the shared volume and gathers the leaves' outputs, through Toil's file store, into
one outputs.json. `python -m lab.bench.recovery` (part of `make bench`) strikes each kind of
fault once while it runs, beside a run without a fault, on a lab of its own.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lab import fault, placement, workflow
from lab.cluster import Lab
from lab.config import LabConfig, project_root
from lab.errors import LabError
from lab.placement import Placement
from lab.process import Result
from lab.startup import running_lab
from lab.wait import Check, wait_until

LEAVES_WORKFLOW = Path("tests/integration/workflows/leaves.py")
LEAVES = 6
SECONDS = 12
RUN_TIMEOUT = 300.0


@dataclass
class LeavesRun:
    """A fan-out of leaves running in the background on a lab."""

    lab: Lab
    record_dir: str = field(default_factory=lambda: f"/data/fault-runs/{uuid.uuid4().hex[:12]}")
    extra: list[str] = field(default_factory=list)
    leaves: int = LEAVES
    seconds: float = SECONDS
    record: workflow.RunRecord | None = None
    result: Result | None = None
    started_at: float = 0.0
    finished_at: float = 0.0
    thread: threading.Thread | None = None
    error: BaseException | None = None

    def start(self) -> LeavesRun:
        """Stage the workflow on the leader and start it in a thread."""
        path = self.lab.config.root / LEAVES_WORKFLOW
        module, workdir = workflow.stage_workflow(self.lab.leader, path)
        args = ["--record", self.record_dir, "--leaves", str(self.leaves), "--seconds", str(self.seconds)]
        args += ["--logLevel", "INFO", *self.extra]

        def run() -> None:
            try:
                self.record, self.result = workflow.run_module(
                    self.lab.leader, module, args, workdir=workdir, capture=True
                )
            except BaseException as error:
                self.error = error
            self.finished_at = time.monotonic()

        self.started_at = time.monotonic()
        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        return self

    def wait(self, timeout: float = RUN_TIMEOUT) -> Result:
        """The workflow's result, once it has finished."""
        if self.thread is None:
            raise LabError("the run was not started")
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise LabError(f"the workflow did not finish within {timeout:g}s")
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result

    def attempts(self) -> dict[int, list[str]]:
        """Each leaf's attempt lines ('start|done NODE PID TIME')."""
        script = f'for f in {self.record_dir}/leaf-*.log; do [ -e "$f" ] && echo "== $f" && cat "$f"; done'
        text = self.lab.leader.exec(["sh", "-c", script + "; true"]).stdout
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

    def wait_for_a_leaf_done(self) -> list[int]:
        """Return once some leaf has finished; which ones have."""

        def check() -> Check[list[int]]:
            done = [i for i, lines in self.attempts().items() if any(x.startswith("done ") for x in lines)]
            return Check(bool(done), f"leaves done: {done}", done)

        return wait_until(check, what="a leaf to finish", timeout=120, interval=0.5).value

    def outputs(self) -> list[dict[str, object]]:
        """What the gathering job wrote: one entry per leaf output."""
        data: list[dict[str, object]] = json.loads(
            self.lab.leader.read_text(f"{self.record_dir}/outputs.json")
        )
        return data

    def placements(self) -> list[Placement]:
        """This run's placement records."""
        assert self.record is not None
        return placement.of_run(self.lab.nodes(), self.record.job_store)

    def reruns(self, struck_wall: float) -> list[tuple[int, int, int, float]]:
        """(leaf, attempts, done lines, seconds from the fault to its last attempt) of rerun leaves."""
        found = []
        for index, lines in sorted(self.attempts().items()):
            starts = [float(line.split()[3]) for line in lines if line.startswith("start ")]
            dones = sum(1 for line in lines if line.startswith("done "))
            if len(starts) > 1:
                found.append((index, len(starts), dones, starts[-1] - struck_wall))
        return found


def wait_until_lost(lab: Lab, name: str, timeout: float = 60) -> None:
    """Wait until the scheduler declares a worker lost (Slurm: DOWN past SlurmdTimeout)."""

    def check() -> Check[None]:
        state = {s.name: s for s in lab.worker_states()}.get(name)
        if state is None:  # the scheduler has forgotten it altogether
            return Check(True, f"{name} is no longer listed by {lab.backend.scheduler}", None)
        return Check(state.lost, f"{name} is {state.raw}", None)

    wait_until(check, what=f"{lab.backend.scheduler} to declare {name} lost", timeout=timeout)


@dataclass(frozen=True)
class Recovery:
    """One fault kind's measurement."""

    kind: str
    victim: str
    finished_after: float  # seconds from the fault to the workflow's end
    rerun_after: float | None  # seconds from the fault to the last rerun's start
    total: float  # the workflow's wall time
    baseline: float  # the same workflow without a fault, in the same run
    ok: bool


def victim_of(kind: str) -> str:
    """The node each kind of fault strikes in the benchmark."""
    return {"kill": "worker-2", "pause": "worker-1", "partition": "worker-3"}.get(kind, "leader")


def strike(lab: Lab, kind: str) -> tuple[LeavesRun, float, float]:
    """Run the leaves, cause one fault of this kind mid-run, undo it; (run, fault time, wall time)."""
    victim = victim_of(kind)
    extra = ["--clean", "never"] if kind == "kill-leader" else []
    run = LeavesRun(lab, extra=extra).start()
    run.wait_for_a_leaf_on("worker-2" if victim == "leader" else victim)
    if kind == "kill-leader":
        run.wait_for_a_leaf_done()
    struck, struck_wall = time.monotonic(), time.time()
    fault.inject(lab, kind, victim)
    if kind in ("pause", "partition"):
        wait_until_lost(lab, victim)
        fault.heal(lab, victim)
    if kind == "kill-leader":
        run.wait()
        run = LeavesRun(lab, record_dir=run.record_dir, extra=["--restart", "--clean", "never"]).start()
    run.wait()
    if kind == "kill":
        fault.heal(lab, victim)
    lab.wait_workers(len(lab.workers()))
    return run, struck, struck_wall


def measure(lab: Lab, kinds: Sequence[str], say: Callable[[str], None]) -> list[Recovery]:
    """Measure each kind of fault beside a run without one."""
    base = LeavesRun(lab).start()
    baseline = base.wait()
    if baseline.returncode != 0:
        raise LabError("the baseline run failed:\n" + baseline.stderr[-3000:])
    baseline_time = base.finished_at - base.started_at
    say(f"baseline (no fault): {baseline_time:.1f}s")
    found = []
    for kind in kinds:
        run, struck, struck_wall = strike(lab, kind)
        assert run.result is not None
        reruns = run.reruns(struck_wall)
        outputs_ok = run.result.returncode == 0 and sorted(
            int(str(o["leaf"])) for o in run.outputs()
        ) == list(range(run.leaves))
        recovery = Recovery(
            kind=kind,
            victim=victim_of(kind),
            finished_after=run.finished_at - struck,
            rerun_after=max((r[3] for r in reruns), default=None),
            total=run.finished_at - run.started_at,
            baseline=baseline_time,
            ok=outputs_ok,
        )
        say(
            f"{kind}: finished {recovery.finished_after:.1f}s after the fault"
            + (
                f", lost leaves rerun {recovery.rerun_after:.1f}s after it"
                if recovery.rerun_after is not None
                else ""
            )
            + ("" if recovery.ok else " -- OUTPUTS WRONG")
        )
        found.append(recovery)
    return found


def format_report(found: Sequence[Recovery]) -> str:
    """The recovery table."""
    lines = [
        f"Recovery per fault kind ({LEAVES} leaves of {SECONDS:g}s; baseline without a fault: "
        f"{found[0].baseline:.1f}s)"
        if found
        else "no faults measured",
        f"{'FAULT':<20}{'RERUN AFTER':>14}{'DONE AFTER':>14}  OUTPUTS",
    ]
    for r in found:
        rerun = "-" if r.rerun_after is None else f"{r.rerun_after:.1f}s"
        lines.append(
            f"{r.kind:<20}{rerun:>14}{r.finished_after:>13.1f}s  {'exactly once' if r.ok else 'WRONG'}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m lab.bench.recovery`: measure recovery per fault kind on a lab of its own."""
    parser = argparse.ArgumentParser(prog="python -m lab.bench.recovery", description=__doc__)
    parser.add_argument("--lab", default="toil-lab-bench-faults", help="the bench lab's name")
    parser.add_argument("--json", type=Path, default=project_root() / "test-results" / "recovery.json")
    parser.add_argument("--kinds", nargs="*", default=list(fault.KINDS))
    args = parser.parse_args(argv)
    for kind in args.kinds:
        fault.check_kind(kind)

    def say(message: str) -> None:
        print(f"recovery: {message}", file=sys.stderr, flush=True)

    config = LabConfig.from_env({"LAB_NAME": args.lab, "BATCH_SYSTEM": "slurm"})  # Slurm's recovery
    with running_lab(config, reuse=False, say=say) as lab:
        found = measure(lab, args.kinds, say)
    print(format_report(found))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps([r.__dict__ for r in found], indent=2) + "\n")
    return 0 if all(r.ok for r in found) else 1


if __name__ == "__main__":
    sys.exit(main())
