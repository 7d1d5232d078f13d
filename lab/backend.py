"""The lab's batch systems behind one interface: Slurm (lab/slurm.py) and Mesos (lab/mesos.py).

The rest of the lab (readiness, status, `lab run`, faults, log export, tests) asks a
Backend, never a scheduler's own commands.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from lab import docker, mesos, slurm
from lab.config import BATCH_SYSTEMS
from lab.errors import ConfigError, LabError
from lab.node import Node
from lab.wait import Check


@dataclass(frozen=True)
class WorkerState:
    """One worker as its batch system's scheduler sees it."""

    name: str
    state: str  # the scheduler's word: idle, mixed, down / active, deactivated ...
    raw: str  # as the scheduler prints it (Slurm's flags, Mesos's resources and tasks)
    reason: str
    ready: bool  # the scheduler will start jobs there


class Backend(Protocol):
    """What the lab needs of a batch system."""

    @property
    def name(self) -> str:
        """slurm or mesos."""
        ...

    @property
    def scheduler(self) -> str:
        """The scheduler daemon on the leader (its process name)."""
        ...

    @property
    def worker_daemon(self) -> str:
        """The daemon on every worker."""
        ...

    def leader_ready(self, leader: Node) -> Check[None]:
        """Whether the scheduler on the leader answers."""
        ...

    def worker_states(self, leader: Node) -> list[WorkerState]:
        """Every worker as the scheduler sees it now."""
        ...

    def toil_options(self, *, auto_deploy: bool) -> list[tuple[str, str | None]]:
        """Toil options that run a workflow on this batch system."""
        ...

    def pinned(
        self, leader: Node, node: str, workers: Sequence[str]
    ) -> contextlib.AbstractContextManager[list[str]]:
        """For its duration, new jobs go to `node` only; yields the Toil options that do it."""
        ...

    def after_rescale(self, leader: Node, workers: Sequence[Node]) -> None:
        """What the scheduler needs after the worker list changed (the leader was recreated)."""
        ...

    def export(self, leader: Node | None, workers: Sequence[Node], directory: Path) -> None:
        """Write the scheduler's view, configuration and job logs into a folder."""
        ...

    def explain(self, logs: str) -> str:
        """A hint for known start-up failures seen in node logs ('' if none)."""
        ...


class SlurmBackend:
    """slurmctld on the leader, slurmd on every worker."""

    name = "slurm"
    scheduler = "slurmctld"
    worker_daemon = "slurmd"

    def leader_ready(self, leader: Node) -> Check[None]:
        result = leader.exec(["scontrol", "ping"], check=False)
        return Check(result.returncode == 0, result.stdout.strip() or result.stderr.strip(), None)

    def worker_states(self, leader: Node) -> list[WorkerState]:
        return [WorkerState(s.name, s.state, s.raw, s.reason, s.ready) for s in slurm.worker_states(leader)]

    def toil_options(self, *, auto_deploy: bool) -> list[tuple[str, str | None]]:
        return slurm.toil_options(auto_deploy=auto_deploy)

    @contextlib.contextmanager
    def pinned(self, leader: Node, node: str, workers: Sequence[str]) -> Iterator[list[str]]:
        # Each worker has a partition of its own (lab/slurm.py).
        yield ["--slurmPartition", node]

    def after_rescale(self, leader: Node, workers: Sequence[Node]) -> None:
        slurm.reconfigure(leader)

    def export(self, leader: Node | None, workers: Sequence[Node], directory: Path) -> None:
        if leader is None:
            return
        try:
            sinfo = leader.exec(slurm.SINFO_ARGV, check=False)
            nodes_text = leader.exec(["scontrol", "show", "nodes"], check=False).stdout
            jobs_text = leader.exec(["scontrol", "show", "jobs"], check=False).stdout
            (directory / "scheduler-nodes.txt").write_text(sinfo.stdout + sinfo.stderr + "\n" + nodes_text)
            (directory / "scheduler-jobs.txt").write_text(jobs_text)
            (directory / "slurm.conf").write_text(leader.read_text("/etc/slurm/slurm.conf"))
        except LabError as error:
            (directory / "scheduler-nodes.txt").write_text(f"could not ask the scheduler: {error}\n")

    def explain(self, logs: str) -> str:
        return ""


