"""The families of Toil's own tests that `lab toil-tests` runs, and the pytest command line of each.

Each family is a set of Toil's test files, as Toil installs them (paths relative to the
folder that holds the `toil` package), and a selection of their tests:

* appliance: toil/test/src/autoDeploymentTest.py (ApplianceTestSupport). pytest runs on
  the host with the lab's plugin (plugin.py): each test gets the lab's leader and one
  worker as its appliance containers.
* mesos: Toil's Mesos batch-system tests (MesosTestSupport): they start their own
  mesos-master and mesos-agent on 127.0.0.1 of the machine pytest runs on, so pytest runs
  inside a lab worker that has the Mesos build, as the lab user (mesos_family.py).
* slurm: Toil's tests that need a real Slurm (`needs_slurm`): pytest on the leader of a
  Slurm lab, as the lab user, against the lab's slurmctld, with their temporary folders on
  the shared volume (slurm_family.py).

The appliance and mesos families run on a Mesos lab, the slurm family on a Slurm lab.

pytest's exit code says what a family's run came to: 0 every test passed (or was
skipped), 1 some failed (a finding about Toil), 5 the selection chose none of its tests;
anything else is a failure to run them.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from lab import process
from lab.errors import ConfigError, pasteable
from lab.toil_tests import table

ALL = "all"
PLUGIN = "lab.toil_tests.plugin"
# pytest's exit codes.
PASSED, TESTS_FAILED, INTERRUPTED, NONE_SELECTED = 0, 1, 2, 5
# Seconds a test may take (pytest-timeout; a user's --timeout replaces it). Toil's Mesos tests
# take up to about two minutes; one that hangs (Toil 9.6.0's killBatchJobs waits forever for
# a kill its executor lost) fails after this, and the others still run.
TEST_TIMEOUT = 600


@dataclass(frozen=True)
class Family:
    """A family of Toil's tests: its files, its selection, and where it runs."""

    name: str
    title: str  # how the run names it: "Mesos batch-system tests"
    batch_system: str  # the lab it runs on
    files: tuple[str, ...]  # relative to the folder that holds Toil's `toil` package
    select: str  # pytest -k expression ('' for every test of the files)
    where: str  # where pytest runs, for the help and the summary
    plugins: tuple[str, ...] = ()

    def pytest_args(
        self, junit: str, extra: Sequence[str] = (), files: Sequence[str] | None = None
    ) -> list[str]:
        """pytest's arguments (after `python -m pytest`); a user's -k narrows the family's selection.

        `files` narrows the family's files (a lab without what some of them import).
        """
        user_select, rest = split_keyword(extra)
        args = [arg for plugin in self.plugins for arg in ("-p", plugin)]
        args += [
            # pytest runs in the folder that holds Toil's installed package, with no configuration
            # file: one found above it (this checkout's pyproject.toml, --strict-markers) must not
            # apply, and Toil's own (setup.cfg in its source) is not installed. Toil's markers are
            # then unknown to pytest, which is only worth a warning it need not show.
            "-c", "/dev/null", "--rootdir", ".", "-W", "ignore::pytest.PytestUnknownMarkWarning",
            # No cache folder in site-packages.
            "-p", "no:cacheprovider",
            # The tests' output and logs in junit's system-out/-err: the failures' causes are there.
            "-o", "junit_logging=all",
            f"--junitxml={junit}",
            # A line per test as it ends (the output reaches the terminal line by line).
            "-v", "-ra",
            # A failed Toil workflow prints tens of kilobytes; the table gives its cause, and
            # the junit XML (and the appliance's per-command logs) keep the whole output.
            "--show-capture=no",
            f"--timeout={TEST_TIMEOUT}",
            *(self.files if files is None else files),
        ]  # fmt: skip
        select = " and ".join(f"({expression})" for expression in (self.select, user_select) if expression)
        if select:
            args += ["-k", select]
        return [*args, *rest]


APPLIANCE = Family(
    "appliance",
    "Toil's appliance tests",
    "mesos",
    ("toil/test/src/autoDeploymentTest.py",),
    "",
    "pytest on the host; each test's leader and worker are the lab's leader and one worker",
    (PLUGIN,),
)
MESOS = Family(
    "mesos",
    "Mesos batch-system tests",
    "mesos",
    (
        "toil/test/batchSystems/batchSystemTest.py",
        "toil/test/sort/sortTest.py",
        "toil/test/src/promisedRequirementTest.py",
    ),
    " or ".join(
        (
            "MesosBatchSystemTest",
            "TestMesosBatchSystemJob",
            "(SortTest and Mesos)",
            "TestMesosPromisedRequirements",
        )
    ),
    "pytest in a lab worker, as the lab user; the tests start their own master and agent on 127.0.0.1",
)
# Toil 9.6.0's tests marked needs_slurm; its sort test (toil/test/sort/sortTest.py) has no
# Slurm variant.
CWL_TESTS = "toil/test/cwl/cwlTest.py"  # imports cwltool: a lab with CWL's layer (CWL=1)
SLURM = Family(
    "slurm",
    "Slurm tests",
    "slurm",
    ("toil/test/batchSystems/batchSystemTest.py", CWL_TESTS),
    "SlurmBatchSystemTest or test_slurm_node_memory",
    "pytest on the leader, as the lab user, against the lab's slurmctld; temporary folders on /data",
)
FAMILIES = {family.name: family for family in (APPLIANCE, MESOS, SLURM)}
CHOICES = (*FAMILIES, ALL)


def choose(name: str, batch_system: str | None = None) -> tuple[Family, ...]:
    """The families a --family value names; `all` is every family of the lab's batch system."""
    if name == ALL:
        return tuple(f for f in FAMILIES.values() if batch_system in (None, f.batch_system))
    if name not in FAMILIES:
        raise ConfigError(f"--family {name!r}: choose one of {', '.join(CHOICES)}")
    return (FAMILIES[name],)


def split_keyword(args: Sequence[str]) -> tuple[str, list[str]]:
    """A user's -k expressions (joined with `and`) and the other pytest arguments."""
    selections: list[str] = []
    rest: list[str] = []
    words = iter(args)
    for word in words:
        if word == "-k":
            selections.append(next(words, ""))
        elif word.startswith("-k") and not word.startswith("--"):
            selections.append(word[2:])
        else:
            rest.append(word)
    return " and ".join(f"({s})" if len(selections) > 1 else s for s in selections if s), rest


@dataclass(frozen=True)
class Outcome:
    """What running a family came to: pytest's exit code, its junit XML and its output."""

    family: Family
    returncode: int
    junit: Path
    log: Path

    @functools.cached_property
    def rows(self) -> list[table.Row]:
        """The family's table rows (none when pytest wrote no junit XML), read once."""
        return table.read(self.family.name, self.junit) if self.junit.exists() else []

    @property
    def ran(self) -> bool:
        """pytest ran the family's selection to the end (whatever the tests' results)."""
        return self.returncode in (PASSED, TESTS_FAILED)


def run_pytest(
    argv: Sequence[str], log: Path, *, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> int:
    """Run a pytest command line, its output shown as it comes and kept in `log`; its exit code."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        out.write(f"$ {pasteable(argv, env)}\n")

        def show(line: str) -> None:
            out.write(line)
            sys.stdout.write(line)
            sys.stdout.flush()

        return process.run(argv, check=False, env=env, cwd=cwd, on_line=show).returncode
