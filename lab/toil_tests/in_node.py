"""A family of Toil's tests run by pytest inside a lab node, as the lab user, from the node's Toil.

The node's installed Toil (its test package, in site-packages) is what runs: pytest starts
in the folder that holds it. Ending `docker exec` on the host does not end pytest in the
node: its pid is kept in a file there, and the run's processes (pytest and what its tests
started) are stopped when the host's run ends, and before a new one
(innode/toil_facts.py `stop`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from innode.layout import LAB_USER, USER_HOME
from lab import docker
from lab.node import Node
from lab.steps import Say
from lab.toil_tests import installed
from lab.toil_tests.families import Family, Outcome, run_pytest

# The run's folder in the node (emptied first), and its pytest's pid.
REMOTE = "/tmp/toil-tests"
PIDFILE = "/tmp/toil-tests.pid"


def run(
    node: Node,
    family: Family,
    extra: Sequence[str],
    results: Path,
    say: Say,
    *,
    env: Mapping[str, str] | None = None,
    files: Sequence[str] | None = None,
) -> Outcome:
    """Run a family's pytest in `node`; its outcome (junit XML copied to `results`)."""
    toil = installed.in_node(node)
    junit, log = results / f"{family.name}.xml", results / f"{family.name}.log"
    junit.unlink(missing_ok=True)
    remote_junit = f"{REMOTE}/{junit.name}"
    node.exec(["sh", "-c", 'rm -rf "$1" && mkdir -p "$1"', "remote", REMOTE], user=LAB_USER)
    say(f"{family.title}: pytest in {node.name} as {LAB_USER}, Toil {toil.version}, {toil.site}")
    code = run_stoppable(
        node,
        ["python3", "-m", "pytest", *family.pytest_args(remote_junit, extra, files)],
        log,
        pidfile=PIDFILE,
        workdir=toil.site,
        env={"HOME": USER_HOME, **(env or {})},
        say=say,
    )
    if node.exec(["test", "-f", remote_junit], check=False).returncode == 0:
        results.mkdir(parents=True, exist_ok=True)
        docker.copy_from(node.container_id, remote_junit, junit)
    return Outcome(family, code, junit, log)


def run_stoppable(
    node: Node,
    argv: Sequence[str],
    log: Path,
    *,
    pidfile: str,
    say: Say,
    workdir: str | None = None,
    env: Mapping[str, str] | None = None,
) -> int:
    """Run argv in `node` as the lab user, shown as it comes and kept in `log`; its exit code.

    What an earlier run under the same pidfile left is stopped first, and what this one
    leaves when it ends (or when the host's side is interrupted) is stopped after.
    """
    stop = ["python3", "-m", "innode.toil_facts", "stop", pidfile]
    stopped = node.exec(stop, user=LAB_USER).stdout.strip()
    if stopped:
        say(f"{node.name}: an earlier run was still there: {stopped}")
    command = node.exec_argv([*with_pidfile(pidfile), *argv], user=LAB_USER, workdir=workdir, env=env)
    try:
        return run_pytest(command, log)
    finally:
        left = node.exec(stop, user=LAB_USER, check=False).stdout.strip()
        if left:
            say(f"{node.name}: stopped what the run left running: {left}")


def with_pidfile(pidfile: str) -> list[str]:
    """A shell that records its pid, runs the command, and removes the record when the command
    ends: a record left behind is a run whose host went away; `stop` ends its whole tree."""
    return ["sh", "-c", 'echo $$ > "$0"; "$@"; status=$?; rm -f "$0"; exit $status', pidfile]
