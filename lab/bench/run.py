"""The bench's order of work: per batch system a lab of its own, measured, then deleted."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from lab import docker, settings
from lab.bench import jobs, measure
from lab.bench.startup_ratio import NOOP_SUFFIX, StartUp, noop_start, timed_lab
from lab.bench.summary import BackendBench, BenchResult
from lab.cluster import Lab
from lab.config import BATCH_SYSTEMS, LabConfig
from lab.errors import ConfigError
from lab.steps import Say

DEFAULT_BENCH_LAB = "toil-lab-bench"
DEFAULT_WORKERS = 3
DEFAULT_JOBS = 64
DEFAULT_ROUNDS = 2
# (d): how long the idle lab's CPU is measured, right after `lab up`.
IDLE_SECONDS = 30.0


def say_bench(message: str) -> None:
    """The bench's messages: on stderr, prefixed `bench:`."""
    print(f"bench: {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class BenchOptions:
    """What to measure, from the command line."""

    lab: str = DEFAULT_BENCH_LAB
    workers: int = DEFAULT_WORKERS
    jobs: int = DEFAULT_JOBS
    rounds: int = DEFAULT_ROUNDS
    keep: bool = False
    slots_per_cpu: int | None = None
    batch_systems: tuple[str, ...] = BATCH_SYSTEMS
    slurm_settings: tuple[tuple[str, str], ...] = ()
    toil_args: tuple[str, ...] = ()


def bench_config(options: BenchOptions, batch_system: str, env: Mapping[str, str]) -> LabConfig:
    """One bench lab's configuration: the environment's, with the bench's name, size and batch system.

    A Mesos bench lab uses MESOS_PACKAGE, or the Mesos build the LAB_NAME lab remembers.
    """
    name = options.lab if batch_system == "slurm" else f"{options.lab}-{batch_system}"
    config = settings.lab_config(env, name=name, batch_system=batch_system).with_workers(options.workers)
    if options.slots_per_cpu is not None:
        config = replace(config, slots_per_cpu=options.slots_per_cpu)
    return config


def check_absent(config: LabConfig) -> None:
    """Refuse to bench over containers that the bench did not make."""
    for name in (config.name, config.name + NOOP_SUFFIX):
        if Lab(replace(config, name=name)).nodes():
            raise ConfigError(
                f"lab {name!r} already has containers; the bench makes a fresh lab and deletes it "
                f"after: choose another --lab, or delete it with `LAB_NAME={name} lab clean --yes`."
            )


def bench_backend(
    config: LabConfig, batch_system: str, options: BenchOptions, workflow: Path, say: Say
) -> BackendBench:
    """(a), (b), (c) and (d) on a lab of this batch system, made and deleted here."""
    found = BackendBench(batch_system, config.slots_for(batch_system))
    with timed_lab(config, options.keep, say) as (lab, plan, up_s, timings):
        noop_s = noop_start(lab, plan, say)
        steps = tuple((title, round(seconds, 2)) for title, seconds in timings)
        found.startup = StartUp(1 + plan.workers, round(up_s, 2), round(noop_s, 2), steps)
        say(
            f"{batch_system}: lab up {up_s:.1f} s; the same containers with a no-op entrypoint {noop_s:.1f} s"
        )
        found.memory_idle = measure.worker_memory(lab)
        found.idle_cpu_s, found.idle_seconds = measure.idle_cpu(lab, IDLE_SECONDS), IDLE_SECONDS
        if batch_system == "slurm" and options.slurm_settings:
            lab.backend().configure(lab.leader(), options.slurm_settings)
        for round_ in range(1, options.rounds + 1):
            # Alternate the order, so neither always runs on a warmer lab.
            order = (jobs.SINGLE_MACHINE, batch_system) if round_ % 2 else (batch_system, jobs.SINGLE_MACHINE)
            for name in order:
                extra = options.toil_args if name == batch_system else ()
                found.runs.append(jobs.run_trivial(lab, workflow, name, round_, extra, say))
        jobs.wait_until_idle(lab)
        found.memory_after = measure.worker_memory(lab)
    return found


def run_bench(options: BenchOptions, say: Say = say_bench) -> BenchResult:
    """Measure each batch system on a lab of its own; each lab is deleted after (unless --keep)."""
    others = len(docker.container_ids({}, all_states=False))
    result = BenchResult(
        lab=options.lab,
        workers=options.workers,
        jobs=options.jobs,
        host_cpus=docker.engine_info().cpus,
        load_before=[round(x, 2) for x in os.getloadavg()],
        other_containers=others,
        scheduler_settings=[f"{k}={v}" for k, v in options.slurm_settings],
        toil_args=list(options.toil_args),
    )
    if others:
        say(f"{others} other containers are running on this host; they share its CPUs with the bench")
    configs = {name: bench_config(options, name, os.environ) for name in options.batch_systems}
    for config in configs.values():
        check_absent(config)
    with tempfile.TemporaryDirectory(prefix="toil-lab-bench-") as folder:
        workflow = Path(folder) / f"{jobs.WORKFLOW_MODULE}.py"
        workflow.write_text(jobs.workflow_source(options.jobs))
        for name, config in configs.items():
            if name == "mesos" and config.mesos_package is None:
                why = "no MESOS_PACKAGE is set or remembered (README.md, 'Mesos')"
                result.backends.append(BackendBench(name, config.slots_for(name), not_measured=why))
                say(f"mesos: not measured: {why}")
                continue
            result.backends.append(bench_backend(config, name, options, workflow, say))
    return result
