"""`mesos-master` and `mesos-agent` on the test runner's PATH: the lab's real binaries, run in its nodes.

Toil's `@needs_mesos` skips a test unless `mesos-master` or `mesos-agent` is on the PATH of
the machine that runs pytest, and Toil's appliance tests run pytest on the host, where
Mesos is not installed. `lab toil-tests` writes these two small programs into a folder it
puts first on the runner's PATH. Each runs the REAL binary inside the lab node that runs
that daemon (mesos-master on the leader, mesos-agent on the appliance worker) through
`docker exec`, with its arguments, standard input and exit code: nothing is faked, and
`mesos-master --version` answers what the lab's master is.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from innode.layout import LEADER
from lab import process
from lab.cluster import Lab
from lab.config import LabConfig
from lab.errors import LabError
from lab.node import Node

MASTER, AGENT = "mesos-master", "mesos-agent"
DAEMONS = (MASTER, AGENT)
# A shim says so in its second line (the plugin checks what `mesos-master` on PATH is).
MARK = "# toil-lab shim:"
SCRIPT = """#!{python}
{mark} {daemon} of lab {lab!r} runs the real one in node {node} (written by `lab toil-tests`).
import sys

sys.path.insert(0, {root!r})
from lab.toil_tests.shim import main

sys.exit(main([{lab!r}, {node!r}, {daemon!r}, *sys.argv[1:]]))
"""


def node_of(daemon: str, worker: str) -> str:
    """The node that runs this daemon: the leader runs the master, the appliance worker its agent."""
    if daemon not in DAEMONS:
        raise LabError(f"no shim for {daemon!r}: the lab provides {', '.join(DAEMONS)}")
    return LEADER if daemon == MASTER else worker


def argv(node: Node, daemon: str, args: Sequence[str], *, tty: bool) -> list[str]:
    """The `docker exec` that runs the daemon's binary in the node, as root (as the lab starts it)."""
    return node.exec_argv([daemon, *args], interactive=True, tty=tty)


def script(lab: str, worker: str, daemon: str, python: str, root: Path) -> str:
    """The text of one shim."""
    node = node_of(daemon, worker)
    return SCRIPT.format(python=python, mark=MARK, daemon=daemon, lab=lab, node=node, root=str(root))


def write(
    folder: Path, lab: str, worker: str, python: str = sys.executable, root: Path | None = None
) -> Path:
    """Write both shims into `folder` (made if needed); the folder, to put first on PATH."""
    root = root or Path(__file__).resolve().parents[2]
    folder.mkdir(parents=True, exist_ok=True)
    for daemon in DAEMONS:
        path = folder / daemon
        path.write_text(script(lab, worker, daemon, python, root))
        path.chmod(0o755)
    return folder


def is_shim(path: Path) -> bool:
    """True when the program at `path` is one of these shims."""
    try:
        lines = path.read_text(errors="replace").splitlines()[:2]
    except OSError:
        return False
    return len(lines) == 2 and lines[1].startswith(MARK)


def main(args: Sequence[str]) -> int:
    """LAB NODE DAEMON [ARGS...]: run the daemon's binary in the lab's node; its exit code."""
    lab_name, node_name, daemon, *rest = args
    try:
        node = Lab(LabConfig.from_env({"LAB_NAME": lab_name})).node(node_name)
        command = argv(node, daemon, rest, tty=sys.stdin.isatty())
    except LabError as error:
        print(f"{daemon} (toil-lab shim): {error}", file=sys.stderr)
        return 127
    return process.run(command, check=False, capture=False).returncode
