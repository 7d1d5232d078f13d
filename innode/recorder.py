"""The placement recorder: runs inside every Toil worker process on every node.

Loaded by a .pth line in the node image, it wraps `toil.job.Job._executor`, the
context in which Toil's worker runs each job body, and appends one JSON line when
a job starts and one when it ends to a file of its own process in the node's
private volume. The records are evidence written where the job ran: the kernel's
hostname, the process id, the container id from the process's own mounts.

Standard library only; any failure here is logged and never fails the job.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import socket
import sys
import time
from collections.abc import Iterator
from typing import Any

from innode.layout import PLACEMENT_DIR

DIRECTORY_ENV = "LAB_PLACEMENT_DIR"
DEFAULT_DIRECTORY = PLACEMENT_DIR
WORKER_PROGRAMS = frozenset({"_toil_worker"})
# Set on `sys` once installed: a .pth may be read twice in a virtualenv.
_INSTALLED = "_toil_lab_recorder_installed"

log = logging.getLogger(__name__)
_CONTAINER_ID_RE = re.compile(r"/containers/([0-9a-f]{64})/")


def is_toil_worker(argv: list[str]) -> bool:
    """True when this interpreter was started to run Toil's worker."""
    names = [os.path.basename(arg) for arg in argv[:3]]
    if any(name in WORKER_PROGRAMS for name in names):
        return True
    return "-m" in argv[:3] and "toil.worker" in argv[:4]


def container_id() -> str:
    """This process's container id, read from its own mount table ('' if none)."""
    try:
        with open("/proc/self/mountinfo", encoding="utf-8") as mounts:
            for line in mounts:
                if " /etc/hostname " in line:
                    match = _CONTAINER_ID_RE.search(line)
                    if match:
                        return match.group(1)
    except OSError:
        pass
    return ""


class Recorder:
    """Appends this process's job records to one JSON-lines file."""

    def __init__(self, directory: str, batch_job_id: str) -> None:
        self.batch_job_id = batch_job_id
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.container = container_id()
        self.started = time.time()
        self.path = os.path.join(directory, f"{self.host}-{self.pid}-{int(self.started * 1000)}.jsonl")
        self.sequence = 0

    def write(self, record: dict[str, Any]) -> None:
        """Append one record; a failure to record is logged, never raised."""
        try:
            line = json.dumps(record, sort_keys=True) + "\n"
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            try:
                os.write(fd, line.encode("utf-8"))
            finally:
                os.close(fd)
        except Exception:
            log.warning("toil-lab could not record placement to %s", self.path, exc_info=True)

    @contextlib.contextmanager
    def job(self, job: Any, file_store: Any) -> Iterator[None]:
        """Record the start and the end (and outcome) of one job body."""
        sequence = self.sequence
        self.sequence += 1
        description = getattr(job, "description", None)
        job_store = getattr(file_store, "jobStore", None)
        config = getattr(job_store, "config", None)
        # A chained job runs under the ID of the chain's first job; its own ID
        # is the last link of the chain.
        job_id = str(getattr(description, "jobStoreID", ""))
        with contextlib.suppress(Exception):
            job_id = str(description.get_chain()[-1].job_store_id)  # type: ignore[union-attr]
        common = {
            "node": self.host,
            "pid": self.pid,
            "sequence": sequence,
            "process_started": self.started,
        }
        self.write(
            {
                **common,
                "event": "start",
                "time": time.time(),
                "container": self.container,
                "job_name": str(getattr(description, "jobName", type(job).__name__)),
                "unit_name": str(getattr(description, "unitName", "") or ""),
                "job_id": job_id,
                "batch_job_id": self.batch_job_id,
                "job_store": str(getattr(job_store, "locator", "")),
                "workflow_id": str(getattr(config, "workflowID", "")),
            }
        )
        try:
            yield
        except BaseException as error:
            self.write(
                {
                    **common,
                    "event": "end",
                    "time": time.time(),
                    "status": "failed",
                    "error": f"{type(error).__name__}: {error}"[:500],
                }
            )
            raise
        self.write({**common, "event": "end", "time": time.time(), "status": "ok"})


def install() -> None:
    """Wrap Toil's job executor when this process is a Toil worker; otherwise do nothing."""
    argv = list(getattr(sys, "orig_argv", None) or sys.argv)
    if not is_toil_worker(argv) or getattr(sys, _INSTALLED, False):
        return
    setattr(sys, _INSTALLED, True)
    try:
        directory = os.environ.get(DIRECTORY_ENV, DEFAULT_DIRECTORY)
        if not os.path.isdir(directory):
            return
        import toil.job

        # Read now: Toil's worker replaces os.environ with the leader's.
        recorder = Recorder(directory, os.environ.get("SLURM_JOB_ID", ""))
        original = toil.job.Job._executor

        @contextlib.contextmanager
        def executor(self: Any, stats: Any, fileStore: Any) -> Iterator[None]:  # noqa: N803
            with recorder.job(self, fileStore), original(self, stats=stats, fileStore=fileStore):
                yield

        toil.job.Job._executor = executor
    except Exception:
        log.warning("toil-lab placement recorder not installed", exc_info=True)
