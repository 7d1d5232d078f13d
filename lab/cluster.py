"""A lab: bring it up, find its nodes, wait for them, take it down."""

from __future__ import annotations

import contextlib
import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property

from lab import backend, compose, docker, remembered
from lab.backend import Backend, WorkerState
from lab.compose import Compose
from lab.config import (
    DEFAULT_BASE_IMAGE,
    DEFAULT_WORKERS,
    LABEL_LAB,
    LEADER,
    LabConfig,
    choose_batch_system,
)
from lab.errors import ConfigError, LabError, NoSuchNode
from lab.node import Node, sort_key
from lab.wait import Check, wait_until

# Memory kept for the leader and the host when checking that a lab fits.
LEADER_MEMORY_MB = 1024
READY_TIMEOUT = 180.0
COMPOSE_PROJECT_LABEL = "com.docker.compose.project"

Say = Callable[[str], None]


def _say(message: str) -> None:
    print(f"lab: {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class UpPlan:
    """What `lab up` settled before starting anything."""

    workers: int
    cpus: int
    image: str
    batch_system: str
    why: str  # why this batch system (BATCH_SYSTEM, MESOS_PACKAGE, or the running lab's)


class Lab:
    """One lab, named by its configuration; its nodes are discovered from Docker labels."""

    def __init__(self, config: LabConfig, say: Say = _say) -> None:
        self.config = config
        self.say = say

    # --- discovery ---------------------------------------------------------
    def nodes(self) -> list[Node]:
        """Every container of this lab, leader first, whatever its state."""
        ids = docker.container_ids({LABEL_LAB: self.config.name})
        found = [Node.from_inspect(data) for data in docker.inspect(ids)]
        return sorted(found, key=sort_key)

    def workers(self) -> list[Node]:
        """The lab's worker nodes, by number."""
        return [node for node in self.nodes() if node.role == "worker"]

    def node(self, name: str) -> Node:
        """The node with this name; a clear error listing the lab's nodes otherwise."""
        nodes = self.nodes()
        for node in nodes:
            if node.name == name:
                return node
        names = ", ".join(node.name for node in nodes) or "none: the lab is not up (`make lab-up`)"
        raise NoSuchNode(f"lab {self.config.name!r} has no node {name!r}; its nodes: {names}")

    @property
    def leader(self) -> Node:
        """The leader node."""
        return self.node(LEADER)

    def running_batch_system(self) -> str | None:
        """The batch system of the lab's existing containers (from their labels), if any."""
        nodes = self.nodes()
        leader = next((n for n in nodes if n.role == "leader"), None)
        return (leader or nodes[0]).batch_system if nodes else None

    @property
    def batch_system(self) -> str:
        """The batch system this lab runs (or would run, when it has no containers yet)."""
        return self.running_batch_system() or choose_batch_system(self.config)[0]

    @property
    def backend(self) -> Backend:
        """The batch system's side of the lab: readiness, status, Toil options."""
        return backend.get(self.batch_system)

    def worker_states(self) -> list[WorkerState]:
        """Every worker as the scheduler on the leader sees it now."""
        return self.backend.worker_states(self.leader)

    def pinned(self, node: str) -> contextlib.AbstractContextManager[list[str]]:
        """For its duration, new jobs go to one worker; yields the Toil options that do it."""
        return self.backend.pinned(self.leader, node, [w.name for w in self.workers()])

    def is_up(self) -> bool:
        """True when the leader and at least one worker are running."""
        nodes = self.nodes()
        return any(n.role == "leader" and n.running for n in nodes) and any(
            n.role == "worker" and n.running for n in nodes
        )

    # --- compose -------------------------------------------------------------
    @cached_property
    def _compose_command(self) -> tuple[str, ...]:
        return self.config.compose_command or compose.detect_command()

    def project(self, workers: int, image: str, cpus: int, batch_system: str) -> Compose:
        """The Compose project of this lab with `workers` workers."""
        root = self.config.root
        template = compose.load_worker_template(root / "compose.yaml")
        workers_file = compose.write_workers_file(self.config.state_dir / "workers.yaml", template, workers)
        return Compose(
            command=self._compose_command,
            project=self.config.name,
            project_dir=root,
            files=(root / "compose.yaml", workers_file),
            variables={
                "LAB_NAME": self.config.name,
                "LAB_IMAGE": image,
                "LAB_WORKERS": str(workers),
                "LAB_WORKER_CPUS": str(cpus),
                "LAB_WORKER_MEMORY_MB": str(self.config.worker_memory_mb),
                "LAB_SLOTS_PER_CPU": str(self.config.slots_for(batch_system)),
                "LAB_BATCH_SYSTEM": batch_system,
            },
        )

    def _existing_compose(self) -> Compose:
        """The Compose project as it stands (for down, clean and logs)."""
        nodes = self.nodes()
        workers = max(1, sum(1 for n in nodes if n.role == "worker"))
        image = next((str(n.inspect().get("Config", {}).get("Image", "")) for n in nodes), "")
        return self.project(workers, image or "unused", 1, self.running_batch_system() or "slurm")

    # --- up ------------------------------------------------------------------
    def plan(self) -> UpPlan:
        """Check the input against the Docker host and build the image: nothing starts."""
        engine = docker.engine_info()
        batch_system, why = self._choose_batch_system()
        running = sum(1 for n in self.workers() if n.running)
        workers = self.config.workers or running or DEFAULT_WORKERS
        self._check_capacity(workers, engine)
        image = self._build_image(engine, batch_system)
        return UpPlan(workers=workers, cpus=engine.cpus, image=image, batch_system=batch_system, why=why)

    def _choose_batch_system(self) -> tuple[str, str]:
        """The configured choice, which must agree with a lab that already has containers."""
        chosen, why = choose_batch_system(self.config)
        existing = self.running_batch_system()
        if existing is None:
            return chosen, why
        if chosen == existing:
            return existing, f"{why}; lab {self.config.name!r} already runs it"
        if existing == "mesos" and self.config.batch_system == "auto" and self.config.mesos_package is None:
            raise ConfigError(
                f"lab {self.config.name!r} runs mesos: set MESOS_PACKAGE to the Mesos build it was made "
                "with to change it, or take it down first (`lab down`; its volumes are kept). "
                "Nothing was changed."
            )
        raise ConfigError(
            f"lab {self.config.name!r} already runs {existing}, and {why} chooses {chosen}: take it down "
            f"first (`lab down`; its volumes are kept), or give the new lab another LAB_NAME. "
            "Nothing was changed."
        )

    def _check_capacity(self, workers: int, engine: docker.EngineInfo) -> None:
        total_mb = engine.memory_bytes // (1024 * 1024)
        needed = workers * self.config.worker_memory_mb + LEADER_MEMORY_MB
        if total_mb and needed > total_mb:
            most = max(0, (total_mb - LEADER_MEMORY_MB) // self.config.worker_memory_mb)
            raise ConfigError(
                f"WORKERS={workers} with WORKER_MEMORY={self.config.worker_memory_mb}M needs "
                f"{needed} MiB, more than the Docker host has ({total_mb} MiB): use at most "
                f"WORKERS={most}, or a smaller WORKER_MEMORY."
            )

    def _build_image(self, engine: docker.EngineInfo, batch_system: str) -> str:
        from lab import image, mesos_image

        # A wrong MESOS_PACKAGE, or a base image Slurm does not work on, is an error
        # before anything is built or started.
        package = (
            mesos_image.resolve_package(self.config, engine.architecture) if batch_system == "mesos" else None
        )
        platform = image.base_platform(self.config, self.say)
        if batch_system == "slurm" and platform.slurm_problem:
            raise ConfigError(
                f"BASE_IMAGE={self.config.base_image} cannot run a Slurm lab: {platform.slurm_problem}. "
                f"Use it for Mesos labs, or leave BASE_IMAGE at {DEFAULT_BASE_IMAGE} for Slurm. "
                "Nothing was started."
            )
        node_image = image.ensure_node_image(self.config, engine.architecture, platform, self.say)
        if package is None:
            return node_image
        return mesos_image.ensure_mesos_image(
            self.config, package, node_image, engine.architecture, platform, self.say
        )

    def up(self) -> UpPlan:
        """Bring the lab up (or scale it) and return when every worker is ready."""
        plan = self.plan()
        before = sum(1 for n in self.workers() if n.running)
        project = self.project(plan.workers, plan.image, plan.cpus, plan.batch_system)
        self.say(f"batch system: {plan.batch_system}, because {plan.why}")
        self.say(f"starting lab {self.config.name!r}: leader + {plan.workers} workers on {plan.batch_system}")
        project.up()
        self.wait_leader()
        if before and before != plan.workers:
            # The leader was recreated with the new node list (Slurm: let every
            # slurmd fetch the new configuration).
            self.backend.after_rescale(self.leader, self.workers())
        self.wait_workers(plan.workers)
        remembered.save(self.config, plan.batch_system)
        return plan

    def wait_leader(self, timeout: float = READY_TIMEOUT) -> None:
        """Wait until the scheduler on the leader (slurmctld, mesos-master) answers."""
        backend = self.backend

        def check() -> Check[None]:
            leader = self.leader
            if not leader.running:
                return Check(False, f"leader container is {leader.state}", None)
            return backend.leader_ready(leader)

        wait_until(
            check,
            what=f"the leader's {backend.scheduler}",
            timeout=timeout,
            diagnostics=lambda _: self._with_hint(self.node_logs([LEADER])),
        )

    def _with_hint(self, logs: str) -> str:
        hint = self.backend.explain(logs)
        return f"{hint}\n{logs}" if hint else logs

    def wait_workers(self, count: int, timeout: float = READY_TIMEOUT) -> None:
        """Wait until `count` workers are registered with the scheduler and ready."""
        expected = [compose.worker_service_name(i) for i in range(1, count + 1)]
        backend = self.backend

        def check() -> Check[list[str]]:
            states = {s.name: s for s in backend.worker_states(self.leader)}
            ready = [name for name in expected if name in states and states[name].ready]
            missing = [name for name in expected if name not in ready]
            detail = f"{len(ready)}/{count} workers ready"
            if missing:
                seen = ", ".join(f"{n}={states[n].raw if n in states else 'unregistered'}" for n in missing)
                detail += f" (waiting for {seen})"
            return Check(not missing, detail, missing)

        def diagnostics(last: Check[list[str]] | None) -> str:
            missing = last.value if last is not None else expected
            return self._with_hint(
                f"missing workers: {', '.join(missing)}\n" + self.node_logs([LEADER, *missing])
            )

        wait_until(
            check,
            what=f"{count} workers to register with {backend.scheduler}",
            timeout=timeout,
            progress=lambda c: self.say(c.detail),
            diagnostics=diagnostics,
        )

    def node_logs(self, names: list[str], tail: int = 30) -> str:
        """The last lines of these nodes' container logs, for error messages."""
        by_name = {node.name: node for node in self.nodes()}
        parts = []
        for name in names:
            node = by_name.get(name)
            text = node.logs(tail=tail).rstrip() if node else "(no container)"
            parts.append(f"--- logs of {name} (last {tail} lines) ---\n{text}")
        return "\n".join(parts)

    # --- down ----------------------------------------------------------------
    def down(self) -> None:
        """Stop and remove the lab's containers; every volume (job store included) stays."""
        if not self.nodes():
            self.say(f"lab {self.config.name!r} has no containers")
            return
        self._undo_faults()
        self._existing_compose().down(volumes=False)
        self.say(f"lab {self.config.name!r} is down; its volumes are kept (`lab clean --yes` deletes them)")

    def _undo_faults(self) -> None:
        # Resume paused nodes so that they stop cleanly; killed and partitioned
        # nodes need nothing: their containers and network links are removed.
        for node in self.nodes():
            if node.state == "paused":
                node.unpause()

    def clean(self) -> None:
        """Remove the lab's containers and delete all its volumes, the job store included."""
        self._undo_faults()
        self._existing_compose().down(volumes=True)
        leftovers = docker.volume_names({COMPOSE_PROJECT_LABEL: self.config.name})
        docker.remove_volumes(leftovers)
        shutil.rmtree(self.config.state_dir, ignore_errors=True)
        self.say(f"lab {self.config.name!r} is gone, with its volumes")


@contextlib.contextmanager
def running_lab(
    config: LabConfig,
    *,
    reuse: bool,
    say: Say = _say,
    on_failure: Callable[[Lab], None] | None = None,
) -> Iterator[Lab]:
    """A lab that is up for the duration; one this call started is cleaned up after.

    When start-up fails, `on_failure` (e.g. exporting logs) sees the lab before the
    half-made lab is removed.
    """
    lab = Lab(config, say)
    if reuse and lab.is_up():
        say(f"reusing running lab {config.name!r}")
        yield lab
        return
    try:
        lab.up()
    except BaseException:
        if on_failure is not None:
            with contextlib.suppress(Exception):
                on_failure(lab)
        with contextlib.suppress(LabError):
            lab.clean()
        raise
    try:
        yield lab
    finally:
        lab.clean()
