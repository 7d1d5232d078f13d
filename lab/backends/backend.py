"""What the lab needs of a batch system (Backend), and a worker as its scheduler sees it (WorkerState).

Each batch system is one implementation in lab/backends/, listed in lab/backends/__init__.py.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

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

    @property
    def default_slots_per_cpu(self) -> int:
        """Jobs one CPU of a worker takes at once unless SLOTS_PER_CPU says otherwise."""
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
