"""`python -m lab.bench.recovery` (part of `make bench`): how the lab recovers from each kind of fault.

On each batch system's lab of its own, the fault workflow (lab/leaves.py) runs once
without a fault and once per kind of fault, struck mid-run. What each run did is read
from the leaves' own logs (lab/attempts.py): attempts started, bodies finished, leaves
whose body finished twice (and why), how soon after the fault a lost leaf started
again, and how long the workflow took; the file-store outputs are checked apart.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from lab import attempts, fault
from lab.bench.run import BenchOptions, bench_config
from lab.cluster import Lab
from lab.config import BATCH_SYSTEMS, project_root
from lab.errors import LabError
from lab.leaves import LEAVES, LeavesRun, ended_by_race, expectation, seconds_for, strike
from lab.startup import running_lab
from lab.steps import Say

DEFAULT_LAB = "toil-lab-bench-faults"


@dataclass(frozen=True)
class Recovery:
    """One kind of fault on one batch system, as the leaves saw it."""

    batch_system: str
    kind: str
    victim: str
    attempts: int
    finishes: int
    doubled: tuple[int, ...]  # leaves whose body finished twice
    why_doubled: tuple[str, ...]
    rerun_after: float | None  # seconds from the fault to the first attempt that began after it
    finished_after: float  # seconds from the fault to the workflow's end
    total: float  # the workflow's wall time (after kill-leader: the --restart run's)
    baseline: float  # the same workflow without a fault, on the same lab
    file_store_outputs: bool  # the gathering job read one output per leaf through Toil's file store
    problems: tuple[str, ...]  # what the fault's expectation found wrong (lab/leaves.py expectation)
    # Runs that a race on Toil's side ended (lab/leaves.py RACES), each followed by --restart: the
    # run the fault struck (after a master's restart) and --restart runs.
    races: tuple[str, ...] = ()

    @property
    def met(self) -> bool:
        """The workflow succeeded, its outputs are whole, and the fault's expectation holds."""
        return self.file_store_outputs and not self.problems


def measure(lab: Lab, kinds: Sequence[str], say: Say) -> list[Recovery]:
    """Measure each kind of fault beside a run without one, on this lab."""
    base = LeavesRun(lab).start()
    result = base.wait()
    if result.returncode != 0:
        raise LabError("the run without a fault failed:\n" + result.stderr[-3000:])
    baseline = base.finished_at - base.started_at
    say(f"{lab.batch_system()}: no fault: {baseline:.1f} s")
    found = []
    for kind in kinds:
        struck = strike(lab, kind)
        run = struck.run
        assert run.result is not None
        seen = run.attempts()
        counted = attempts.tally(seen, run.leaves, struck.struck_wall)
        outputs = run.result.returncode == 0 and run.file_store_outputs() == list(range(run.leaves))
        recovery = Recovery(
            batch_system=lab.batch_system(),
            kind=kind,
            victim=struck.victim,
            attempts=counted.attempts,
            finishes=counted.finishes,
            doubled=counted.doubled,
            why_doubled=tuple(attempts.why_doubled(seen, leaf) for leaf in counted.doubled),
            rerun_after=counted.rerun_after,
            finished_after=run.finished_at - struck.struck,
            total=run.finished_at - run.started_at,
            baseline=baseline,
            file_store_outputs=outputs,
            problems=tuple(expectation(struck)),
            races=tuple(str(ended_by_race(r)) for r in struck.raced_runs),
        )
        say(f"{lab.batch_system()}: {kind} on {struck.victim}: {counted.words()}; done "
            f"{recovery.finished_after:.1f} s after the fault")  # fmt: skip
        found.append(recovery)
    return found


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def format_report(found: Sequence[Recovery]) -> str:
    """The recovery table: per batch system, per fault, what the leaves' own logs show."""
    if not found:
        return "no faults measured"
    lines = [
        f"Recovery per fault kind ({LEAVES} leaves; LEAF: how long each lasts), from the leaves' own logs"
    ]
    for batch_system in dict.fromkeys(r.batch_system for r in found):
        mine = [r for r in found if r.batch_system == batch_system]
        lines += [
            "",
            f"{batch_system} (the same workflow without a fault: {mine[0].baseline:.1f} s)",
            f"{'FAULT':<19}{'LEAF':>8}{'RERUN AFTER':>12}{'DONE AFTER':>12}{'ATTEMPTS':>10}{'FINISHES':>10}  "
            "FINISHED TWICE   FILE-STORE OUTPUTS   EXPECTATION",
        ]
        for r in mine:
            twice = ", ".join(f"leaf {leaf}" for leaf in r.doubled) or "none"
            lines.append(
                f"{r.kind:<19}{_seconds(seconds_for(r.kind, r.batch_system)):>8}"
                f"{_seconds(r.rerun_after):>12}{_seconds(r.finished_after):>12}{r.attempts:>10}"
                f"{r.finishes:>10}  {twice:<16} {'one per leaf' if r.file_store_outputs else 'WRONG':<20} "
                f"{'met' if not r.problems else 'NOT MET'}"
            )
        lines += [f"  {why}" for r in mine for why in r.why_doubled]
        lines += [
            f"  {r.kind}: a race on Toil's side ended {len(r.races)} run(s) ({', '.join(r.races)}; "
            "docs/faults.md), each followed by --restart; the time is the last one's"
            for r in mine
            if r.races
        ]
        lines += [f"  {r.kind}: {problem}" for r in mine for problem in r.problems]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Measure recovery per fault kind on each batch system's lab; print the table, write JSON."""
    parser = argparse.ArgumentParser(prog="python -m lab.bench.recovery", description=__doc__)
    parser.add_argument("--lab", default=DEFAULT_LAB, help=f"the bench labs' name ({DEFAULT_LAB})")
    parser.add_argument("--json", type=Path, default=project_root() / "test-results" / "recovery.json")
    parser.add_argument("--kinds", nargs="*", default=list(fault.KINDS))
    parser.add_argument("--batch-systems", default=",".join(BATCH_SYSTEMS), help="slurm,mesos (default)")
    args = parser.parse_args(argv)
    for kind in args.kinds:
        fault.check_kind(kind)

    def say(message: str) -> None:
        print(f"recovery: {message}", file=sys.stderr, flush=True)

    found: list[Recovery] = []
    for batch_system in [name.strip() for name in args.batch_systems.split(",") if name.strip()]:
        config = bench_config(BenchOptions(lab=args.lab), batch_system, os.environ)
        if batch_system == "mesos" and config.mesos_package is None:
            say("mesos: not measured: no MESOS_PACKAGE is set or remembered (README.md, 'Mesos')")
            continue
        with running_lab(config, say=say) as lab:
            found += measure(lab, args.kinds, say)
    print(format_report(found))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps([asdict(r) for r in found], indent=2) + "\n")
    return 0 if all(r.met for r in found) else 1


if __name__ == "__main__":
    sys.exit(main())
