"""pytest plugin (`-p lab.toil_tests.plugin`): Toil's appliance tests, unmodified, on a Mesos lab.

Toil's ApplianceTestSupport (toil/test/__init__.py) starts a leader and a worker container
of Toil's appliance image with `docker run --net=host` and runs commands in them with
`docker exec`. This plugin hands those tests the lab instead, without touching Toil's files:

* A test's (leader, worker) are the lab's leader and ONE lab worker (TOIL_TESTS_WORKER):
  real nodes with their own filesystems, the lab's real mesos-master and mesos-agent.
  While the test runs, the other workers' agents are deactivated (Toil's tests assume one
  worker: a job checks another's pid with os.kill), and they are reactivated after it,
  failed or not.
* runOnAppliance runs `docker exec -i --user lab --workdir W` in the node, with the contract
  of Toil's own (capture=, input=, CalledProcessError on failure). Toil's own cannot run
  anything in 9.6.0: ToilTest._run builds `[command] + args` but starts `Popen(args)`,
  dropping "docker". writeToAppliance and deployScript are Toil's own code.
* The leader's working directory W (where the test makes its `venv`) is a fresh
  /home/lab/toil-tests/<test>, on the leader only, removed after. /data, which the tests
  mount from a host folder, is the lab's shared volume on every node: after a test, what
  the test left there is removed, never the lab's own job stores (leftovers.py).
* Before collection (Toil's decorators decide at import time):
  - TOIL_APPLIANCE_SELF names the lab's node image under an extra tag that holds Toil's
    currentCommit, so applianceSelf() asks no registry and @needs_local_appliance's
    `docker inspect` finds it;
  - toil.version.exactPython is declared to be the appliance's Python, asked of the lab's
    image (python3.11 on Debian 12). Toil's wheel records the Python it was built with
    (python3.10 for 9.6.0); the tests run `virtualenv --python <exactPython>` on the leader
    and deploy into venv/lib/<exactPython>/site-packages, which must both be real there;
  - `mesos-master` on PATH must be the lab's shim, which runs the real one (shim.py), and
    the Toil that pytest imports must be, file for file, the one the lab installed.
* For each failure, the first line of its real cause (cause.py) goes into the junit XML as
  the testcase's properties `cause` and `cause_from`; every command's output is kept in
  TOIL_TESTS_RESULTS/<test>/.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from innode import toil_facts
from innode.layout import DATA_DIR, LAB_USER, USER_HOME
from lab import docker, process
from lab.cluster import Lab
from lab.config import LabConfig
from lab.errors import LabError
from lab.node import Node
from lab.toil_tests import cause, installed, leftovers, shim
from lab.toil_tests.table import CAUSE_FROM_PROPERTY, CAUSE_PROPERTY
from lab.wait import Check, wait_until

DEFAULT_WORKER = "worker-1"
DEFAULT_RESULTS = "test-results/toil-tests/appliance"
APPLIANCE_REPOSITORY = "toil-lab/appliance"
# The leader's private area for the tests' working directories.
WORKDIRS = f"{USER_HOME}/toil-tests"
PIN_TIMEOUT = 30.0


@dataclass(frozen=True)
class Settings:
    """What the runner tells the plugin, through the environment."""

    lab: str
    worker: str = DEFAULT_WORKER
    results: Path = Path(DEFAULT_RESULTS)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """LAB_NAME, TOIL_TESTS_WORKER, TOIL_TESTS_RESULTS."""
        return cls(
            lab=LabConfig.from_env({"LAB_NAME": env.get("LAB_NAME", "")}).name,
            worker=env.get("TOIL_TESTS_WORKER") or DEFAULT_WORKER,
            results=Path(env.get("TOIL_TESTS_RESULTS") or DEFAULT_RESULTS).resolve(),
        )


def safe_name(text: str) -> str:
    """Text made fit for a file name."""
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", text).strip("_")


@dataclass
class CommandLog:
    """The commands one test ran on the lab, each also written to its own file."""

    folder: Path
    commands: list[cause.Command] = field(default_factory=list)

    def add(self, command: cause.Command, seconds: float) -> Path:
        """Record a command; the file that holds its output."""
        self.commands.append(command)
        self.folder.mkdir(parents=True, exist_ok=True)
        words = safe_name(" ".join(command.argv))[:60]
        path = self.folder / f"{len(self.commands):02d}-{command.node}-{words}.log"
        path.write_text(
            f"$ {shlex.join(command.argv)}\n# on {command.node}, exit {command.returncode}, {seconds:.1f} s\n"
            f"--- stdout ---\n{command.stdout}\n--- stderr ---\n{command.stderr}"
        )
        return path


class LabAppliance:
    """A lab node in the role of Toil's ApplianceTestSupport.Appliance: what Toil's tests call of it."""

    def __init__(self, outer: Any, node: Node, workdir: str, log: CommandLog) -> None:
        self.outer = outer  # the test case, as Toil's Appliance keeps it
        self.node = node
        self.workdir = workdir
        self.log = log
        self.containerName = node.container_id

    def command(self, args: Sequence[str]) -> list[str]:
        """The `docker exec` that runs args in the node, as the lab user, in the working directory."""
        return self.node.exec_argv(
            list(args), user=LAB_USER, workdir=self.workdir, env={"HOME": USER_HOME}, interactive=True
        )

    def runOnAppliance(self, *args: str, **kwargs: Any) -> str | None:  # noqa: N802 (Toil's name)
        """Run a command in the node, as Toil's ToilTest._run would: capture=, input=, CalledProcessError."""
        capture = bool(kwargs.pop("capture", False))
        data = kwargs.pop("input", None)
        if kwargs:
            raise TypeError(f"runOnAppliance on the lab takes capture= and input=, not {sorted(kwargs)}")
        print(f"[{self.node.name}:{self.workdir}]$ {shlex.join(args)}", flush=True)
        started = time.monotonic()
        # stdin is the given input, or empty: never the terminal.
        result = process.run(self.command(args), check=False, input="" if data is None else data)
        # Shown as the test's own output (pytest's capture, junit's system-out and system-err).
        sys.stdout.write(result.stdout)
        sys.stderr.write(result.stderr)
        done = cause.Command(tuple(args), self.node.name, result.returncode, result.stdout, result.stderr)
        self.log.add(done, time.monotonic() - started)
        if result.returncode != 0:
            raise subprocess.CalledProcessError(
                result.returncode, list(result.argv), output=result.stdout, stderr=result.stderr
            )
        return result.stdout if capture else None

    def writeToAppliance(self, path: str, contents: Any) -> None:  # noqa: N802 (Toil's name)
        """Toil's own: `tee PATH` with the contents as input."""
        from toil.test import ApplianceTestSupport

        ApplianceTestSupport.Appliance.writeToAppliance(self, path, contents)

    def deployScript(self, path: str, packagePath: str, script: Any) -> None:  # noqa: N802, N803 (Toil's names)
        """Toil's own: a module (and its packages) written under `path` on the node."""
        from toil.test import ApplianceTestSupport

        ApplianceTestSupport.Appliance.deployScript(self, path, packagePath, script)


