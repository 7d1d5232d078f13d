"""toil-cwl-runner with a file job store of its own on the shared volume: the tool cwltest runs.

`python3 -m innode.cwl_runner STORES [TOIL-CWL-RUNNER ARGS ...]`

cwltest runs its tool once per conformance test, with the same arguments each time. Without
`--jobStore`, toil-cwl-runner refuses Toil's grid-engine batch systems (Slurm: "requires a
shared filesystem") and gives `mesos` an AWS job store. So each call gets a fresh
`file:` job store under STORES, a folder on the shared volume that every node sees.
Toil's `--clean=always` (which `lab cwl-conformance` passes) removes it when the run ends.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Sequence

RUNNER = "toil-cwl-runner"
USAGE = "usage: python3 -m innode.cwl_runner STORES [TOIL-CWL-RUNNER ARGS ...]"


def argv_for(stores: str, args: Sequence[str]) -> list[str]:
    """toil-cwl-runner's command line with a new job store under `stores` (made, then removed:
    Toil makes the job store's folder itself)."""
    os.makedirs(stores, exist_ok=True)
    store = tempfile.mkdtemp(prefix="jobstore-", dir=stores)
    os.rmdir(store)
    return [RUNNER, "--jobStore", f"file:{store}", *args]


def main(argv: Sequence[str]) -> int:
    """Replace this process with toil-cwl-runner (its exit code is cwltest's to read)."""
    if not argv or argv[0].startswith("-"):
        print(USAGE, file=sys.stderr)
        return 2
    command = argv_for(argv[0], argv[1:])
    os.execvp(command[0], command)
    return 127  # not reached: execvp replaces the process or raises


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
