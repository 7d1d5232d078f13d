"""The Docker labels that mark what the lab made, in one place: discovery filters on them.

Containers carry the lab, role, node and batch system (lab/compose.py writes them into
the generated Compose file, the leader's too); images carry what they are.
"""

from __future__ import annotations

LABEL_LAB = "org.toil-lab.lab"
LABEL_ROLE = "org.toil-lab.role"
LABEL_NODE = "org.toil-lab.node"
LABEL_BATCH_SYSTEM = "org.toil-lab.batch-system"
# On images: runtime, node, toil-mesos, mesos-runtime, mesos-build-<phase>.
LABEL_IMAGE = "org.toil-lab.image"
LABEL_MESOS_PACKAGE = "org.toil-lab.mesos-package"
# On a base image made here with debootstrap: how it was made.
LABEL_BOOTSTRAPPED = "org.toil-lab.bootstrapped"


def node_labels(role: str, node: str) -> dict[str, str]:
    """A node container's labels, with Compose's variables for the lab and its batch system."""
    return {
        LABEL_LAB: "${LAB_NAME:?}",
        LABEL_ROLE: role,
        LABEL_NODE: node,
        LABEL_BATCH_SYSTEM: "${LAB_BATCH_SYSTEM:?}",
    }