@dataclass
class Session:
    """The plugin's state for one pytest run: the lab, and the test that runs now."""

    settings: Settings
    lab: Lab
    header: list[str] = field(default_factory=list)
    current: CommandLog | None = None

    def log_for(self, nodeid: str) -> CommandLog:
        """A fresh command log for a test."""
        self.current = CommandLog(self.settings.results / safe_name(nodeid.split("::", 1)[-1]))
        return self.current


_session: Session | None = None


def only_active(lab: Lab, worker: str) -> Check[None]:
    """Whether the master offers the resources of `worker` alone."""
    states = {state.name: state for state in lab.worker_states()}
    others = sorted(name for name, state in states.items() if name != worker and state.ready)
    ok = worker in states and states[worker].ready and not others
    seen = ", ".join(f"{name}: {state.state}" for name, state in sorted(states.items()))
    return Check(ok, seen, None)


@contextlib.contextmanager
def pinned(lab: Lab, worker: str) -> Iterator[None]:
    """For its duration, only `worker`'s agent gets offers; the others are reactivated after, always."""
    with lab.pinned(worker):
        wait_until(
            lambda: only_active(lab, worker),
            what=f"the Mesos master to offer {worker}'s resources alone",
            timeout=PIN_TIMEOUT,
        )
        yield


