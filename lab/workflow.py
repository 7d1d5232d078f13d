"""`lab run`: a workflow file run on the leader, with the lab's batch-system options."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from lab import slurm
from lab.config import (
    JOBSTORES_DIR,
    LAB_USER,
    RUNS_DIR,
    SHARED_WORKFLOWS_DIR,
    TOIL_WORK_DIR,
)
from lab.errors import ConfigError, LabError
from lab.node import Node

LAST_RUN = f"{RUNS_DIR}/last.json"
# Requests that fit a lab worker several times over (Toil's default is 2 GiB of
# memory per job, which would leave one job per worker).
DEFAULT_OPTIONS: tuple[tuple[str, str | None], ...] = (
    ("--defaultMemory", "256M"),
    ("--defaultDisk", "256M"),
    ("--workDir", TOIL_WORK_DIR),
)


@dataclass(frozen=True)
class RunRecord:
    """What `lab run` did, kept on the leader so `lab placement` finds the last run."""

    workflow: str
    module: str
    job_store: str
    argv: list[str]
    started: float
    exit_code: int | None = None


def check_workflow(path: Path) -> str:
    """Check a workflow file before anything runs; return its module name."""
    if not path.is_file():
        raise ConfigError(f"workflow file {path} does not exist")
    module = path.stem
    if path.suffix != ".py" or not module.isidentifier():
        raise ConfigError(
            f"{path} cannot be run as a module: name it like my_workflow.py "
            "(letters, digits and '_', ending in .py)"
        )
    source = path.read_text()
    try:
        compile(source, str(path), "exec")
    except SyntaxError as error:
        raise ConfigError(
            f"{path}:{error.lineno}: syntax error: {error.msg}; fix it and run again (nothing was started)"
        ) from None
    return module


def option_name(argument: str) -> str | None:
    """The option an argument names ('--x=1' -> '--x'), or None for a value."""
    if not argument.startswith("--"):
        return None
    return argument.split("=", 1)[0]


def merge_options(defaults: Sequence[tuple[str, str | None]], user: Sequence[str]) -> list[str]:
    """The lab's defaults, less those the user gave, followed by the user's arguments."""
    given = {name for name in map(option_name, user) if name}
    merged: list[str] = []
    for name, value in defaults:
        if name in given:
            continue
        merged += [name] if value is None else [name, value]
    return merged + list(user)


def toil_argv(module: str, job_store: str, user_args: Sequence[str]) -> list[str]:
    """The command that runs the workflow module on the leader."""
    defaults = [*slurm.toil_options(), *DEFAULT_OPTIONS]
    return ["python3", "-m", module, job_store, *merge_options(defaults, user_args)]


def last_run(leader: Node) -> RunRecord | None:
    """The record of the last `lab run` on this lab, if any."""
    text = leader.read_text(LAST_RUN)
    if not text.strip():
        return None
    return RunRecord(**json.loads(text))


def save_run(leader: Node, record: RunRecord) -> None:
    """Keep this run's record on the leader's private volume."""
    leader.write_text(LAST_RUN, json.dumps(asdict(record), indent=2) + "\n", user="root")


def run_workflow(leader: Node, path: Path, user_args: Sequence[str]) -> tuple[RunRecord, int]:
    """Put the workflow on the shared volume and run it from the leader; return its exit code."""
    module = check_workflow(path)
    user_args = list(user_args)
    if "--restart" in user_args:
        previous = last_run(leader)
        if previous is None:
            raise ConfigError("--restart: this lab has no previous run to restart")
        job_store = previous.job_store
    else:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        job_store = f"{JOBSTORES_DIR}/{module}-{stamp}-{time.time_ns() % 1_000_000:06d}"
    # Plain Slurm does not ship code to workers: the workflow goes where every node sees it.
    leader.write_text(f"{SHARED_WORKFLOWS_DIR}/{module}.py", path.read_text())
    leader.exec(["mkdir", "-p", JOBSTORES_DIR], user=LAB_USER)
    argv = toil_argv(module, job_store, user_args)
    record = RunRecord(str(path), module, job_store, argv, time.time())
    save_run(leader, record)
    exit_code = leader.exec(
        argv,
        user=LAB_USER,
        workdir=SHARED_WORKFLOWS_DIR,
        env={"PYTHONUNBUFFERED": "1"},
        check=False,
        capture=False,
    ).returncode
    finished = RunRecord(**{**asdict(record), "exit_code": exit_code})
    save_run(leader, finished)
    return finished, exit_code


def require_last_run(leader: Node) -> RunRecord:
    """The last run, or a clear error when there is none."""
    record = last_run(leader)
    if record is None:
        raise LabError("no workflow has run on this lab yet: try `lab run WORKFLOW.py`")
    return record
