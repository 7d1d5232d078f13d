"""A service and the client job that uses it (scenario 2663-service-deadlock).

The root job starts one service (Toil's Job.Service: a job that runs until its clients are
done) and one client. The service and the client note, in their own code, when they start
and end, on the shared volume (--record): `service-start NODE PID TIME`, ...

In-node code: standard library and Toil only. Staged on the leader and run there, as
`lab run` does a user's workflow.
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any

from toil.common import Toil
from toil.job import Job

REQUEST = {"memory": "256M", "cores": 1, "disk": "256M"}


def note(record: str, text: str) -> None:
    with open(os.path.join(record, "events.log"), "a") as handle:
        handle.write(f"{text} {socket.gethostname()} {os.getpid()} {time.time():.3f}\n")


class Server(Job.Service):  # type: ignore[misc]
    def __init__(self, record: str) -> None:
        super().__init__(**REQUEST)
        self.record = record

    def start(self, job: Any) -> str:
        note(self.record, "service-start")
        return "ready"

    def check(self) -> bool:
        return True

    def stop(self, job: Any) -> None:
        note(self.record, "service-stop")


def client(job: Any, record: str, handle: Any, seconds: float) -> None:
    note(record, "client-start")
    time.sleep(seconds)
    note(record, "client-done")


def root(job: Any, record: str, seconds: float) -> None:
    os.makedirs(record, exist_ok=True)
    handle = job.addService(Server(record))
    job.addChildJobFn(client, record, handle, seconds, **REQUEST)


if __name__ == "__main__":
    parser = Job.Runner.getDefaultArgumentParser()
    parser.add_argument("--record", required=True)
    parser.add_argument("--seconds", type=float, default=1)
    options = parser.parse_args()
    with Toil(options) as toil:
        toil.start(Job.wrapJobFn(root, options.record, options.seconds, **REQUEST))
    print('RESULT "done"')
