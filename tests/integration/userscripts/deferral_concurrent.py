"""Deferral with concurrent encapsulation (Toil's autoDeploymentTest, written for Toil 9.6).

    Root (W1) -> Deferring (W2), Encapsulating (W3)
    Encapsulating (W3) = Encapsulated (W3) -> Dummy 1 (W4), Dummy 2 (W5)
    Encapsulating's follow-on: Follow-on (W6) -> Last (W6)

`Deferring` registers a deferred function from this module and runs until `Last`
deletes the end file. `Follow-on`, a plain Job and the first job of its worker
process, shares the node's deferred-function state with `Deferring` while it runs.

Toil's own copy uses `time` without importing it; this one imports it. Every job with a
body of its own notes where it ran (foo.observed), for the test to hold the lab's
records against.
"""

import time

from foo.observed import folder_of, observed
from toil.common import Toil
from toil.job import Job

# How long one job waits for the other's signal (a file the other deletes): a deadline,
# not a sleep, so it costs nothing when the other job is on time. Toil's own test waits
# 10 s; on 2 loaded cores the other job's worker took longer to start (CI, 2026-12-03:
# Deferring gave up before Trigger came, and failed instead of being killed).
TIMEOUT = 60


def root(root_job):
    folder = folder_of(root_job)
    with observed(folder, "root"):

        def null_file():
            return root_job.fileStore.jobStore.import_file("file:///dev/null")

        start_file = null_file()
        end_file = null_file()
        root_job.addChildJobFn(deferring, start_file, end_file, folder)
        encapsulated_job = Job.wrapJobFn(encapsulated, start_file, folder)
        encapsulated_job.addChildFn(dummy, folder)
        encapsulated_job.addChildFn(dummy, folder)
        encapsulating_job = encapsulated_job.encapsulate()
        root_job.addChild(encapsulating_job)
        # Toil 9.6 gives an encapsulation's Follow-on small requirements (0.1 cores,
        # 512M memory, 100M disk), and a worker chains a successor only if it fits in
        # what its predecessor reserved: Last asks for no more, so it runs in W6.
        encapsulating_job.addChildJobFn(last, end_file, folder, cores=0.1, memory="256M", disk="100M")


def dummy(folder):
    with observed(folder, "dummy"):
        pass


def deferred():
    pass


def deferring(job, start_file, end_file, folder):
    with observed(folder, "deferring"):
        job.defer(deferred)
        job.fileStore.jobStore.delete_file(start_file)
        timeout = time.time() + TIMEOUT
        while job.fileStore.jobStore.file_exists(end_file):
            assert time.time() < timeout, "Last did not delete the end file in time"
            time.sleep(1)


def encapsulated(job, start_file, folder):
    with observed(folder, "encapsulated"):
        timeout = time.time() + TIMEOUT
        while job.fileStore.jobStore.file_exists(start_file):
            assert time.time() < timeout, "Deferring did not start in time"
            time.sleep(1)


def last(job, end_file, folder):
    with observed(folder, "last"):
        job.fileStore.jobStore.delete_file(end_file)


if __name__ == "__main__":
    options = Job.Runner.getDefaultArgumentParser().parse_args()
    with Toil(options) as toil:
        toil.start(Job.wrapJobFn(root))
    print('RESULT "succeeded"')
