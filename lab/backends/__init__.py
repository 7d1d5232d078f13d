"""The lab's batch systems behind one interface (lab/backends/backend.py), chosen here by name.

Everything else (readiness, status, `lab run`, faults, recovery, the bench, the tests)
asks a Backend, never a scheduler's own commands. A backend runs its commands on the
leader through a Node; the daemons' own start-up is in-node code (innode/). A new batch
system is a module of lab/backends/ and one line in BACKENDS (README.md, 'Contributing').
"""

from __future__ import annotations

from collections.abc import Mapping

from lab.backends.backend import Backend, WorkerState
from lab.backends.mesos import MesosBackend
from lab.backends.slurm import SlurmBackend
from lab.errors import ConfigError

BACKENDS: Mapping[str, Backend] = {backend.name: backend for backend in (SlurmBackend(), MesosBackend())}
# The batch systems' names, in the order the lab offers them (BATCH_SYSTEM, tests, bench).
NAMES = tuple(BACKENDS)

__all__ = ["BACKENDS", "NAMES", "Backend", "WorkerState", "get"]


def get(name: str) -> Backend:
    """The backend of this name (slurm or mesos)."""
    try:
        return BACKENDS[name]
    except KeyError:
        raise ConfigError(f"unknown batch system {name!r}; the lab provides: {', '.join(NAMES)}") from None
