"""lab/toil_tests/families.py: each family's pytest command line, and a user's -k within it."""

from __future__ import annotations

import pytest

from lab.errors import ConfigError
from lab.toil_tests import families
from lab.toil_tests.families import APPLIANCE, MESOS, SLURM

COMMON = [
    "-c", "/dev/null", "--rootdir", ".", "-W", "ignore::pytest.PytestUnknownMarkWarning",
    "-p", "no:cacheprovider", "-o", "junit_logging=all",
]  # fmt: skip


def test_the_appliance_family_runs_autodeploymenttest_with_the_labs_plugin() -> None:
    args = APPLIANCE.pytest_args("/r/appliance.xml")
    assert args == [
        "-p", "lab.toil_tests.plugin", *COMMON, "--junitxml=/r/appliance.xml", "-v", "-ra",
        "--show-capture=no", "--timeout=600", "toil/test/src/autoDeploymentTest.py",
    ]  # fmt: skip


def test_the_mesos_family_selects_toils_mesos_tests() -> None:
    args = MESOS.pytest_args("/tmp/toil-tests/mesos.xml")
    assert "-p" not in args[: args.index("-c")]  # no plugin: it runs in a worker
    assert args[-5:] == [
        "toil/test/batchSystems/batchSystemTest.py",
        "toil/test/sort/sortTest.py",
        "toil/test/src/promisedRequirementTest.py",
        "-k",
        "(MesosBatchSystemTest or TestMesosBatchSystemJob or (SortTest and Mesos) or "
        "TestMesosPromisedRequirements)",
    ]


def test_a_users_k_narrows_the_familys_selection_and_the_rest_follows() -> None:
    args = MESOS.pytest_args("m.xml", ["-x", "-k", "test_run_jobs", "--durations=5"])
    select = args[args.index("-k") + 1]
    assert select == f"({MESOS.select}) and (test_run_jobs)"
    assert args.count("-k") == 1
    assert args[-2:] == ["-x", "--durations=5"]
    assert APPLIANCE.pytest_args("a.xml", ["-ktestRestart"])[-2:] == ["-k", "(testRestart)"]


def test_split_keyword() -> None:
    assert families.split_keyword(["-k", "a or b", "-v"]) == ("a or b", ["-v"])
    assert families.split_keyword(["-ka", "-k", "b"]) == ("(a) and (b)", [])
    assert families.split_keyword(["--keep-going", "tests.py"]) == ("", ["--keep-going", "tests.py"])


def test_choose() -> None:
    assert families.choose("all") == (APPLIANCE, MESOS, SLURM)
    assert families.choose("all", "mesos") == (APPLIANCE, MESOS)
    assert families.choose("all", "slurm") == (SLURM,)
    assert families.choose("mesos") == (MESOS,)
    with pytest.raises(ConfigError, match="choose one of appliance, mesos, slurm, all"):
        families.choose("cwl")


def test_the_slurm_family_selects_toils_needs_slurm_tests() -> None:
    args = SLURM.pytest_args("/tmp/toil-tests/slurm.xml", ["--basetemp=/data/t"])
    assert args[-5:] == [
        "toil/test/batchSystems/batchSystemTest.py",
        "toil/test/cwl/cwlTest.py",
        "-k",
        "(SlurmBatchSystemTest or test_slurm_node_memory)",
        "--basetemp=/data/t",
    ]
    narrowed = SLURM.pytest_args("s.xml", files=["toil/test/batchSystems/batchSystemTest.py"])
    assert "toil/test/cwl/cwlTest.py" not in narrowed


def test_the_slurm_familys_tests_are_those_toil_marks_needs_slurm() -> None:
    """Read Toil's installed test files: every class or test marked needs_slurm that Toil does not
    mark skip ("Not run": its conformance runs, which `lab cwl-conformance` does instead) is selected."""
    import re
    from pathlib import Path

    import toil

    site = Path(toil.__file__).resolve().parents[1]
    marked: set[str] = set()
    for name in SLURM.files:
        source = (site / name).read_text()
        found = re.findall(r"((?:[ \t]*@[^\n]+\n)+)[ \t]*(?:class|def) (\w+)", source)
        marked |= {
            name for decorators, name in found if "needs_slurm" in decorators and ".skip(" not in decorators
        }
    sort = (site / "toil/test/sort/sortTest.py").read_text()
    assert "needs_slurm" not in sort  # Toil 9.6.0's sort test has no Slurm variant
    assert marked == set(SLURM.select.split(" or ")), marked
