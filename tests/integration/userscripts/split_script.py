"""toil_script.bar: the workflow, whose job adds a job from another root package (toil_lib)."""

from toil.common import Toil
from toil.job import Job
from toil_lib.foo import library_job
from toil_script.observed import folder_of, observed


def job(job, path):
    folder = folder_of(job)
    with observed(folder, "job"):
        # Asking for more disk than this job has keeps the library job out of this
        # worker's chain (run with --defaultDisk 10M): a fresh worker process must load
        # it from toil_lib, a root package of its own.
        job.addChildJobFn(library_job, path, folder, disk="20M")


if __name__ == "__main__":
    parser = Job.Runner.getDefaultArgumentParser()
    parser.add_argument("--output", required=True)
    options = parser.parse_args()
    with Toil(options) as toil:
        toil.start(Job.wrapJobFn(job, options.output))
    print('RESULT "done"')
