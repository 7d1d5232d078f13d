"""`python -m lab.bench`: the lab's costs, each measured beside a baseline in the same run.

a) `lab up` (image already built) against the same containers started with a no-op
   entrypoint; b) a root job with 64 trivial children on the lab's Slurm against the
   same workflow on Toil's single_machine batch system on the leader; c) the memory an
   idle worker uses. The bench makes its own lab and deletes it at the end (--keep
   leaves it up). Other labs on the host share its CPUs: compare the ratios, which are
   measured side by side, more than the seconds.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from lab import compose, docker, placement, process, slurm, workflow
from lab.cluster import Lab, running_lab
from lab.config import LEADER, LabConfig, parse_workers
from lab.errors import ConfigError, LabError, NotReady
from lab.node import Node
from lab.wait import Check, wait_until

# --- Constants -------------------------------------------------------------------
DEFAULT_BENCH_LAB = "toil-lab-bench"
DEFAULT_JSON = Path("test-results/bench.json")
DEFAULT_WORKERS = 3
DEFAULT_JOBS = 64
DEFAULT_ROUNDS = 2
# Targets from the issue: Slurm within 1.5x of single_machine; idle workers under 50 MB.
JOBS_RATIO_TARGET = 1.5
IDLE_MEMORY_TARGET_MIB = 50.0
# The no-op twin of the bench lab is a Compose project of this name plus suffix.
NOOP_SUFFIX = "-noop"
NOOP_TIMEOUT = 120.0
WORKFLOW_MODULE = "bench_trivial"
SLURM_CONF = "/etc/slurm/slurm.conf"
SINGLE_MACHINE = "single_machine"
SLURM = "slurm"
# Toil logs every issued job at INFO; the bench wants only failures on its terminal.
QUIET_TOIL = ("--logLevel=ERROR",)
# Prints the container's CPU time (cgroup v2's cpu.stat, else v1's cpuacct.usage).
CPU_ARGV = ["sh", "-c", "cat /sys/fs/cgroup/cpu.stat 2>/dev/null || cat /sys/fs/cgroup/cpuacct/cpuacct.usage"]
# Prints the container's memory counters (cgroup v2, else v1).
MEMORY_STAT_ARGV = [
    "sh",
    "-c",
    "cat /sys/fs/cgroup/memory.stat 2>/dev/null || cat /sys/fs/cgroup/memory/memory.stat",
]

# The trivial workflow. Children take Toil's and the lab's default requirements
# (1 core, --defaultMemory), as a user's first workflow would.
WORKFLOW_TEMPLATE = '''\
"""toil-lab bench: a root job that adds @JOBS@ children, each returning at once."""

from toil.common import Toil
from toil.job import Job


def child(job, index):
    return index


def root(job, count):
    for index in range(count):
        job.addChildJobFn(child, index)


if __name__ == "__main__":
    options = Job.Runner.getDefaultArgumentParser().parse_args()
    with Toil(options) as toil:
        toil.start(Job.wrapJobFn(root, @JOBS@))
'''

Say = Callable[[str], None]


def _say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


# --- Pure helpers (unit-tested) ----------------------------------------------------
def workflow_source(jobs: int) -> str:
    """The source of the trivial workflow with `jobs` children."""
    if jobs < 1:
        raise ConfigError(f"--jobs={jobs}: the workflow needs at least one child job")
    return WORKFLOW_TEMPLATE.replace("@JOBS@", str(jobs))


_SIZE_RE = re.compile(r"^\s*([0-9.]+)\s*([kKmMgGtT]?)(i?)[bB]\s*$")
_SIZE_POWER = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4}


def parse_size_mib(text: str) -> float:
    """A size as docker prints it ('39.11MiB', '2GiB', '812kB', '0B') in MiB."""
    match = _SIZE_RE.match(text)
    if not match:
        raise ValueError(f"not a size: {text!r}")
    number, unit, binary = float(match.group(1)), match.group(2).lower(), match.group(3)
    base = 1024 if binary else 1000
    return float(number * base ** _SIZE_POWER[unit]) / (1024 * 1024)


def parse_stats_memory(text: str) -> dict[str, float]:
    """`docker stats --format '{{json .}}'` lines -> container ID (short) -> used MiB."""
    used: dict[str, float] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        usage = str(record["MemUsage"]).split("/", 1)[0]
        used[str(record["ID"])] = parse_size_mib(usage)
    return used


def parse_cpu_seconds(text: str) -> float:
    """CPU seconds from cgroup v2's cpu.stat (usage_usec) or v1's cpuacct.usage (ns)."""
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key == "usage_usec":
            return int(value) / 1e6
    stripped = text.strip()
    if stripped.isdigit():
        return int(stripped) / 1e9
    raise ValueError(f"no CPU usage in {text[:200]!r}")


def parse_resident_mib(text: str) -> float:
    """Anonymous (resident, not page-cache) memory from a cgroup's memory.stat, in MiB."""
    values: dict[str, int] = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if value.strip().isdigit():
            values[key] = int(value)
    for key in ("anon", "total_rss", "rss"):  # v2, then v1 (hierarchical first)
        if key in values:
            return values[key] / (1024 * 1024)
    raise ValueError("no anon/rss line in memory.stat")


