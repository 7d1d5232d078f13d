"""What a job saw of itself, written by the job on the shared volume: its own account of where
and when it ran, to hold the lab's placement records against.

Installed beside each user script in its root package (foo.observed, toil_script.observed,
toil_lib.observed), so that Toil deploys it with the script. It shares no code with the
lab's recorder (innode/recorder.py).
"""

import contextlib
import json
import os
import re
import socket
import time

ROOT = "/data/observations"


def folder_of(job):
    """This run's folder of observations: /data/observations/<the job store's name>."""
    locator = job.fileStore.jobStore.config.jobStore
    return os.path.join(ROOT, os.path.basename(locator.rstrip("/")))


def container():
    """The container this process runs in: the id Docker puts in the path of its /etc/hostname."""
    with open("/proc/self/mountinfo", encoding="utf-8") as mounts:
        for line in mounts:
            found = re.search(r"/containers/([0-9a-f]{64})/hostname ", line)
            if found:
                return found.group(1)
    return ""


def _write(folder, name, event):
    os.makedirs(folder, exist_ok=True)
    record = {
        "name": name,
        "event": event,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "container": container(),
        "time": time.time(),
    }
    path = os.path.join(folder, f"{name}-{os.getpid()}.jsonl")
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")


@contextlib.contextmanager
def observed(folder, name):
    """Note where this job's body runs, when it starts and when it ends."""
    _write(folder, name, "start")
    yield
    _write(folder, name, "end")
