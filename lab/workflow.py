"""Workflows on the lab: `lab run`, user code on the leader, and the record of each run.

By default a workflow stays in the leader's private area (/home/lab) and runs on a
batch system that ships it to the workers: on Slurm, `slurm_autodeploy` (see
innode/slurm_autodeploy.py); on Mesos, Toil's own `mesos`. `--shared` puts it on the shared volume;
on Slurm it then runs on Toil's plain `slurm`, which needs the code at the same path
on every node, as on an HPC site's shared home.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from innode.layout import JOBSTORES_DIR, LAB_USER, RUNS_DIR, SHARED_WORKFLOWS_DIR, TOIL_WORK_DIR, USER_HOME
from lab import backends
from lab.errors import ConfigError, LabError
from lab.node import Node
from lab.process import Result

LAST_RUN = f"{RUNS_DIR}/last.json"
PRIVATE_WORKFLOWS_DIR = f"{USER_HOME}/workflows"
VENVS_DIR = f"{USER_HOME}/venvs"
# Requests that fit a lab worker several times over (Toil's default is 2 GiB of
# memory per job, which would leave one job per worker).
DEFAULT_OPTIONS: tuple[tuple[str, str | None], ...] = (
    ("--defaultMemory", "256M"),
    ("--defaultDisk", "256M"),
    ("--workDir", TOIL_WORK_DIR),
)


@dataclass(frozen=True)
class RunRecord:
    """What a run did, kept on the leader so `lab placement` finds the last run."""

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


def toil_argv(
    python: str,
    module: str,
    job_store: str,
    user_args: Sequence[str],
    *,
    auto_deploy: bool,
    batch_system: str = "slurm",
) -> list[str]:
    """The command that runs a workflow module on the leader, on the lab's batch system."""
    defaults = [*backends.get(batch_system).toil_options(auto_deploy=auto_deploy), *DEFAULT_OPTIONS]
    return [python, "-m", module, job_store, *merge_options(defaults, user_args)]


def last_run(leader: Node) -> RunRecord | None:
    """The record of the last run on this lab; None when no run left one, an error when it cannot be read."""
    if not leader.running:
        raise LabError(
            f"the leader is {leader.state}: the record of the last run ({LAST_RUN}) cannot be read "
            "while it is not running (`lab heal leader`, or `lab up`)"
        )
    try:
        text = leader.read_text(LAST_RUN)
    except LabError as error:
        raise LabError(f"could not read the record of the last run on the leader: {error}") from None
    if text is None or not text.strip():
        return None
    return RunRecord(**json.loads(text))


def save_run(leader: Node, record: RunRecord) -> None:
    """Keep this run's record on the leader's private volume."""
    leader.write_text(LAST_RUN, json.dumps(asdict(record), indent=2) + "\n", user="root")


def require_last_run(leader: Node) -> RunRecord:
    """The last run, or a clear error when there is none."""
    record = last_run(leader)
    if record is None:
        raise LabError("no workflow has run on this lab yet: try `lab run WORKFLOW.py`")
    return record