def set_conf_values(conf: str, settings: Sequence[tuple[str, str]]) -> str:
    """slurm.conf with each KEY=VALUE replacing the line that sets KEY, or appended."""
    lines = conf.splitlines()
    for key, value in settings:
        wanted = f"{key}={value}"
        found = [i for i, line in enumerate(lines) if line.split("=", 1)[0].strip().lower() == key.lower()]
        if found:
            lines[found[0]] = wanted
            for extra in reversed(found[1:]):
                del lines[extra]
        else:
            lines.append(wanted)
    return "\n".join(lines) + "\n"


def parse_setting(text: str) -> tuple[str, str]:
    """'KEY=VALUE' from the command line."""
    key, sep, value = text.partition("=")
    if not sep or not re.match(r"^[A-Za-z][A-Za-z0-9]*$", key):
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE (e.g. SchedulerParameters=defer)")
    return key, value


def noop_override(services: Sequence[str]) -> dict[str, Any]:
    """A compose override that starts each service with a no-op command instead of its entrypoint."""
    # The healthchecks stay: Compose v1 cannot disable one that a file below defines,
    # and they cost the same in both projects.
    return {"services": {name: {"entrypoint": ["sleep", "infinity"]} for name in services}}


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, or None when either is missing or the denominator is 0."""
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def median(values: Sequence[float]) -> float | None:
    """The median, or None for no values."""
    return statistics.median(values) if values else None


# --- Results ---------------------------------------------------------------------------
@dataclass(frozen=True)
class StartUp:
    """`lab up` beside the same containers started with a no-op command."""

    containers: int
    lab_up_s: float
    noop_s: float
    # True when `lab up` had to rebuild the image (the checkout changed mid-bench).
    image_built: bool = False

    @property
    def ratio(self) -> float | None:
        """How many times longer `lab up` takes than starting bare containers."""
        return ratio(self.lab_up_s, self.noop_s)


@dataclass(frozen=True)
class JobRun:
    """One run of the trivial workflow."""

    batch_system: str
    round: int
    wall_s: float
    cpu_s: dict[str, float]  # CPU seconds each node's container used during the run
    jobs_recorded: int
    nodes_used: list[str]
    toil_args: list[str]


@dataclass(frozen=True)
class WorkerMemory:
    """One worker's memory: as `docker stats` shows it, and its resident part."""

    node: str
    used_mib: float  # docker stats: usage less inactive page cache
    resident_mib: float  # anonymous memory (processes), from the cgroup


