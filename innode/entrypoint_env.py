"""The paths the entrypoint uses, from the modules that define them, as shell assignments.

The node image writes them to /etc/toil-lab/layout.env when it is built (images/node),
and images/node/entrypoint.sh reads that file: the paths are written once, in Python,
and the entrypoint starts no interpreter to learn them.
"""

from __future__ import annotations

import shlex
import sys

from innode.layout import NODE_STATE_DIR, PLACEMENT_DIR, TOIL_WORK_DIR
from innode.mesos_daemons import AGENT_WORK_DIR, MESOS_DIR
from innode.slurm_conf import CONF_PATH, SLURMCTLD_STATE_DIR, SLURMD_SPOOL_DIR

PATHS = {
    "LAB_NODE_STATE_DIR": NODE_STATE_DIR,
    "LAB_PLACEMENT_DIR": PLACEMENT_DIR,
    "LAB_TOIL_WORK_DIR": TOIL_WORK_DIR,
    "LAB_SLURM_CONF": CONF_PATH,
    "LAB_SLURMCTLD_STATE_DIR": SLURMCTLD_STATE_DIR,
    "LAB_SLURMD_SPOOL_DIR": SLURMD_SPOOL_DIR,
    "LAB_MESOS_DIR": MESOS_DIR,
    "LAB_MESOS_AGENT_WORK_DIR": AGENT_WORK_DIR,
}


def shell_assignments() -> str:
    """NAME=value lines, quoted for a shell that sources them."""
    return "".join(f"{name}={shlex.quote(value)}\n" for name, value in PATHS.items())


if __name__ == "__main__":
    sys.stdout.write(shell_assignments())
