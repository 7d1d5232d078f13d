"""Deferral with failure and encapsulation (Toil's autoDeploymentTest, written for Toil 9.6).

    Root (W1) -> Deferring (W2), Encapsulating (W3)
    Encapsulating (W3) = Encapsulated (W3) -> Dummy (W4), Dummy (W5); follow-on Trigger (W6)
    Encapsulating's follow-on: Follow-on (W7)

`Trigger` makes `Deferring`'s worker kill itself. `Follow-on`, a plain Job and the first
job of a fresh worker process on the same node, finds `Deferring`'s left-overs and runs
its deferred function, which is defined in this (auto-deployed) module. The workflow
fails with exactly two failed jobs (Root and Deferring), and the deferred function has
removed the file it was given.

Toil 9.6 keeps the job's config on its description (not `job._config`), and file-store
streams are binary: this copy is written against that API. Every job with a body of its
own notes where it ran (foo.observed); so does the deferred function, which runs in
Follow-on's worker process.
"""

import errno
import json
import os
import time

from foo.observed import folder_of, observed
from toil.common import Toil
from toil.exceptions import FailedJobsException
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
        encapsulated_job.addFollowOnJobFn(trigger, end_file, folder)
        encapsulating_job = encapsulated_job.encapsulate()
        root_job.addChild(encapsulating_job)


def dummy(folder):
    with observed(folder, "dummy"):
        pass


def deferred_file(config):
    """A file at the root of the job store, which every node sees."""
    locator = config.jobStore
    prefix = "file:"
    assert locator.startswith(prefix), locator
    return os.path.join(locator[len(prefix) :], "testDeferredFile")


def deferred(path, folder):
    """The deferred function that must run, although its job's worker was killed."""
    with observed(folder, "deferred"):
        os.unlink(path)


def deferring(job, start_file, end_file, folder):
    """Registers the deferred function, then kills its own worker when Trigger says so."""
    with observed(folder, "deferring"):
        job_store = job.fileStore.jobStore
        job.defer(deferred, deferred_file(job_store.config), folder)
        job_store.delete_file(start_file)
        with job_store.update_file_stream(end_file) as stream:
            stream.write(str(os.getpid()).encode())
        timeout = time.time() + TIMEOUT
        while job_store.file_exists(end_file):
            assert time.time() < timeout, "Trigger did not delete the end file in time"
            time.sleep(1)
        os.kill(os.getpid(), 9)


def encapsulated(job, start_file, folder):
    """Waits until Deferring is running."""
    with observed(folder, "encapsulated"):
        timeout = time.time() + TIMEOUT
        while job.fileStore.jobStore.file_exists(start_file):
            assert time.time() < timeout, "Deferring did not start in time"
            time.sleep(1)


def trigger(job, end_file, folder):
    """Tells Deferring to crash, then waits until its worker process is gone."""
    with observed(folder, "trigger"):
        job_store = job.fileStore.jobStore
        with job_store.read_file_stream(end_file) as stream:
            pid = int(stream.read())
        os.kill(pid, 0)
        job_store.delete_file(end_file)
        timeout = time.time() + TIMEOUT
        while True:
            try:
                os.kill(pid, 0)
            except OSError as error:
                if error.errno == errno.ESRCH:
                    break
                raise
            assert time.time() < timeout, "Deferring's worker did not die in time"
            time.sleep(1)


if __name__ == "__main__":
    options = Job.Runner.getDefaultArgumentParser().parse_args()
    with Toil(options) as toil:
        path = deferred_file(toil.config)
        open(path, "w").close()
        outcome = {"failed_jobs": None, "deferred_file_exists": None}
        try:
            toil.start(Job.wrapJobFn(root))
        except FailedJobsException as error:
            outcome["failed_jobs"] = error.numberOfFailedJobs
            outcome["failure"] = str(error).splitlines()[0]
        outcome["deferred_file_exists"] = os.path.exists(path)
        if os.path.exists(path):
            os.unlink(path)
    print("RESULT " + json.dumps(outcome))
