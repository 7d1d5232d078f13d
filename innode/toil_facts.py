"""What `lab toil-tests` asks of a Toil installation and of a node's test processes.

`facts`: where Toil is, what it is, which Python runs it. The same question goes to a
node's Toil (`python3 -m innode.toil_facts facts` in the node) and to the host's test
runner (its virtualenv's Python, with the checkout on its path), so that the runner can
prove it imports the very Toil the lab installed: the digest covers every file of the
`toil` package (its tests included), not only its version string, which a source build
may share with a release.

`stop PIDFILE`: end a test run started in a node (pytest, whose pid the file holds) and
every process under it: the Mesos master, agent and executors Toil's tests start. Ending
`docker exec` on the host does not end what it started in the node, and a hung Toil test
(its executor lost a kill) would otherwise hold 127.0.0.1:5050 for the next run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

PACKAGE = "toil"
# What the digest leaves out: bytecode, which each interpreter writes as it likes.
SKIPPED_DIRS = ("__pycache__",)
SKIPPED_SUFFIXES = (".pyc", ".pyo")


def python_name(version: Sequence[int] | None = None) -> str:
    """The interpreter's name as virtualenv --python and a venv's lib/ folder take it: python3.11."""
    major, minor = (version or sys.version_info)[:2]
    return f"python{major}.{minor}"


def package_digest(package_dir: Path) -> str:
    """sha256 of every file under a package (relative path and contents), bytecode left out."""
    hasher = hashlib.sha256()
    files = []
    for folder, dirs, names in os.walk(package_dir):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
        files += [Path(folder) / name for name in names if not name.endswith(SKIPPED_SUFFIXES)]
    for path in sorted(files, key=lambda p: p.relative_to(package_dir).as_posix()):
        hasher.update(path.relative_to(package_dir).as_posix().encode() + b"\0")
        hasher.update(hashlib.sha256(path.read_bytes()).digest())
    return hasher.hexdigest()


def facts() -> dict[str, Any]:
    """This interpreter's Toil: its version, install folder, digest; and the interpreter's name."""
    import toil
    import toil.version

    package_dir = Path(toil.__file__).resolve().parent
    return {
        "version": toil.version.version,
        "site": str(package_dir.parent),
        "digest": package_digest(package_dir),
        "python": python_name(),
        "executable": sys.executable,
    }


def parents(proc: Path = Path("/proc")) -> dict[int, int]:
    """Every process's parent, from /proc/PID/stat."""
    found: dict[int, int] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        # The command name (2nd field) is in parentheses and may hold spaces.
        found[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return found


def tree(root: int, parent_of: dict[int, int]) -> list[int]:
    """`root` and every process under it, parents before children."""
    children: dict[int, list[int]] = {}
    for pid, parent in parent_of.items():
        children.setdefault(parent, []).append(pid)
    order, queue = [], [root]
    while queue:
        pid = queue.pop(0)
        if pid in parent_of or pid == root:
            order.append(pid)
            queue += sorted(children.get(pid, []))
    return order


def stop(pidfile: Path, grace: float = 5.0) -> list[int]:
    """SIGTERM the process in `pidfile` and everything under it, SIGKILL what is left; the pids.

    The process must be the one that wrote the file (its command line names the file):
    a pid from a stale file may be another process's by now.
    """
    try:
        root = int(pidfile.read_text().split()[0])
        ours = str(pidfile).encode() in Path(f"/proc/{root}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError, IndexError):
        ours = False
    if not ours:
        pidfile.unlink(missing_ok=True)
        return []
    # Found all at once: a child whose parent died first would leave the tree.
    pids = [pid for pid in tree(root, parents()) if pid != os.getpid()]
    signal_all(pids, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    signal_all(pids, signal.SIGKILL)
    pidfile.unlink(missing_ok=True)
    return pids


def signal_all(pids: Sequence[int], sig: signal.Signals) -> None:
    """Send a signal to every process of a list that still exists."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def alive(pid: int, proc: Path = Path("/proc")) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        return (proc / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


USAGE = "usage: python3 -m innode.toil_facts facts | stop PIDFILE"


def main(argv: Sequence[str]) -> int:
    """`facts`: this interpreter's Toil, as JSON; `stop PIDFILE`: end a test run and its processes."""
    args = list(argv)
    if args == ["facts"]:
        print(json.dumps(facts(), sort_keys=True))
        return 0
    if len(args) == 2 and args[0] == "stop":
        stopped = stop(Path(args[1]))
        if stopped:
            print(f"stopped {len(stopped)} processes: {' '.join(map(str, stopped))}")
        return 0
    print(USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
