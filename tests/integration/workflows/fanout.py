"""A fan-out: a root job and N leaves that each report where they ran."""

import json
import os
import socket
import time

from toil.common import Toil
from toil.job import Job


def leaf(job, index, seconds):
    time.sleep(seconds)
    return {
        "index": index,
        "node": socket.gethostname(),
        "pid": os.getpid(),
        # Where this worker imported the workflow's code from, and the Slurm job it ran in.
        "module_file": os.path.abspath(__file__),
        "slurm_job_id": os.environ.get("SLURM_JOB_ID", ""),
    }


def root(job, count, seconds):
    return [job.addChildJobFn(leaf, i, seconds).rv() for i in range(count)]


if __name__ == "__main__":
    parser = Job.Runner.getDefaultArgumentParser()
    parser.add_argument("--leaves", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=0.5, help="how long each leaf sleeps")
    options = parser.parse_args()
    with Toil(options) as toil:
        results = toil.start(Job.wrapJobFn(root, options.leaves, options.seconds))
    print("RESULT " + json.dumps(results))
