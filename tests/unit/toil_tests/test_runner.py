"""lab/toil_tests/runner.py: which lab the tests run on, its life around them, and the exit code."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lab.cluster import Lab
from lab.config import LabConfig
from lab.errors import ConfigError, LabError
from lab.toil_tests import runner, table
from lab.toil_tests.families import APPLIANCE, MESOS, Outcome

# Names no lab of this checkout remembers anything of.
ENV = {"TOIL_TESTS_LAB_NAME": "unit-toiltests", "LAB_NAME": "unit-users-lab"}


@pytest.fixture
def batch_system(monkeypatch: pytest.MonkeyPatch) -> dict[str, str | None]:
    """The batch system each lab's containers run (none: not up)."""
    running: dict[str, str | None] = {}
    monkeypatch.setattr(Lab, "running_batch_system", lambda self: running.get(self.config.name))
    return running


def config_for_tests(env: dict[str, str]) -> tuple[LabConfig, bool]:
    """As `lab toil-tests` asks: the CLI's configuration and the environment it came from."""
    return runner.tests_config(LabConfig.from_env(env), env)


def test_the_tests_own_mesos_lab_by_default(batch_system: dict[str, str | None]) -> None:
    config, reuse = config_for_tests({**ENV, "MESOS_PACKAGE": "/m/mesos.tar.gz"})
    assert (config.name, config.batch_system, config.mesos_package, reuse) == (
        "unit-toiltests",
        "mesos",
        "/m/mesos.tar.gz",
        False,
    )
    assert config_for_tests({"MESOS_PACKAGE": "/m.deb"})[0].name == "toil-lab-toiltests"


def test_lab_reuse_takes_the_running_mesos_lab(batch_system: dict[str, str | None]) -> None:
    batch_system["unit-users-lab"] = "mesos"
    config, reuse = config_for_tests({**ENV, "LAB_REUSE": "1"})
    assert (config.name, reuse) == ("unit-users-lab", True)


def test_lab_reuse_of_a_slurm_lab_makes_the_tests_own(batch_system: dict[str, str | None]) -> None:
    batch_system["unit-users-lab"] = "slurm"
    config, reuse = config_for_tests({**ENV, "LAB_REUSE": "1", "MESOS_PACKAGE": "/m.deb"})
    assert (config.name, reuse) == ("unit-toiltests", False)


def test_without_a_mesos_build_it_says_what_to_set(batch_system: dict[str, str | None]) -> None:
    with pytest.raises(ConfigError, match="set MESOS_PACKAGE"):
        config_for_tests(ENV)


def test_the_slurm_family_gets_a_slurm_lab_of_its_own_with_cwl_and_4_gib_workers(
    batch_system: dict[str, str | None],
) -> None:
    config, reuse = runner.tests_config(LabConfig.from_env(ENV), ENV, "slurm")
    assert (config.name, config.batch_system, reuse) == ("unit-toiltests-slurm", "slurm", False)
    assert (config.cwl, config.worker_memory_mb) == (True, runner.SLURM_WORKER_MEMORY_MB)
    asked = {**ENV, "WORKER_MEMORY": "2G", "CWL": "0"}
    config, _ = runner.tests_config(LabConfig.from_env(asked), asked, "slurm")
    assert (config.cwl, config.worker_memory_mb) == (False, 2048)


def test_lab_reuse_takes_a_running_slurm_lab_for_the_slurm_family_as_it_is(
    batch_system: dict[str, str | None],
) -> None:
    batch_system["unit-users-lab"] = "slurm"
    env = {**ENV, "LAB_REUSE": "1"}
    config, reuse = runner.tests_config(LabConfig.from_env(env), env, "slurm")
    assert (config.name, reuse, config.cwl) == ("unit-users-lab", True, None)


@pytest.mark.parametrize(
    ("env", "running", "expected"),
    [
        ({"MESOS_PACKAGE": "/m.deb"}, None, "mesos"),
        ({}, None, "slurm"),  # no Mesos build: all is the Slurm family
        ({"LAB_REUSE": "1", "MESOS_PACKAGE": "/m.deb"}, "slurm", "slurm"),
    ],
)
def test_all_is_the_families_of_the_labs_batch_system(
    batch_system: dict[str, str | None], env: dict[str, str], running: str | None, expected: str
) -> None:
    batch_system["unit-users-lab"] = running
    full = {**ENV, **env}
    assert runner.batch_system_of("all", LabConfig.from_env(full), full) == expected
    assert runner.batch_system_of("slurm", LabConfig.from_env(full), full) == "slurm"
    assert runner.batch_system_of("appliance", LabConfig.from_env(full), full) == "mesos"


