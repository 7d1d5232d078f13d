"""A fan-out: a root job and N leaves that each report where they ran."""

import json
import os
import socket
import time

from toil.common import Toil
from toil.job import Job


def leaf(job, index):
    time.sleep(0.5)
    return {"index": index, "node": socket.gethostname(), "pid": os.getpid()}


def root(job, count):
    return [job.addChildJobFn(leaf, i).rv() for i in range(count)]


if __name__ == "__main__":
    parser = Job.Runner.getDefaultArgumentParser()
    parser.add_argument("--leaves", type=int, default=8)
    options = parser.parse_args()
    with Toil(options) as toil:
        results = toil.start(Job.wrapJobFn(root, options.leaves))
    print("RESULT " + json.dumps(results))
