"""Toil's Mesos batch-system tests on the lab: pytest inside a lab worker, as the lab user.

These tests (MesosTestSupport in toil/batchSystems/mesos/test/) start their own mesos-master
and mesos-agent on 127.0.0.1 of the machine pytest runs on, from the Mesos on its PATH: a
lab worker has the lab's Mesos build. They run from the worker's installed Toil (its test
package, in site-packages), as the lab user:
* not on the leader: the lab's master listens on every address of the leader, port 5050
  included, so the test's own master could not bind and the test would talk to the lab's;
* not as root: the agent would then choose the Linux launcher and fail to make its cgroups
  in an unprivileged container; as `lab` it takes the posix launcher.
The worker's own agent listens on the container's address, not on 127.0.0.1: both run.

Ending `docker exec` on the host does not end pytest in the worker: its pid is kept in a
file there, and the run's processes (pytest, the tests' master, agent and executors) are
stopped when the host's run ends, and before a new one (innode/toil_facts.py `stop`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from innode.layout import LAB_USER, USER_HOME
from lab import docker
from lab.cluster import Lab
from lab.errors import LabError
from lab.steps import Say
from lab.toil_tests import installed
from lab.toil_tests.families import MESOS, Outcome, run_pytest

# The run's folder in the worker (its own filesystem; emptied first), and its pytest's pid.
REMOTE = "/tmp/toil-tests"
PIDFILE = "/tmp/toil-tests.pid"
STOP = ["python3", "-m", "innode.toil_facts", "stop", PIDFILE]
# A shell that records its pid, runs the command, and removes the record when the command
# ends: a record left behind is a run whose host went away; `stop` ends its whole tree.
WITH_PIDFILE = ["sh", "-c", 'echo $$ > "$0"; "$@"; status=$?; rm -f "$0"; exit $status', PIDFILE]


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
    node = lab.node(node_name)
    toil = installed.in_node(node)
    junit, log = results / "mesos.xml", results / "mesos.log"
    junit.unlink(missing_ok=True)
    remote_junit = f"{REMOTE}/{junit.name}"
    stopped = node.exec(STOP, user=LAB_USER).stdout.strip()
    if stopped:
        say(f"{node_name}: an earlier run of these tests was still there: {stopped}")
    node.exec(["sh", "-c", 'rm -rf "$1" && mkdir -p "$1"', "remote", REMOTE], user=LAB_USER)
    argv = node.exec_argv(
        [*WITH_PIDFILE, "python3", "-m", "pytest", *MESOS.pytest_args(remote_junit, extra)],
        user=LAB_USER,
        workdir=toil.site,
        env={"HOME": USER_HOME},
    )
    say(f"Mesos batch-system tests: pytest in {node_name} as {LAB_USER}, Toil {toil.version}, {toil.site}")
    try:
        code = run_pytest(argv, log)
    finally:
        left = node.exec(STOP, user=LAB_USER, check=False).stdout.strip()
        if left:
            say(f"{node_name}: stopped what the tests left running: {left}")
    if node.exec(["test", "-f", remote_junit], check=False).returncode == 0:
        results.mkdir(parents=True, exist_ok=True)
        docker.copy_from(node.container_id, remote_junit, junit)
    return Outcome(MESOS, code, junit, log)
