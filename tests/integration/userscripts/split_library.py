"""toil_lib.foo: a library module with a job function, in a root package of its own."""

import socket


def library_job(job, path):
    with open(path, "w") as handle:
        handle.write(socket.gethostname())