def check_mounts(mounts: Mapping[str, str]) -> None:
    """The tests may mount only what the lab shares between leader and worker: /data."""
    wanted = sorted(set(mounts.values()) - {DATA_DIR})
    if wanted:
        raise LabError(
            f"this test mounts {', '.join(wanted)} into its appliance; the lab's nodes share {DATA_DIR} only"
        )


def workdir_of(outer: Any) -> str:
    """The leader's working directory for a test: /home/lab/toil-tests/<test method>."""
    return f"{WORKDIRS}/{safe_name(str(getattr(outer, '_testMethodName', 'test')))}"


@contextlib.contextmanager
def lab_cluster(
    outer: Any,
    mounts: Mapping[str, str],
    numCores: int | None = None,  # noqa: N803 (Toil's name)
) -> Iterator[tuple[LabAppliance, LabAppliance]]:
    """ApplianceTestSupport._applianceCluster on the lab: (leader, worker) are lab nodes.

    numCores is what Toil's own worker container would offer; the lab's agent offers
    what the lab gives it (SLOTS_PER_CPU x its CPUs).
    """
    if _session is None:
        raise LabError(
            "the lab.toil_tests.plugin was not configured (run pytest with -p lab.toil_tests.plugin)"
        )
    check_mounts(mounts)
    lab, worker_name = _session.lab, _session.settings.worker
    log = _session.current or _session.log_for(str(getattr(outer, "id", lambda: "test")()))
    leader, worker = lab.leader(), lab.node(worker_name)
    workdir = workdir_of(outer)
    with pinned(lab, worker_name):
        before, cleared = leftovers.begin(leader)
        if cleared:
            print(f"toil-tests: removed what an interrupted test left in {DATA_DIR}: {', '.join(cleared)}")
        leader.exec(["sh", "-c", 'rm -rf "$1" && mkdir -p "$1"', "workdir", workdir], user=LAB_USER)
        others = [w.name for w in lab.workers() if w.name != worker_name]
        print(
            f"toil-tests: leader and {worker_name} of lab {lab.config.name!r}"
            + (f" ({', '.join(others)} deactivated)" if others else "")
            + f"; working directory {workdir} on the leader",
            flush=True,
        )
        try:
            yield (LabAppliance(outer, leader, workdir, log), LabAppliance(outer, worker, USER_HOME, log))
        finally:
            try:
                removed = leftovers.end(leader, before)
                print(f"toil-tests: removed from {DATA_DIR}: {', '.join(removed) or 'nothing'}", flush=True)
            finally:
                leader.exec(["rm", "-rf", workdir], user=LAB_USER, check=False)


def declare_python(name: str) -> list[str]:
    """Make toil.version.exactPython, and every loaded Toil module's copy of it, `name`; what changed."""
    import toil.version

    old = toil.version.exactPython
    changed = []
    for module_name, module in sorted(sys.modules.items()):
        if module_name.split(".")[0] == "toil" and getattr(module, "exactPython", None) == old:
            setattr(module, "exactPython", name)  # noqa: B010 (a module attribute mypy does not know)
            changed.append(module_name)
    return changed


def appliance_tag(lab: str, commit: str) -> str:
    """The extra tag of the lab's image that Toil's applianceSelf() accepts: it holds Toil's commit."""
    return f"{APPLIANCE_REPOSITORY}:{lab}-{commit}"


