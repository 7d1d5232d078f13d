"""lab/toil_tests/venv.py: the host's test runner holds the lab's own Toil wheel (pip faked)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from lab.config import LabConfig
from lab.errors import LabError
from lab.process import Result
from lab.toil_tests import venv
from lab.toil_tests.venv import Wheelhouses

from ..fakes import FakeRun


@pytest.fixture
def houses(tmp_path: Path) -> Wheelhouses:
    toil, mesos = tmp_path / "build" / "wheelhouse" / "toil-9.6.0-x86_64", tmp_path / "mesos"
    toil.mkdir(parents=True)
    mesos.mkdir()
    (toil / "toil-9.6.0-py3-none-any.whl").write_bytes(b"PK toil")
    return Wheelhouses(toil, mesos)


def makes_venvs(fake_run: FakeRun) -> None:
    """`python -m venv FOLDER` makes the folder."""

    def make(argv: list[str]) -> Result:
        Path(argv[-1]).mkdir(parents=True)
        return Result(tuple(argv), 0, "", "")

    fake_run.script.append(((sys.executable, "-m", "venv"), make))


@pytest.fixture
def config(tmp_path: Path, houses: Wheelhouses, monkeypatch: pytest.MonkeyPatch) -> LabConfig:
    monkeypatch.setattr(venv, "wheelhouses", lambda config, say: houses)
    return LabConfig(name="toilt", root=tmp_path)


def test_the_runner_installs_the_labs_toil_wheel_pytest_and_pymesos(
    config: LabConfig, houses: Wheelhouses, fake_run: FakeRun
) -> None:
    makes_venvs(fake_run)
    runner = venv.folder(config)
    fake_run.on(str(runner / "bin" / "python"), "-m", "pip", "install")
    assert venv.ensure(config, lambda _: None) == runner / "bin" / "python"
    assert fake_run.argvs == [
        [sys.executable, "-m", "venv", str(runner)],
        [
            str(runner / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "--find-links", str(houses.toil), "--find-links", str(houses.mesos),
            str(houses.toil / "toil-9.6.0-py3-none-any.whl"), "pytest==9.2.0", "pytest-timeout==2.4.0",
            "pymesos==0.3.15", "http-parser==0.9.0",
        ],
    ]  # fmt: skip
    assert (runner / venv.STAMP).read_text().startswith("toil-9.6.0-py3-none-any.whl sha256=")


def test_a_runner_of_the_same_wheel_is_reused_and_of_another_made_again(
    config: LabConfig, houses: Wheelhouses, fake_run: FakeRun
) -> None:
    runner = venv.folder(config)
    runner.mkdir(parents=True)
    (runner / venv.STAMP).write_text(venv.stamp(houses))
    venv.ensure(config, lambda _: None)
    assert fake_run.calls == []
    houses.toil_wheel.write_bytes(b"PK a TOIL_SOURCE build")  # same name, other contents
    makes_venvs(fake_run)
    fake_run.on(str(runner / "bin" / "python"))
    venv.ensure(config, lambda _: None)
    assert len(fake_run.calls) == 2


def test_a_failed_install_leaves_no_runner(config: LabConfig, fake_run: FakeRun) -> None:
    makes_venvs(fake_run)
    fake_run.on(str(venv.python(config)), returncode=1, stderr="No matching distribution")
    with pytest.raises(LabError):
        venv.ensure(config, lambda _: None)
    assert not venv.folder(config).exists()


def test_a_wheelhouse_without_one_toil_wheel(houses: Wheelhouses) -> None:
    (houses.toil / "toil-9.7.0-py3-none-any.whl").write_bytes(b"PK")
    with pytest.raises(LabError, match="expected one toil wheel"):
        _ = houses.toil_wheel
