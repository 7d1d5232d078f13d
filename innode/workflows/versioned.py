"""A workflow whose jobs say which copy of its code ran them (scenario 1652-stale-user-module).

Each job writes, in its own code, the module's VERSION and file, its hostname and pid, to
--record/job-N.log on the shared volume. The scenario installs an older copy of this
module (another VERSION) into one worker's site-packages, and asks whether Toil's
auto-deployment ran the code the leader shipped there, or the copy the node already had.

In-node code: standard library and Toil only.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from toil.common import Toil
from toil.job import Job

VERSION = "shipped by the leader"


def report(job: Any, record: str, index: int) -> None:
    with open(os.path.join(record, f"job-{index}.log"), "a") as handle:
        handle.write(f"{socket.gethostname()} {os.getpid()} {VERSION!r} {os.path.abspath(__file__)}\n")


def root(job: Any, record: str, count: int) -> None:
    os.makedirs(record, exist_ok=True)
    for index in range(count):
        job.addChildJobFn(report, record, index, memory="256M", cores=1, disk="256M")


if __name__ == "__main__":
    parser = Job.Runner.getDefaultArgumentParser()
    parser.add_argument("--record", required=True)
    parser.add_argument("--jobs", type=int, default=3)
    options = parser.parse_args()
    with Toil(options) as toil:
        toil.start(Job.wrapJobFn(root, options.record, options.jobs, memory="256M", cores=1, disk="256M"))
    print('RESULT "done"')
