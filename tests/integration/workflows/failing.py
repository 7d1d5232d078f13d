"""A workflow whose only child job fails every time."""

from toil.common import Toil
from toil.job import Job


def doomed(job):
    raise RuntimeError("this job fails on purpose")


def root(job):
    job.addChildJobFn(doomed)


if __name__ == "__main__":
    parser = Job.Runner.getDefaultArgumentParser()
    options = parser.parse_args()
    options.retryCount = 0
    with Toil(options) as toil:
        toil.start(Job.wrapJobFn(root))
