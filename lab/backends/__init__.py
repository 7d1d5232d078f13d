"""The lab's batch systems behind one interface: Slurm (backends/slurm.py), Mesos (backends/mesos/).

Everything else (readiness, status, `lab run`, faults, recovery, the bench, the tests)
asks a Backend, never a scheduler's own commands. A backend runs its commands on the
leader through a Node; the daemons' own start-up is in-node code (innode/).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from lab.config import BATCH_SYSTEMS
from lab.errors import ConfigError
from lab.node import Node
from lab.wait import Check


@dataclass(frozen=True)
class WorkerState:
    """One worker as its batch system's scheduler sees it."""

    name: str  # the worker's hostname: worker-1, ...
    state: str  # the scheduler's word: idle, mixed, down / active, deactivated, inactive
    raw: str  # as the scheduler shows it (Slurm's flags; Mesos's resources and tasks)
    reason: str
    ready: bool  # the scheduler will start jobs there
    lost: bool = False  # declared gone (Slurm: down); a Mesos agent declared unreachable is not listed
    id: str = ""  # the scheduler's own id for it (a Mesos agent id; Slurm's node name)


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
        """Every worker as the scheduler sees it now, by worker number."""
        ...

    def queued_jobs(self, leader: Node) -> int:
        """Jobs the scheduler still holds (pending or running)."""
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

    def rejoin(self, worker: Node) -> None:
        """What a worker's daemon needs once the worker is back on the lab's network (`lab heal`)."""
        ...

    def configure(self, leader: Node, settings: Sequence[tuple[str, str]]) -> None:
        """Change scheduler settings on a running lab (the bench's --scheduler-set)."""
        ...

    def export(self, leader: Node | None, workers: Sequence[Node], directory: Path) -> None:
        """Write the scheduler's view, configuration and job logs into a folder."""
        ...

    def explain(self, logs: str) -> str:
        """A hint for known start-up failures seen in node logs ('' if none)."""
        ...


def get(name: str) -> Backend:
    """The backend of this name (slurm or mesos)."""
    from lab.backends.mesos import MesosBackend
    from lab.backends.slurm import SlurmBackend

    backends: dict[str, Backend] = {"slurm": SlurmBackend(), "mesos": MesosBackend()}
    try:
        return backends[name]
    except KeyError:
        raise ConfigError(
            f"unknown batch system {name!r}; the lab provides: {', '.join(BATCH_SYSTEMS)}"
        ) from None
