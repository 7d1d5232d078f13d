"""`lab up` as a recipe: an ordered list of small steps, each shown as one line with its time.

    checks            the batch system and why, MESOS_PACKAGE, BASE_IMAGE, capacity
    base image        present, pulled, or made with debootstrap
    wheelhouse        Toil (and on Mesos pymesos) resolved on the host
    runtime image     the distribution and Toil (on Mesos: and Mesos)
    node image        the in-node code over the runtime
    start             Compose creates (or keeps) the containers
    leader            the scheduler on the leader answers
    workers           every worker registered with it and ready

Nothing is built or started before the checks pass; a running lab whose images and
settings did not change is left as it is ("already up").
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from innode.layout import LEADER
from lab import base_image, docker, image, remembered, wheelhouse
from lab.backends.mesos import image as mesos_image
from lab.backends.mesos.package import MesosPackage
from lab.base_image import Platform
from lab.cluster import LEADER_MEMORY_MB, Lab
from lab.config import DEFAULT_BASE_IMAGE, DEFAULT_WORKERS, LabConfig
from lab.cwl import image as cwl_image
from lab.errors import ConfigError, LabError
from lab.steps import Say, Steps, print_line


@dataclass(frozen=True)
class UpPlan:
    """What `lab up` settled before starting anything."""

    workers: int
    cpus: int
    image: str
    batch_system: str
    why: str  # why this batch system (BATCH_SYSTEM, MESOS_PACKAGE, or the running lab's)
    already_up: bool = False  # every container was kept as it was


@dataclass(frozen=True)
class Checked:
    """What the checks found: nothing is built or started before they pass."""

    engine: docker.EngineInfo
    batch_system: str
    why: str
    workers: int
    platform: Platform
    package: MesosPackage | None


def capacity_warning(workers: int, worker_memory_mb: int, engine: docker.EngineInfo) -> str:
    """A warning when the workers' memory limits add up to more than the host has ('' if not).

    Limits are not reservations (an idle worker uses ~35 MiB), so such a lab starts;
    only jobs that all use their whole limit at once would run the host out of memory.
    """
    total_mb = engine.memory_bytes // (1024 * 1024)
    limits = workers * worker_memory_mb + LEADER_MEMORY_MB
    if not total_mb or limits <= total_mb:
        return ""
    return (
        f"warning: {workers} workers with WORKER_MEMORY={worker_memory_mb}M may use up to {limits} MiB "
        f"(with the leader's {LEADER_MEMORY_MB}), more than the Docker host's {total_mb} MiB: the lab starts "
        "(a limit is not a reservation), but jobs that use their whole limit at once would run the host "
        "out of memory."
    )


def check(lab: Lab, steps: Steps) -> Checked:
    """The batch system, MESOS_PACKAGE, BASE_IMAGE and the host's capacity, before anything else."""
    with steps.step("checks") as step:
        engine = docker.engine_info()
        batch_system, why = lab.choose_batch_system()
        step.say(f"batch system: {batch_system}, because {why}")
        running = sum(1 for n in lab.workers() if n.running)
        workers = lab.config.workers or running or DEFAULT_WORKERS
        warning = capacity_warning(workers, lab.config.worker_memory_mb, engine)
        if warning:
            step.say(warning)
        # A wrong MESOS_PACKAGE, or a base image Slurm does not work on, is an error
        # before anything is built or started.
        package = None
        if batch_system == "mesos":
            package = mesos_image.resolve_package(lab.config, engine.architecture)
            step.say(f"Mesos from {package.description}")
        platform = base_image.base_platform(lab.config, step.say)
        if batch_system == "slurm" and platform.slurm_problem:
            raise ConfigError(
                f"BASE_IMAGE={lab.config.base_image} cannot run a Slurm lab: {platform.slurm_problem}. "
                f"Use it for Mesos labs, or leave BASE_IMAGE at {DEFAULT_BASE_IMAGE} for Slurm. "
                "Nothing was started."
            )
        step.outcome = f"{batch_system}, leader + {workers} workers"
    return Checked(engine, batch_system, why, workers, platform, package)


@contextlib.contextmanager
def building(root: Path) -> Iterator[None]:
    """One `lab up` at a time builds images and resolves wheelhouses in a checkout (two labs
    brought up at once, as `make test` does, would otherwise resolve into the same folders)."""
    lock = root / "build" / ".lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def images(lab: Lab, checked: Checked, steps: Steps) -> str:
    """Build what is missing, from the base image to the node image; the node image's tag."""
    with building(lab.config.root):
        return _images(lab, checked, steps)


