"""The bench's results, and the table a person reads."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from lab.bench.jobs import SINGLE_MACHINE, JobRun
from lab.bench.measure import WorkerMemory, median, ratio
from lab.bench.startup_ratio import StartUp

# Goals: `lab up` within 1.5x of bare containers; each batch system's 64 jobs within
# 1.2x of single_machine on the same lab's leader; idle workers under 50 MiB.
STARTUP_RATIO_TARGET = 1.5
JOBS_RATIO_TARGET = 1.2
IDLE_MEMORY_TARGET_MIB = 50.0


@dataclass
class BackendBench:
    """What the bench measured on one batch system's lab."""

    batch_system: str
    slots_per_cpu: int
    startup: StartUp | None = None
    runs: list[JobRun] = field(default_factory=list)
    memory_idle: list[WorkerMemory] = field(default_factory=list)
    memory_after: list[WorkerMemory] = field(default_factory=list)
    # CPU seconds each container used in IDLE_SECONDS of an idle lab, after `lab up`: the
    # daemons and the health checks' own processes (their runc and shims run outside).
    idle_cpu_s: dict[str, float] = field(default_factory=dict)
    idle_seconds: float = 0.0
    not_measured: str = ""  # why this batch system was left out ('' when it was measured)

    def walls(self, batch_system: str) -> list[float]:
        """Wall times of one batch system's runs on this lab."""
        return [run.wall_s for run in self.runs if run.batch_system == batch_system]

    @property
    def jobs_ratio(self) -> float | None:
        """Median wall time on this batch system over median on single_machine, same lab."""
        return ratio(median(self.walls(self.batch_system)), median(self.walls(SINGLE_MACHINE)))

    @property
    def idle_cpu_per_minute(self) -> float | None:
        """CPU seconds per minute the whole idle lab's containers used."""
        if not self.idle_seconds:
            return None
        return round(sum(self.idle_cpu_s.values()) * 60 / self.idle_seconds, 2)

    @property
    def worst_worker_mib(self) -> float | None:
        """The most memory any idle worker used, before or after the runs."""
        values = [m.used_mib for m in (*self.memory_idle, *self.memory_after)]
        return max(values) if values else None


@dataclass
class BenchResult:
    """Everything one bench run measured."""

    lab: str
    workers: int
    jobs: int
    host_cpus: int
    load_before: list[float]
    other_containers: int
    scheduler_settings: list[str] = field(default_factory=list)
    toil_args: list[str] = field(default_factory=list)
    backends: list[BackendBench] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict, with the ratios computed."""
        data = asdict(self)
        for shown, bench in zip(data["backends"], self.backends, strict=True):
            shown["startup_ratio"] = None if bench.startup is None else bench.startup.ratio
            shown["median_s"] = median(bench.walls(bench.batch_system))
            shown["single_machine_median_s"] = median(bench.walls(SINGLE_MACHINE))
            shown["jobs_ratio"] = bench.jobs_ratio
            shown["idle_worker_mib"] = bench.worst_worker_mib
            shown["idle_cpu_per_minute"] = bench.idle_cpu_per_minute
        data["targets"] = {
            "startup_ratio": STARTUP_RATIO_TARGET,
            "jobs_ratio": JOBS_RATIO_TARGET,
            "idle_worker_mib": IDLE_MEMORY_TARGET_MIB,
        }
        return data


def _fmt(value: float | None, unit: str = " s") -> str:
    return "-" if value is None else f"{value:.1f}{unit}"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _verdict(value: float | None, target: float) -> str:
    return "" if value is None else ("ok" if value <= target else "MISSED")


def format_report(result: BenchResult) -> str:
    """The bench's findings, for a person: each batch system beside its baseline."""
    measured = [b for b in result.backends if not b.not_measured]
    lines = [
        f"toil-lab bench: leader + {result.workers} workers per lab, {result.jobs} jobs, "
        f"{result.host_cpus} host CPUs, load {result.load_before[0]:.1f}, "
        f"{result.other_containers} other containers running",
        "  slots per CPU: "
        + ", ".join(f"{b.batch_system} {b.slots_per_cpu}" for b in measured)
        + f"; scheduler settings changed: {', '.join(result.scheduler_settings) or 'none'}"
        + f"; extra Toil options: {' '.join(result.toil_args) or 'none'}",
    ]
    lines += [
        f"  {b.batch_system}: not measured: {b.not_measured}" for b in result.backends if b.not_measured
    ]
    lines += _startup(measured)
    if any(b.runs for b in measured):
        lines += _jobs(measured, result.jobs)
    lines += _memory(measured)
    lines += _idle_cpu(measured)
    return "\n".join(lines)


