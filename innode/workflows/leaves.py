"""Leaves that record every attempt: the fault workflow of the fault tests and the recovery bench.

The lab stages it on the leader and runs it there (lab/leaves.py), as `lab run` does a
user's workflow; it is in-node code (standard library and Toil only).

Each leaf appends a line when an attempt starts and one when it is done to its own
log in --record (on the shared volume), and returns its output through Toil's file
store. A last job gathers the outputs into --record/outputs.json: every leaf's
output must be there exactly once, however many attempts it took.
"""

from __future__ import annotations

import json
import os
import socket
import time
from typing import Any

from toil.common import Toil
from toil.job import Job


def note(record: str, index: int, text: str) -> None:
    with open(os.path.join(record, f"leaf-{index}.log"), "a") as handle:
        handle.write(f"{text} {socket.gethostname()} {os.getpid()} {time.time():.3f}\n")


def leaf(job: Any, record: str, index: int, seconds: float) -> Any:
    note(record, index, "start")
    time.sleep(seconds)
    path = job.fileStore.getLocalTempFile()
    with open(path, "w") as handle:
        handle.write(json.dumps({"leaf": index, "node": socket.gethostname()}))
    output = job.fileStore.writeGlobalFile(path)
    note(record, index, "done")
    return output


def gather(job: Any, record: str, outputs: list[Any]) -> None:
    found: list[Any] = []
    for output in outputs:
        with open(job.fileStore.readGlobalFile(output)) as handle:
            found.append(json.load(handle))
    with open(os.path.join(record, "outputs.json"), "w") as handle:
        json.dump(found, handle)


def root(job: Any, record: str, count: int, seconds: float) -> None:
    os.makedirs(record, exist_ok=True)
    outputs = [job.addChildJobFn(leaf, record, index, seconds).rv() for index in range(count)]
    job.addFollowOnJobFn(gather, record, outputs)


if __name__ == "__main__":
    parser = Job.Runner.getDefaultArgumentParser()
    parser.add_argument("--record", required=True)
    parser.add_argument("--leaves", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=10)
    options = parser.parse_args()
    with Toil(options) as toil:
        if toil.config.restart:
            toil.restart()
        else:
            toil.start(Job.wrapJobFn(root, options.record, options.leaves, options.seconds))
    print('RESULT "done"')
