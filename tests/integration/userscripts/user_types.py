"""User-defined types in job function arguments, with an encapsulated job."""

import json

from foo.observed import folder_of, observed
from toil.common import Toil
from toil.job import Job


class X:
    pass


def job(job, x):
    with observed(folder_of(job), "job"):
        return x


if __name__ == "__main__":
    options = Job.Runner.getDefaultArgumentParser().parse_args()
    x = X()
    with Toil(options) as toil:
        returned = toil.start(Job.wrapJobFn(job, x).encapsulate())
    kind = type(returned)
    print(
        "RESULT "
        + json.dumps({"module": kind.__module__, "name": kind.__qualname__, "copy": returned is not x})
    )