@dataclass
class BenchResult:
    """Everything one bench run measured."""

    lab: str
    workers: int
    jobs: int
    host_cpus: int
    load_before: list[float]
    other_containers: int
    slots_per_cpu: int
    slurm_settings: list[str] = field(default_factory=list)
    toil_args: list[str] = field(default_factory=list)
    startup: StartUp | None = None
    runs: list[JobRun] = field(default_factory=list)
    memory_idle: list[WorkerMemory] = field(default_factory=list)
    memory_after: list[WorkerMemory] = field(default_factory=list)

    def walls(self, batch_system: str) -> list[float]:
        """Wall times of one batch system's runs."""
        return [run.wall_s for run in self.runs if run.batch_system == batch_system]

    @property
    def jobs_ratio(self) -> float | None:
        """Median Slurm wall time over median single_machine wall time."""
        return ratio(median(self.walls(SLURM)), median(self.walls(SINGLE_MACHINE)))

    @property
    def worst_worker_mib(self) -> float | None:
        """The most memory any idle worker used, before or after the runs."""
        values = [m.used_mib for m in (*self.memory_idle, *self.memory_after)]
        return max(values) if values else None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict, with the ratios computed."""
        data = asdict(self)
        data["startup_ratio"] = None if self.startup is None else self.startup.ratio
        data["slurm_median_s"] = median(self.walls(SLURM))
        data["single_machine_median_s"] = median(self.walls(SINGLE_MACHINE))
        data["jobs_ratio"] = self.jobs_ratio
        data["jobs_ratio_target"] = JOBS_RATIO_TARGET
        data["idle_worker_mib"] = self.worst_worker_mib
        data["idle_worker_mib_target"] = IDLE_MEMORY_TARGET_MIB
        return data


# --- Measurements (Docker) -------------------------------------------------------------
def check_absent(config: LabConfig) -> None:
    """Refuse to bench over containers that the bench did not make."""
    for name in (config.name, config.name + NOOP_SUFFIX):
        if Lab(replace(config, name=name)).nodes():
            raise ConfigError(
                f"lab {name!r} already has containers; the bench makes a fresh lab and deletes it "
                f"after: choose another --lab, or delete it with `LAB_NAME={name} lab clean --yes`."
            )


def measure_noop_start(config: LabConfig, workers: int, image: str, cpus: int, say: Say) -> tuple[int, float]:
    """Seconds to start the lab's containers with a no-op command; (containers, seconds)."""
    noop = Lab(replace(config, name=config.name + NOOP_SUFFIX), say)
    project = noop.project(workers, image, cpus, "slurm")
    services = [LEADER, *(compose.worker_service_name(i) for i in range(1, workers + 1))]
    override = noop.config.state_dir / "noop.yaml"
    override.write_text(json.dumps(noop_override(services), indent=2) + "\n")
    project = replace(project, files=(*project.files, override))

    def check() -> Check[int]:
        running = sum(1 for node in noop.nodes() if node.running)
        return Check(running == len(services), f"{running}/{len(services)} no-op containers running", running)

    say(f"starting {len(services)} containers with a no-op command (compose project {project.project!r})")
    try:
        started = time.monotonic()
        project.up()
        wait_until(check, what="the no-op containers", timeout=NOOP_TIMEOUT, interval=0.05)
        return len(services), time.monotonic() - started
    finally:
        with contextlib.suppress(LabError):
            noop.clean()


def cpu_seconds(nodes: Sequence[Node]) -> dict[str, float]:
    """CPU seconds each node's container has used since it started."""
    return {node.name: parse_cpu_seconds(node.exec(CPU_ARGV).stdout) for node in nodes}


def worker_memory(lab: Lab) -> list[WorkerMemory]:
    """Each worker's memory now, as `docker stats` and its cgroup see it."""
    workers = lab.workers()
    # docker stats has no wrapper in lab/docker.py yet; its argv is built here.
    stats = process.run(
        [docker.DOCKER, "stats", "--no-stream", "--format", "{{json .}}", *(w.container_id for w in workers)]
    )
    used = parse_stats_memory(stats.stdout)
    found = []
    for worker in workers:
        short = next((key for key in used if worker.container_id.startswith(key)), None)
        if short is None:
            raise LabError(f"docker stats did not report {worker.name}:\n{stats.stdout}")
        resident = parse_resident_mib(worker.exec(MEMORY_STAT_ARGV).stdout)
        found.append(WorkerMemory(worker.name, round(used[short], 2), round(resident, 2)))
    return found


