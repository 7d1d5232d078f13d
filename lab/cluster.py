"""A lab: find its nodes, its Compose project, wait for its scheduler, take it down.

Bringing it up is a recipe of its own (lab/startup.py).
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable
from functools import cached_property

from innode.layout import LEADER, worker_names
from lab import backends, compose, docker
from lab.backends import Backend, WorkerState
from lab.compose import Compose
from lab.config import LabConfig, choose_batch_system
from lab.errors import CommandFailed, ConfigError, NoSuchNode
from lab.labels import LABEL_LAB
from lab.node import Node, sort_key
from lab.steps import Say, print_line
from lab.wait import Check, wait_until

# Memory counted for the leader when the workers' limits are added up (lab/startup.py).
LEADER_MEMORY_MB = 1024
READY_TIMEOUT = 180.0
# How often `lab up` asks whether the scheduler and the workers are ready: each question is
# one `docker exec` of bash or scontrol (~0.1 s), and a start-up is over in a few tenths of
# a second once the daemons run (docs/mesos.md, "Start-up"). The pause grows to
# READY_POLL_MAX: a worker coming back after a fault takes seconds, and ten execs a second
# for that long took CPU from every other lab on the machine.
READY_POLL = 0.1
READY_POLL_MAX = 1.0
COMPOSE_PROJECT_LABEL = "com.docker.compose.project"


class Lab:
    """One lab, named by its configuration; its nodes are discovered from Docker labels."""

    def __init__(self, config: LabConfig, say: Say = print_line, *, verbose: bool = False) -> None:
        self.config = config
        self.say = say
        self.verbose = verbose  # builds stream their output instead of writing build/logs/
        self._made_on: str | None = None  # the batch system the lab's containers carry, once seen

    # --- discovery ---------------------------------------------------------
    def nodes(self) -> list[Node]:
        """Every container of this lab, leader first, whatever its state."""
        ids = docker.container_ids({LABEL_LAB: self.config.name})
        found = sorted((Node.from_inspect(data) for data in docker.inspect(ids)), key=sort_key)
        if found:
            self._made_on = next((n for n in found if n.role == "leader"), found[0]).batch_system
        return found

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

    def leader(self) -> Node:
        """The leader node; NoSuchNode (saying the lab is not up) when it has none."""
        return self.node(LEADER)

    def running_batch_system(self) -> str | None:
        """The batch system of the lab's existing containers (from their labels), if any.

        Asked of Docker until the lab has containers, then remembered: a lab keeps the
        batch system it was made with (`lab up` refuses another), so one `lab status`
        does not list the containers again for each question.
        """
        if self._made_on is None:
            self.nodes()  # remembers it when there are containers
        return self._made_on

    def forget_containers(self) -> None:
        """The lab's containers were removed (`lab down`, `lab clean`): ask Docker again next time."""
        self._made_on = None

    def batch_system(self) -> str:
        """The batch system this lab runs (or would run, when it has no containers yet).

        A ConfigError when it has none and the configuration chooses none that can run.
        """
        return self.running_batch_system() or choose_batch_system(self.config)[0]

    def backend(self) -> Backend:
        """The batch system's side of the lab: readiness, status, Toil options."""
        return backends.get(self.batch_system())

    def worker_states(self) -> list[WorkerState]:
        """Every worker as the scheduler on the leader sees it now."""
        return self.backend().worker_states(self.leader())

    def pinned(self, node: str) -> contextlib.AbstractContextManager[list[str]]:
        """For its duration, new jobs go to one worker; yields the Toil options that do it."""
        return self.backend().pinned(self.leader(), node, [w.name for w in self.workers()])

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
        image = next((n.image for n in nodes if n.image), "")
        return self.project(workers, image or "unused", 1, self.running_batch_system() or "slurm")

    # --- choices and readiness ----------------------------------------------
    def choose_batch_system(self) -> tuple[str, str]:
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

    def wait_leader(self, timeout: float = READY_TIMEOUT) -> None:
        """Wait until the scheduler on the leader (slurmctld, mesos-master) answers."""
        backend = self.backend()
        # Found once and asked directly; Docker is listed again only after a poll that
        # failed (the container stopped, or was recreated with a new id).
        leader = self.leader()

        def check() -> Check[None]:
            nonlocal leader
            ready = backend.leader_ready(leader) if leader.running else None
            if ready is not None and ready.ok:
                return ready
            leader = self.leader()
            if not leader.running:
                return Check(False, f"leader container is {leader.state}", None)
            return ready or backend.leader_ready(leader)

        wait_until(
            check,
            what=f"the leader's {backend.scheduler}",
            timeout=timeout,
            interval=READY_POLL,
            max_interval=READY_POLL_MAX,
            diagnostics=lambda _: self._with_hint(self.node_logs([LEADER])),
        )

    def _with_hint(self, logs: str) -> str:
        hint = self.backend().explain(logs)
        return f"{hint}\n{logs}" if hint else logs

    def wait_workers(
        self, count: int, timeout: float = READY_TIMEOUT, progress: Callable[[str], None] | None = None
    ) -> None:
        """Wait until `count` workers are registered with the scheduler and ready."""
        expected = worker_names(count)
        backend = self.backend()
        # The leader is up (wait_leader): found once, not listed again for every poll.
        leader = self.leader()

        def check() -> Check[list[str]]:
            states = {s.name: s for s in backend.worker_states(leader)}
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
            interval=READY_POLL,
            max_interval=READY_POLL_MAX,
            progress=lambda c: (progress or self.say)(c.detail),
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
        self._compose_down(volumes=False)
        self.say(f"lab {self.config.name!r} is down; its volumes are kept (`lab clean --yes` deletes them)")

    def _compose_down(self, *, volumes: bool) -> None:
        """`compose down`; a network Docker will not remove once the containers are gone is a warning.

        Seen after removing 65 containers at once: Docker kept the network, saying it
        "has active endpoints" while none was attached; only a restart of dockerd removed it.
        """
        try:
            self._existing_compose().down(volumes=volumes)
        except CommandFailed as error:
            self.forget_containers()
            if self.nodes() or "has active endpoints" not in error.stderr:
                raise
            self.say(
                f"warning: Docker kept lab {self.config.name!r}'s network: it says it has active endpoints "
                "although no container is attached (a Docker daemon fault; restarting dockerd removes it)"
            )
        self.forget_containers()

    def _undo_faults(self) -> None:
        # Resume paused nodes so that they stop cleanly; killed and partitioned
        # nodes need nothing: their containers and network links are removed.
        for node in self.nodes():
            if node.state == "paused":
                node.unpause()

    def clean(self) -> None:
        """Remove the lab's containers and delete all its volumes, the job store included."""
        self._undo_faults()
        self._compose_down(volumes=True)
        leftovers = docker.volume_names({COMPOSE_PROJECT_LABEL: self.config.name})
        docker.remove_volumes(leftovers)
        shutil.rmtree(self.config.state_dir, ignore_errors=True)
        self.say(f"lab {self.config.name!r} is gone, with its volumes")