def check_shims() -> str:
    """The version the lab's mesos-master says, through the shim that @needs_mesos finds on PATH."""
    found = shutil.which(shim.MASTER)
    if found is None or not shim.is_shim(Path(found)):
        raise LabError(
            f"`{shim.MASTER}` on PATH is {found or 'missing'}, not the lab's shim: run Toil's tests with "
            "`lab toil-tests`, which puts the shims that run the lab's real Mesos first on PATH"
        )
    result = process.run([found, "--version"], check=False)
    if result.returncode != 0:
        raise LabError(f"{found} --version failed: {(result.stderr or result.stdout).strip()}")
    return result.stdout.strip()


def prepare(settings: Settings) -> Session:
    """Check the lab and this runner, and adapt Toil's test support to the lab (before collection)."""
    lab = Lab(LabConfig.from_env({"LAB_NAME": settings.lab}))
    leader = lab.leader()
    if leader.batch_system != "mesos":
        raise LabError(f"lab {settings.lab!r} runs {leader.batch_system}; Toil's appliance tests need Mesos")
    worker = lab.node(settings.worker)
    for node in (leader, worker):
        if not node.running:
            raise LabError(
                f"{node.name} of lab {settings.lab!r} is {node.state} (`lab heal --all`, `lab up`)"
            )
    import toil
    import toil.version

    theirs, mine = installed.in_node(leader), toil_facts.facts()
    if theirs.digest != mine["digest"]:
        raise LabError(
            f"this runner's Toil ({mine['site']}, {mine['version']}) is not the one lab {settings.lab!r} "
            f"installed ({theirs.version}, other files): run Toil's tests with `lab toil-tests`, whose "
            "runner installs the lab's own Toil wheel (after `lab up` with the same TOIL_VERSION or "
            "TOIL_SOURCE)"
        )
    mesos_version = check_shims()
    declared_from = toil.version.exactPython
    declare_python(theirs.python)
    tag = appliance_tag(settings.lab, toil.version.currentCommit)
    docker.tag(leader.image, tag)
    os.environ["TOIL_APPLIANCE_SELF"] = tag
    import toil.test  # runs `rsync --version`: the runner needs rsync

    toil.test.ApplianceTestSupport._applianceCluster = lab_cluster
    header = [
        f"toil-lab: lab {settings.lab!r}: leader + {settings.worker} ({mesos_version}); appliance {tag}",
        f"toil-lab: Toil {toil.version.version} from {Path(toil.__file__).parent} (the lab's, file for file)",
        f"toil-lab: exactPython is the appliance's, {theirs.python} (Toil's wheel says {declared_from})",
    ]
    return Session(settings, lab, header)


def cause_of_failure(error: BaseException | None, log: CommandLog | None, report: str) -> cause.Cause:
    """A failed test's cause: its latest failed command's if a command's failure failed it; else pytest's."""
    if isinstance(error, subprocess.CalledProcessError) and log is not None:
        found = cause.of_commands(log.commands)
        if found is not None:
            return found
    return cause.of_pytest(report)


def pytest_configure(config: pytest.Config) -> None:
    """Adapt Toil's appliance tests to the lab before Toil's test modules are imported."""
    global _session
    try:
        _session = prepare(Settings.from_env(os.environ))
    except LabError as error:
        raise pytest.UsageError(f"lab.toil_tests.plugin: {error}") from None


def pytest_report_header(config: pytest.Config) -> list[str]:
    """What the tests run on."""
    return _session.header if _session is not None else []


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Each test's commands go to a log of their own."""
    if _session is not None:
        _session.log_for(item.nodeid)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failure's first line of cause, as junit properties (on the item, so the last report has them)."""
    report = yield
    if report.failed and report.when in ("setup", "call") and _session is not None:
        error = call.excinfo.value if call.excinfo is not None else None
        found = cause_of_failure(error, _session.current, report.longreprtext)
        for prop in ((CAUSE_PROPERTY, found.line), (CAUSE_FROM_PROPERTY, found.where)):
            item.user_properties.append(prop)
            report.user_properties.append(prop)
    return report