def apply_slurm_settings(lab: Lab, settings: Sequence[tuple[str, str]], say: Say) -> None:
    """Change slurm.conf in the bench lab's leader and make every daemon re-read it."""
    if not settings:
        return
    leader = lab.leader
    conf = set_conf_values(leader.read_text(SLURM_CONF), settings)
    leader.write_text(SLURM_CONF, conf, user="root")
    slurm.reconfigure(leader)
    say("slurm.conf changed: " + ", ".join(f"{k}={v}" for k, v in settings))


def run_trivial(
    lab: Lab, path: Path, batch_system: str, round_: int, extra: Sequence[str], say: Say
) -> JobRun:
    """Run the trivial workflow once with `lab run`'s code path and time it."""
    args = [*QUIET_TOIL, *extra]
    if batch_system == SINGLE_MACHINE:
        args = ["--batchSystem", SINGLE_MACHINE, *args]
    nodes = [node for node in lab.nodes() if node.running]
    before = cpu_seconds(nodes)
    say(f"round {round_}: {batch_system} ...")
    started = time.monotonic()
    record, code = workflow.run_workflow(lab.leader, path, args)
    wall = time.monotonic() - started
    after = cpu_seconds(nodes)
    if code != 0:
        raise LabError(
            f"the {batch_system} run of the bench workflow failed (exit code {code}, job store "
            f"{record.job_store}); rerun with --keep and look with `LAB_NAME={lab.config.name} lab logs`"
        )
    found = placement.of_run(nodes, record.job_store)
    used = sorted({p.node for p in found})
    say(f"round {round_}: {batch_system}: {wall:.1f} s, {len(found)} jobs on {', '.join(used)}")
    return JobRun(
        batch_system=batch_system,
        round=round_,
        wall_s=round(wall, 2),
        cpu_s={name: round(after[name] - before[name], 2) for name in after},
        jobs_recorded=len(found),
        nodes_used=used,
        toil_args=list(args),
    )


@contextlib.contextmanager
def bench_lab(config: LabConfig, keep: bool, say: Say) -> Iterator[tuple[Lab, float]]:
    """The bench lab, brought up and timed; deleted at the end unless `keep`."""
    started = time.monotonic()
    if keep:
        lab = Lab(config, say)
        try:
            lab.up()
        except BaseException:
            with contextlib.suppress(LabError):
                lab.clean()
            raise
        yield lab, time.monotonic() - started
        say(f"kept lab {config.name!r}: `LAB_NAME={config.name} lab clean --yes` deletes it")
        return
    with running_lab(config, reuse=False, say=say) as lab:
        yield lab, time.monotonic() - started


@dataclass(frozen=True)
class BenchOptions:
    """What to measure, from the command line."""

    lab: str = DEFAULT_BENCH_LAB
    workers: int = DEFAULT_WORKERS
    jobs: int = DEFAULT_JOBS
    rounds: int = DEFAULT_ROUNDS
    keep: bool = False
    slots_per_cpu: int | None = None
    slurm_settings: tuple[tuple[str, str], ...] = ()
    toil_args: tuple[str, ...] = ()


def bench_config(options: BenchOptions, env: Mapping[str, str]) -> LabConfig:
    """The bench lab's configuration: the environment's, with the bench's name and size, on Slurm
    (the bench compares Slurm with single_machine)."""
    config = LabConfig.from_env({**env, "LAB_NAME": options.lab, "BATCH_SYSTEM": "slurm"})
    config = config.with_workers(options.workers)
    if options.slots_per_cpu is not None:
        config = replace(config, slots_per_cpu=options.slots_per_cpu)
    return config


