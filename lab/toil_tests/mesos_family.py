"""Toil's Mesos batch-system tests on the lab: pytest inside a lab worker, as the lab user.

These tests (MesosTestSupport in toil/batchSystems/mesos/test/) start their own mesos-master
and mesos-agent on 127.0.0.1 of the machine pytest runs on, from the Mesos on its PATH: a
lab worker has the lab's Mesos build. They run from the worker's installed Toil
(in_node.py), as the lab user:
* not on the leader: the lab's master listens on every address of the leader, port 5050
  included, so the test's own master could not bind and the test would talk to the lab's;
* not as root: the agent would then choose the Linux launcher and fail to make its cgroups
  in an unprivileged container; as `lab` it takes the posix launcher.
The worker's own agent listens on the container's address, not on 127.0.0.1: both run.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from lab.cluster import Lab
from lab.errors import LabError
from lab.steps import Say
from lab.toil_tests import in_node
from lab.toil_tests.families import MESOS, Outcome


def check_node(lab: Lab, name: str) -> None:
    """The node must be a running worker of the lab."""
    node = lab.node(name)
    if node.role != "worker":
        raise LabError(
            f"the Mesos batch-system tests cannot run on the {name}: its mesos-master holds port 5050 "
            "on every address; name a worker"
        )
    if not node.running:
        raise LabError(f"{name} of lab {lab.config.name!r} is {node.state} (`lab heal {name}`)")


def run(lab: Lab, node_name: str, extra: Sequence[str], results: Path, say: Say) -> Outcome:
    """Run the Mesos batch-system family in a lab worker; its outcome (junit XML copied to `results`)."""
    check_node(lab, node_name)
    return in_node.run(lab.node(node_name), MESOS, extra, results, say)