def new_job_store(module: str) -> str:
    """A fresh job store path on the shared volume."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return f"{JOBSTORES_DIR}/{module}-{stamp}-{time.time_ns() % 1_000_000:06d}"


def run_module(
    leader: Node,
    module: str,
    user_args: Sequence[str],
    *,
    workdir: str,
    python: str = "python3",
    auto_deploy: bool = True,
    label: str | None = None,
    capture: bool = False,
    env: Mapping[str, str] | None = None,
) -> tuple[RunRecord, Result]:
    """Run a workflow module on the leader as the lab user and record the run.

    `--restart` among the arguments reuses the last run's job store; otherwise the run
    gets a fresh one. With capture=False the output goes to this terminal.
    """
    user_args = list(user_args)
    if "--restart" in user_args:
        previous = last_run(leader)
        if previous is None:
            raise ConfigError("--restart: this lab has no previous run to restart")
        job_store = previous.job_store
    else:
        job_store = new_job_store(module)
    leader.exec(["mkdir", "-p", JOBSTORES_DIR], user=LAB_USER)
    argv = toil_argv(
        python, module, job_store, user_args, auto_deploy=auto_deploy, batch_system=leader.batch_system
    )
    record = RunRecord(label or module, module, job_store, argv, time.time())
    return run_recorded(leader, record, workdir=workdir, capture=capture, env=env)


def run_recorded(
    leader: Node,
    record: RunRecord,
    *,
    workdir: str,
    capture: bool = False,
    env: Mapping[str, str] | None = None,
) -> tuple[RunRecord, Result]:
    """Run a record's command on the leader as the lab user, its record saved before and after
    (with the exit code), so that `lab placement` finds the run even while it runs."""
    save_run(leader, record)
    result = leader.exec(
        record.argv,
        user=LAB_USER,
        workdir=workdir,
        env={"PYTHONUNBUFFERED": "1", **(env or {})},
        check=False,
        capture=capture,
    )
    finished = RunRecord(**{**asdict(record), "exit_code": result.returncode})
    save_run(leader, finished)
    return finished, result


@dataclass
class Background:
    """A workflow running on the leader in a thread (run_module, output captured), and when."""

    thread: threading.Thread = field(repr=False)
    started_at: float  # time.monotonic()
    finished_at: float = 0.0
    record: RunRecord | None = None
    result: Result | None = None
    error: BaseException | None = None

    def ended_within(self, seconds: float) -> Result | None:
        """Its result if it ends within `seconds`, else None (it is still running)."""
        self.thread.join(seconds)
        return None if self.thread.is_alive() else self.wait(0)

    def wait(self, timeout: float) -> Result:
        """Its result, once it has ended; LabError if it has not within `timeout`."""
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise LabError(f"the workflow did not finish within {timeout:g}s")
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


def run_in_background(leader: Node, module: str, user_args: Sequence[str], *, workdir: str) -> Background:
    """Start run_module (output captured) in a thread; the run it returns is under way."""
    args = list(user_args)

    def run() -> None:
        try:
            running.record, running.result = run_module(leader, module, args, workdir=workdir, capture=True)
        except BaseException as error:
            running.error = error
        running.finished_at = time.monotonic()

    running = Background(threading.Thread(target=run, daemon=True), time.monotonic())
    running.thread.start()
    return running


def stage_workflow(leader: Node, path: Path, *, shared: bool = False) -> tuple[str, str]:
    """Check a workflow file and copy it to the leader; its module and folder there."""
    module = check_workflow(path)
    # Privately, the workflow gets a folder of its own: Toil ships the whole folder
    # of a script it auto-deploys.
    workdir = SHARED_WORKFLOWS_DIR if shared else f"{PRIVATE_WORKFLOWS_DIR}/{module}"
    leader.write_text(f"{workdir}/{module}.py", path.read_text())
    return module, workdir


def run_workflow(
    leader: Node, path: Path, user_args: Sequence[str], *, shared: bool = False
) -> tuple[RunRecord, int]:
    """`lab run`: copy the workflow to the leader and run it; return its exit code."""
    module, workdir = stage_workflow(leader, path, shared=shared)
    record, result = run_module(
        leader, module, user_args, workdir=workdir, auto_deploy=not shared, label=str(path)
    )
    return record, result.returncode


@dataclass(frozen=True)
class Virtualenv:
    """A virtualenv in the leader's private area, over the image's Toil."""

    leader: Node
    name: str

    @property
    def path(self) -> str:
        """Where the virtualenv lives on the leader."""
        return f"{VENVS_DIR}/{self.name}"

    @property
    def python(self) -> str:
        """The virtualenv's interpreter."""
        return f"{self.path}/bin/python"

    @property
    def site_packages(self) -> str:
        """Where its packages go (asked of its Python: the base image decides the version)."""
        argv = [self.python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]
        return str(self.leader.exec(argv, user=LAB_USER).stdout.strip())

    def create(self) -> Virtualenv:
        """Make it afresh, seeing the image's Toil through --system-site-packages."""
        self.leader.exec(["rm", "-rf", self.path], user=LAB_USER)
        self.leader.exec(
            ["python3", "-m", "venv", "--system-site-packages", "--without-pip", self.path], user=LAB_USER
        )
        return self

    def install_module(self, dotted: str, source: str) -> str:
        """Write `source` as module `dotted` (e.g. foo.bar) into site-packages; return its path."""
        parts = dotted.split(".")
        if not all(part.isidentifier() for part in parts):
            raise ConfigError(f"{dotted!r} is not a dotted module name")
        site = self.site_packages
        directory = "/".join([site, *parts[:-1]])
        for depth in range(1, len(parts)):
            package = "/".join([site, *parts[:depth]])
            self.leader.write_text(f"{package}/__init__.py", "")
        path = f"{directory}/{parts[-1]}.py"
        self.leader.write_text(path, source)
        return path

    def run(
        self, module: str, user_args: Sequence[str], *, auto_deploy: bool = True
    ) -> tuple[RunRecord, Result]:
        """Run a module of this virtualenv as a workflow, output captured."""
        return run_module(
            self.leader,
            module,
            user_args,
            workdir=USER_HOME,
            python=self.python,
            auto_deploy=auto_deploy,
            label=f"{self.name}:{module}",
            capture=True,
        )