class MesosBackend:
    """mesos-master on the leader, mesos-agent on every worker."""

    name = "mesos"
    scheduler = "mesos-master"
    worker_daemon = "mesos-agent"

    def leader_ready(self, leader: Node) -> Check[None]:
        result = leader.exec(mesos.STATE_ARGV, check=False)
        if result.returncode != 0:
            return Check(False, result.stderr.strip() or "the master does not answer", None)
        try:
            state = json.loads(result.stdout)
        except ValueError:
            return Check(False, "the master's /master/state is not JSON", None)
        elected = mesos.is_elected(state)
        return Check(elected, "master elected" if elected else "master up, not yet elected", None)

    def worker_states(self, leader: Node) -> list[WorkerState]:
        return [WorkerState(a.name, a.state, a.raw, a.reason, a.ready) for a in mesos.worker_states(leader)]

    def toil_options(self, *, auto_deploy: bool) -> list[tuple[str, str | None]]:
        # Toil's Mesos batch system always ships the user's code itself. A job asks
        # Toil's default (and least) core request, 1; the agents offer SLOTS_PER_CPU
        # times their CPUs (lab/mesos.py).
        return mesos.toil_options()

    @contextlib.contextmanager
    def pinned(self, leader: Node, node: str, workers: Sequence[str]) -> Iterator[list[str]]:
        # Toil's Mesos batch system has no placement option: the other agents are
        # deactivated (no offers; their tasks go on) while the pinned run lasts.
        others = [name for name in workers if name != node]
        done: list[str] = []
        try:
            for name in others:
                mesos.set_active(leader, name, active=False)
                done.append(name)
            yield []
        finally:
            for name in done:
                mesos.set_active(leader, name, active=True)

    def after_rescale(self, leader: Node, workers: Sequence[Node]) -> None:
        # The recreated leader may have a new address, and an agent resolves
        # --master=leader:5050 when it starts: restart each agent (the entrypoint's
        # supervisor starts it again; it recovers from its work directory).
        for worker in workers:
            if worker.running:
                worker.exec(["pkill", "-TERM", "-x", self.worker_daemon], check=False)

    def export(self, leader: Node | None, workers: Sequence[Node], directory: Path) -> None:
        if leader is not None:
            result = leader.exec(mesos.STATE_ARGV, check=False)
            (directory / "mesos-master-state.json").write_text(result.stdout or result.stderr)
        for worker in workers:
            if not worker.running:
                continue
            target = directory / "sandboxes" / worker.name
            target.mkdir(parents=True, exist_ok=True)
            try:
                docker.copy_from(worker.container_id, mesos.SANDBOXES_DIR, target)
            except LabError as error:
                (target / "ERROR.txt").write_text(f"could not copy {mesos.SANDBOXES_DIR}: {error}\n")

    def explain(self, logs: str) -> str:
        if mesos.CGROUPS2_REFUSAL in logs:
            return (
                "hint: this Mesos agent refuses to start because of how cgroups are mounted "
                f"('{mesos.CGROUPS2_REFUSAL}'): the Docker host uses hybrid cgroups (a cgroup2 mount at "
                "/sys/fs/cgroup/unified). Use a Mesos build without that check, or a host with pure "
                "cgroup v1 or v2 (systemd.unified_cgroup_hierarchy)."
            )
        if "error while loading shared libraries" in logs:
            return (
                "hint: a Mesos binary cannot find a shared library: name the Debian package that "
                "provides it in MESOS_EXTRA_PACKAGES and run `lab up` again."
            )
        return ""


_BACKENDS: dict[str, Backend] = {"slurm": SlurmBackend(), "mesos": MesosBackend()}


def get(name: str) -> Backend:
    """The backend of this name (slurm or mesos)."""
    try:
        return _BACKENDS[name]
    except KeyError:
        raise ConfigError(
            f"unknown batch system {name!r}; the lab provides: {', '.join(BATCH_SYSTEMS)}"
        ) from None
