"""Restart: the job fails until the user fixes this script on the leader; `--restart`
then runs the fixed code, which Toil deploys to the workers again."""

from foo.observed import folder_of, observed
from toil.common import Toil
from toil.job import Job

FIXED = False


def job(job):
    with observed(folder_of(job), "job"):
        assert FIXED, "the job fails until the script is fixed"
        return "fixed"


if __name__ == "__main__":
    options = Job.Runner.getDefaultArgumentParser().parse_args()
    with Toil(options) as toil:
        result = toil.restart() if toil.config.restart else toil.start(Job.wrapJobFn(job))
    print(f'RESULT "{result}"')