class FakeLab:
    def __init__(self, config: LabConfig, say: Any = None) -> None:
        self.config = config

    def is_up(self) -> bool:
        return up_before

    def clean(self) -> None:
        events.append("clean")


events: list[str] = []
up_before = False


@pytest.fixture
def fake_lab(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    global up_before
    events.clear()
    up_before = False
    monkeypatch.setattr(runner.startup, "Lab", FakeLab)
    monkeypatch.setattr(runner.startup, "up", lambda lab, steps=None: events.append("up"))
    yield events


@contextlib.contextmanager
def used(reuse: bool = False, keep: bool = False) -> Iterator[None]:
    # As runner.run brings the lab up for the tests.
    policy = runner.startup.Policy(reuse=reuse, keep=keep, keep_if_up=True)
    with runner.startup.running_lab(LabConfig(name="unit-toiltests"), policy, say=events.append):
        events.append("tests")
        yield


def test_a_lab_brought_up_for_the_tests_is_removed_after(fake_lab: list[str]) -> None:
    with used():
        pass
    assert fake_lab == ["up", "tests", "clean"]


def test_keep_keeps_it_and_says_how_to_remove_it(fake_lab: list[str]) -> None:
    with used(keep=True):
        pass
    assert fake_lab[:2] == ["up", "tests"]
    assert "LAB_NAME=unit-toiltests lab clean --yes" in fake_lab[2]


def test_a_lab_that_was_up_is_brought_up_to_date_and_kept(fake_lab: list[str]) -> None:
    global up_before
    up_before = True
    with used():
        pass
    assert fake_lab[:2] == ["up", "tests"] and "is kept" in fake_lab[2]


def test_a_reused_lab_is_taken_as_it_is(fake_lab: list[str]) -> None:
    global up_before
    up_before = True  # LAB_REUSE=1 reuses a lab that is up (tests_config checked it)
    with used(reuse=True):
        pass
    assert fake_lab[1:] == ["tests"] and "reusing running lab 'unit-toiltests' as it is" in fake_lab[0]


def test_a_failed_start_removes_what_it_made(fake_lab: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(lab: object, steps: object = None) -> None:
        raise LabError("mesos-master did not start")

    monkeypatch.setattr(runner.startup, "up", fail)
    with pytest.raises(LabError), used():
        pass
    assert fake_lab == ["clean"]


def test_a_failed_start_with_keep_keeps_what_it_made(
    fake_lab: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(lab: object, steps: object = None) -> None:
        raise LabError("mesos-master did not start")

    monkeypatch.setattr(runner.startup, "up", fail)
    with pytest.raises(LabError), used(keep=True):
        pass
    assert len(fake_lab) == 1 and "LAB_NAME=unit-toiltests lab clean --yes" in fake_lab[0]


def outcome(tmp_path: Path, family: Any, code: int, rows: list[tuple[str, str]]) -> Outcome:
    junit = tmp_path / f"{family.name}-{len(list(tmp_path.iterdir()))}.xml"
    cases = "".join(
        f'<testcase classname="toil.T" name="{name}" time="1.0">'
        + {
            "passed": "",
            "failed": '<failure message="x">E   boom</failure>',
            "skipped": '<skipped message="s"/>',
        }[result]
        + "</testcase>"
        for name, result in rows
    )
    junit.write_text(f"<testsuites><testsuite>{cases}</testsuite></testsuites>")
    return Outcome(family, code, junit, tmp_path / f"{family.name}.log")


def test_verdict(tmp_path: Path) -> None:
    passed = outcome(tmp_path, APPLIANCE, 0, [("a", "passed")])
    failed = outcome(tmp_path, MESOS, 1, [("b", "failed"), ("c", "skipped")])
    assert runner.verdict([passed]) == (0, [])
    assert runner.verdict([passed, failed])[0] == 1  # a finding about Toil
    skipped = outcome(tmp_path, APPLIANCE, 0, [("a", "skipped")])
    code, notes = runner.verdict([skipped])
    assert code == 1 and "every test was skipped" in notes[0]
    none = Outcome(MESOS, 5, tmp_path / "none.xml", tmp_path / "none.log")
    assert runner.verdict([passed, none]) == (0, ["mesos: the selection chose none of its tests"])
    assert runner.verdict([none])[0] == 2
    broken = Outcome(APPLIANCE, 4, tmp_path / "x.xml", tmp_path / "appliance.log")
    code, notes = runner.verdict([broken, failed])
    assert code == 2 and "pytest exited 4 before running its tests" in notes[0]
    assert [r.result for r in failed.rows] == [table.FAILED, table.SKIPPED]