def _startup(measured: list[BackendBench]) -> list[str]:
    lines = [
        "",
        f"a) start-up, image built     lab up   no-op containers   ratio   target <= {STARTUP_RATIO_TARGET}x",
    ]
    for b in measured:
        if b.startup is not None:
            s = b.startup
            lines.append(
                f"   {b.batch_system:<6} {s.containers} containers{'':6}{_fmt(s.lab_up_s):>7}"
                f"{_fmt(s.noop_s):>14}{'':5}{_ratio(s.ratio):>7}   {_verdict(s.ratio, STARTUP_RATIO_TARGET)}"
            )
            if s.steps:
                lines.append("     " + "; ".join(f"{title} {seconds:.2f} s" for title, seconds in s.steps))
    return lines


def _jobs(measured: list[BackendBench], jobs: int) -> list[str]:
    names = [b.batch_system for b in measured]
    header = "".join(f"{name:>10}" for name in names) + f"{SINGLE_MACHINE:>16}"
    lines = [
        "",
        f"{f'b) {jobs} trivial jobs (median)':<33}{header}    ratio   target <= {JOBS_RATIO_TARGET}x",
    ]
    for b in measured:
        cells = "".join(
            f"{_fmt(median(b.walls(name))) if name == b.batch_system else '':>10}" for name in names
        )
        label = f"   on the {b.batch_system} lab, {len({run.round for run in b.runs})} rounds"
        lines.append(
            f"{label:<33}{cells}{_fmt(median(b.walls(SINGLE_MACHINE))):>16}   {_ratio(b.jobs_ratio):>6}   "
            f"{_verdict(b.jobs_ratio, JOBS_RATIO_TARGET)}"
        )
        for name in (b.batch_system, SINGLE_MACHINE):
            each = ", ".join(f"{w:.1f}" for w in b.walls(name))
            cpu = median([sum(r.cpu_s.values()) for r in b.runs if r.batch_system == name])
            lines.append(f"     {name}: rounds {each} s; CPU used by the lab (median) {_fmt(cpu)}")
    return lines


def _memory(measured: list[BackendBench]) -> list[str]:
    lines = ["", f"c) idle worker memory (docker stats), target < {IDLE_MEMORY_TARGET_MIB:g} MiB"]
    for b in measured:
        worst = b.worst_worker_mib
        ok = None if worst is None else worst < IDLE_MEMORY_TARGET_MIB
        verdict = "" if ok is None else (" ok" if ok else " MISSED")
        lines.append(f"   {b.batch_system}: worst {_fmt(worst, ' MiB')}{verdict}")
        for label, sample in (("after lab up", b.memory_idle), ("after the runs", b.memory_after)):
            if sample:
                each = ", ".join(f"{m.node} {m.used_mib:.1f} ({m.resident_mib:.1f} resident)" for m in sample)
                lines.append(f"     {label}: {each} MiB")
    return lines


def _idle_cpu(measured: list[BackendBench]) -> list[str]:
    lines = ["", "d) idle lab CPU, the containers' own (health checks' runc and shims not counted)"]
    for b in measured:
        if b.idle_cpu_per_minute is None:
            continue
        each = ", ".join(f"{node} {seconds:.2f}" for node, seconds in b.idle_cpu_s.items())
        lines.append(
            f"   {b.batch_system}: {b.idle_cpu_per_minute:.2f} CPU-s per minute "
            f"({each} CPU-s in {b.idle_seconds:g} s)"
        )
    return lines