def run_bench(options: BenchOptions, say: Say = _say) -> BenchResult:
    """Make the bench lab, measure (a), (b) and (c), and delete it (unless --keep)."""
    config = bench_config(options, os.environ)
    check_absent(config)
    others = len(docker.container_ids({}, all_states=False))
    result = BenchResult(
        lab=config.name,
        workers=options.workers,
        jobs=options.jobs,
        host_cpus=0,
        load_before=[round(x, 2) for x in os.getloadavg()],
        other_containers=others,
        slots_per_cpu=config.slots_for(SLURM),
        slurm_settings=[f"{k}={v}" for k, v in options.slurm_settings],
        toil_args=list(options.toil_args),
    )
    if others:
        say(f"{others} other containers are running on this host; they share its CPUs with the bench")
    # Build (or find) the image first: `lab up` is timed with the image already built.
    plan = Lab(config, say).plan()
    result.host_cpus = plan.cpus
    containers, noop_s = measure_noop_start(config, options.workers, plan.image, plan.cpus, say)
    builds: list[str] = []

    def watch(message: str) -> None:
        if message.startswith("building "):
            builds.append(message)
        say(message)

    with tempfile.TemporaryDirectory(prefix="toil-lab-bench-") as folder:
        path = Path(folder) / f"{WORKFLOW_MODULE}.py"
        path.write_text(workflow_source(options.jobs))
        with bench_lab(config, options.keep, watch) as (lab, up_s):
            result.startup = StartUp(containers, round(up_s, 2), round(noop_s, 2), bool(builds))
            say(f"lab up: {up_s:.1f} s; no-op containers: {noop_s:.1f} s")
            result.memory_idle = worker_memory(lab)
            apply_slurm_settings(lab, options.slurm_settings, say)
            for round_ in range(1, options.rounds + 1):
                # Alternate the order, so neither batch system always runs on a warmer lab.
                order = (SINGLE_MACHINE, SLURM) if round_ % 2 else (SLURM, SINGLE_MACHINE)
                for batch_system in order:
                    extra = options.toil_args if batch_system == SLURM else ()
                    result.runs.append(run_trivial(lab, path, batch_system, round_, extra, say))
            result.memory_after = wait_for_quiet_workers(lab)
    return result


def wait_for_quiet_workers(lab: Lab, timeout: float = 60.0) -> list[WorkerMemory]:
    """Worker memory once Slurm has no job left running (finished jobs may still be completing)."""

    def check() -> Check[None]:
        text = lab.leader.exec(["squeue", "--noheader", "--format=%i"]).stdout.split()
        return Check(not text, f"{len(text)} Slurm jobs still in the queue", None)

    with contextlib.suppress(NotReady):
        wait_until(check, what="an empty Slurm queue", timeout=timeout, interval=0.5)
    return worker_memory(lab)


# --- Report --------------------------------------------------------------------------
def _fmt(value: float | None, unit: str = " s") -> str:
    return "-" if value is None else f"{value:.1f}{unit}"


def _verdict(ok: bool | None) -> str:
    return "" if ok is None else ("ok" if ok else "MISSED")


