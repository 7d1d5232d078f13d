"""toil_lib.foo: a library module with a job function, in a root package of its own."""

import socket

from toil_lib.observed import observed


def library_job(job, path, folder):
    with observed(folder, "library_job"), open(path, "w") as handle:
        handle.write(socket.gethostname())
