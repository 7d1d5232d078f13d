"""Names and paths inside the lab's nodes, defined once for both sides of the wall."""

from __future__ import annotations

LEADER = "leader"
WORKER_PREFIX = "worker-"
# One unprivileged user runs workflows, with the same uid on every node (images/node).
LAB_USER = "lab"

DATA_DIR = "/data"  # the shared job-store volume, on every node
NODE_STATE_DIR = "/var/lib/lab"  # each node's private volume
PLACEMENT_DIR = f"{NODE_STATE_DIR}/placement"  # where the recorder writes
TOIL_WORK_DIR = f"{NODE_STATE_DIR}/toil-work"  # Toil's --workDir on every node
# Node-local home of auto-deployed user code; Toil keys each download by content hash.
DEPLOYED_DIR = f"{TOIL_WORK_DIR}/deployed"
RUNS_DIR = f"{NODE_STATE_DIR}/runs"  # the leader's record of `lab run`s
USER_HOME = "/home/lab"  # the leader's private user-code area
JOBSTORES_DIR = f"{DATA_DIR}/jobstores"
SHARED_WORKFLOWS_DIR = f"{DATA_DIR}/workflows"
OUTPUTS_DIR = f"{DATA_DIR}/outputs"  # where `lab run` of a CWL workflow puts its outputs
# Memory of a worker's limit left to its OS and daemons, not offered to jobs: Slurm
# drains a node whose slurmd finds less memory than RealMemory says.
RESERVED_MEMORY_MB = 128


def worker_name(index: int) -> str:
    """The hostname (and Compose service) of worker number `index`, from 1."""
    return f"{WORKER_PREFIX}{index}"


def worker_names(count: int) -> list[str]:
    """The names of a lab's `count` workers, in order."""
    return [worker_name(index) for index in range(1, count + 1)]


def worker_order(name: str) -> tuple[int, int]:
    """Sort key of node names: the leader first, then worker-2 before worker-10."""
    if name == LEADER:
        return (0, 0)
    number = name.removeprefix(WORKER_PREFIX)
    return (1, int(number)) if name.startswith(WORKER_PREFIX) and number.isdigit() else (2, 0)