def format_report(result: BenchResult) -> str:
    """The bench's findings, for a person."""
    lines = [
        f"toil-lab bench: lab {result.lab!r}, leader + {result.workers} workers, {result.jobs} jobs, "
        f"{result.host_cpus} host CPUs, load {result.load_before[0]:.1f}, "
        f"{result.other_containers} other containers running",
    ]
    lines.append(
        f"  slots per CPU {result.slots_per_cpu}; slurm.conf changes: "
        f"{', '.join(result.slurm_settings) or 'none'}; Toil options on Slurm: "
        f"{' '.join(result.toil_args) or 'none'}"
    )
    lines.append("")
    if result.startup is not None:
        s = result.startup
        lines += [
            "a) start-up (image built)            lab up     no-op containers   ratio",
            f"   {s.containers} containers ready"
            f"{'':17}{_fmt(s.lab_up_s):>9}  {_fmt(s.noop_s):>12}       {_fmt(s.ratio, 'x'):>6}",
        ]
        if s.image_built:
            lines.append("   (lab up rebuilt the image: the checkout changed during the bench; run it again)")
        lines.append("")
    slurm_walls, local_walls = result.walls(SLURM), result.walls(SINGLE_MACHINE)
    jobs_ratio = result.jobs_ratio
    lines.append(f"b) {result.jobs} trivial jobs                   slurm  single_machine   ratio  target")
    rounds = sorted({run.round for run in result.runs})
    for number in rounds:
        by = {run.batch_system: run for run in result.runs if run.round == number}
        lines.append(
            f"   round {number}{'':27}{_fmt(by[SLURM].wall_s if SLURM in by else None):>8}"
            f"  {_fmt(by[SINGLE_MACHINE].wall_s if SINGLE_MACHINE in by else None):>14}"
        )
    lines.append(
        f"   median{'':27}{_fmt(median(slurm_walls)):>8}  {_fmt(median(local_walls)):>14}"
        f"  {_fmt(jobs_ratio, 'x'):>6}  <= {JOBS_RATIO_TARGET}x "
        f"{_verdict(None if jobs_ratio is None else jobs_ratio <= JOBS_RATIO_TARGET)}"
    )
    cpu = {
        name: median([sum(r.cpu_s.values()) for r in result.runs if r.batch_system == name])
        for name in (SLURM, SINGLE_MACHINE)
    }
    lines += [
        f"   CPU used by the lab (median){'':6}{_fmt(cpu[SLURM]):>8}  {_fmt(cpu[SINGLE_MACHINE]):>14}",
        "",
    ]
    worst = result.worst_worker_mib
    memory_ok = None if worst is None else worst < IDLE_MEMORY_TARGET_MIB
    lines.append(
        f"c) idle worker memory (docker stats)   worst {_fmt(worst, ' MiB')}  target < "
        f"{IDLE_MEMORY_TARGET_MIB:g} MiB {_verdict(memory_ok)}"
    )
    for label, sample in (("after lab up", result.memory_idle), ("after the runs", result.memory_after)):
        if sample:
            each = ", ".join(f"{m.node} {m.used_mib:.1f} ({m.resident_mib:.1f} resident)" for m in sample)
            lines.append(f"   {label}: {each} MiB")
    return "\n".join(lines)


# --- Command line -------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    """The bench's options."""
    parser = argparse.ArgumentParser(
        prog="python -m lab.bench",
        description="Measure lab start-up, 64 trivial Toil jobs on Slurm and idle worker memory, "
        "each beside a baseline measured in the same run. Makes a fresh lab and deletes it.",
    )
    parser.add_argument(
        "--lab", default=DEFAULT_BENCH_LAB, help=f"the bench lab's name ({DEFAULT_BENCH_LAB})"
    )
    parser.add_argument("--workers", type=parse_workers, default=DEFAULT_WORKERS)
    parser.add_argument("--jobs", type=int, default=DEFAULT_JOBS, help="child jobs of the workflow (64)")
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS, help="slurm/single_machine pairs (2)")
    parser.add_argument(
        "--json", type=Path, default=DEFAULT_JSON, help=f"where to write JSON ({DEFAULT_JSON})"
    )
    parser.add_argument("--keep", action="store_true", help="leave the bench lab up at the end")
    parser.add_argument(
        "--slots-per-cpu", type=int, default=None, help="the lab's OverSubscribe slots per CPU"
    )
    parser.add_argument(
        "--slurm-set",
        type=parse_setting,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="change a slurm.conf setting in the bench lab before the runs (repeatable)",
    )
    parser.add_argument(
        "--toil-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="an extra Toil option for the Slurm runs, e.g. --toil-arg=--maxJobs=16 (repeatable)",
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="log every command run")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the bench; print the report and write the JSON."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="lab: %(message)s")
    if args.rounds < 1:
        print("bench: --rounds must be at least 1", file=sys.stderr)
        return 2
    options = BenchOptions(
        lab=args.lab,
        workers=args.workers,
        jobs=args.jobs,
        rounds=args.rounds,
        keep=args.keep,
        slots_per_cpu=args.slots_per_cpu,
        slurm_settings=tuple(args.slurm_set),
        toil_args=tuple(args.toil_arg),
    )
    try:
        result = run_bench(options)
    except LabError as error:
        print(f"bench: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result.to_json(), indent=2) + "\n")
    print(format_report(result))
    print(f"\n(JSON: {args.json})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