def _images(lab: Lab, checked: Checked, steps: Steps) -> str:
    config, architecture = lab.config, checked.engine.architecture
    with steps.step(f"base image {config.base_image}") as step:
        step.outcome = base_image.ensure_base_image(config, step.say)
    with steps.step("wheelhouse") as step:
        house = wheelhouse.ensure_toil(config, architecture, step.say, checked.platform)
        mesos_house = cwl_house = None
        if checked.package is not None:
            mesos_house = mesos_image.ensure_wheelhouse(config, architecture, checked.platform)
        if config.cwl:
            cwl_house = cwl_image.ensure_wheelhouse(config, architecture, house, checked.platform, step.say)
        step.outcome = ", ".join(h.name for h in (house, mesos_house, cwl_house) if h is not None)
    runtime = build(lab, image.runtime_build(config, house), steps)
    if checked.package is not None and mesos_house is not None:
        staged = mesos_image.stage_package(checked.package, config)
        mesos_runtime = mesos_image.runtime_build(config, checked.package, runtime, mesos_house, staged)
        runtime = build(lab, mesos_runtime, steps)
    if cwl_house is not None:
        runtime = build(lab, cwl_image.layer_build(config, runtime, cwl_house), steps)
    return build(lab, image.node_build(config, runtime, house), steps)


def build(lab: Lab, wanted: image.Build, steps: Steps) -> str:
    """One image: built unless its tag exists; its tag."""
    with steps.step(wanted.what) as step:
        try:
            made = image.ensure(wanted, lab.config.root, quiet=not lab.verbose, progress=step.progress)
        except LabError as error:
            raise LabError(f"could not build the {wanted.what}: {error}") from None
        step.outcome = f"{made} {wanted.tag}"
    return wanted.tag


def up(lab: Lab, steps: Steps | None = None) -> UpPlan:
    """Bring the lab up (or scale it) and return when every worker is ready."""
    steps = steps or Steps()
    checked = check(lab, steps)
    node_image = images(lab, checked, steps)
    workers, cpus, batch_system = checked.workers, checked.engine.cpus, checked.batch_system
    existing = lab.nodes()
    before = {n.name: n.container_id for n in existing}
    with steps.step(f"start leader + {workers} workers on {batch_system}") as step:
        stale = [n.name for n in existing if n.image != node_image]
        if stale:
            step.say(
                f"the node image changed to {node_image}: {', '.join(stale)} are recreated; volumes are kept"
            )
        lab.project(workers, node_image, cpus, batch_system).up()
        after = {n.name: n.container_id for n in lab.nodes()}
        already_up = bool(before) and before == after
        step.outcome = "already up: every container kept" if already_up else created(before, after)
    plan = UpPlan(workers, cpus, node_image, batch_system, checked.why, already_up)
    with steps.step(f"leader's {lab.backend().scheduler}"):
        lab.wait_leader()
    workers_before = sum(1 for name in before if name != LEADER)
    if workers_before and workers_before != plan.workers:
        # The leader was recreated with the new node list (Slurm: let every slurmd
        # fetch the new configuration; Mesos: agents find the new master).
        lab.backend().after_rescale(lab.leader(), lab.workers())
    with steps.step(f"{plan.workers} workers ready on {lab.backend().scheduler}") as step:
        lab.wait_workers(plan.workers, progress=step.progress)
    remembered.save(lab.config, plan.batch_system)
    return plan


def created(before: dict[str, str], after: dict[str, str]) -> str:
    """What Compose did, from the container ids before and after."""
    kept = [name for name, container in after.items() if before.get(name) == container]
    made = [name for name in after if name not in kept]
    return f"{len(made)} containers created or recreated" + (f", {len(kept)} kept" if kept else "")


@dataclass(frozen=True)
class Policy:
    """What `running_lab` does with a lab before and after its block."""

    reuse: bool = False  # a lab that is up is used as it is: not brought up, not removed
    keep: bool = False  # keep the lab after the block, or after a failed start, saying how to remove it
    keep_if_up: bool = False  # a lab that was up before is brought up to date, and kept after


@contextlib.contextmanager
def running_lab(
    config: LabConfig,
    policy: Policy = Policy(),
    *,
    say: Say = print_line,
    on_failure: Callable[[Lab], None] | None = None,
    steps: Steps | None = None,
) -> Iterator[Lab]:
    """A lab that is up for the block: brought up here, and removed after unless the policy keeps it.

    When start-up fails, `on_failure` (e.g. exporting logs) sees the lab before the
    half-made lab is removed (unless kept, as kind keeps a failed cluster when asked).
    """
    lab = Lab(config, say)
    if policy.reuse and lab.is_up():
        say(f"reusing running lab {config.name!r} as it is")
        yield lab
        return
    kept = policy.keep or (policy.keep_if_up and lab.is_up())
    try:
        up(lab, steps)
    except BaseException:
        if on_failure is not None:
            with contextlib.suppress(Exception):
                on_failure(lab)
        if kept:
            _say_kept(config.name, say)
        else:
            with contextlib.suppress(LabError):
                lab.clean()
        raise
    try:
        yield lab
    finally:
        if kept:
            _say_kept(config.name, say)
        else:
            lab.clean()


def _say_kept(name: str, say: Say) -> None:
    say(f"lab {name!r} is kept: `LAB_NAME={name} lab status`; `LAB_NAME={name} lab clean --yes` removes it")
