"""lab/remembered.py: a lab remembers its batch system and Mesos build (no Docker)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from lab import remembered
from lab.config import LabConfig, choose_batch_system


def config(tmp_path: Path, **env: str) -> LabConfig:
    return dataclasses.replace(LabConfig.from_env(env), root=tmp_path)


def test_a_mesos_lab_remembers_its_package_as_an_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    made = config(tmp_path, LAB_NAME="m", MESOS_PACKAGE="pkgs/mesos.tar.gz", MESOS_EXTRA_PACKAGES="libx1")
    remembered.save(made, "mesos")
    memory = remembered.load(config(tmp_path, LAB_NAME="m"))
    assert memory == remembered.Remembered("mesos", str(tmp_path / "pkgs" / "mesos.tar.gz"), ("libx1",))


def test_a_url_is_remembered_as_given(tmp_path: Path) -> None:
    remembered.save(config(tmp_path, MESOS_PACKAGE="https://example.org/mesos.deb"), "mesos")
    memory = remembered.load(config(tmp_path))
    assert memory is not None and memory.mesos_package == "https://example.org/mesos.deb"


def test_the_remembered_package_fills_an_unset_mesos_package(tmp_path: Path) -> None:
    remembered.save(config(tmp_path, MESOS_PACKAGE="/m/mesos.tar.gz"), "mesos")
    filled = remembered.apply(config(tmp_path))
    assert (filled.mesos_package, filled.remembered_from) == ("/m/mesos.tar.gz", "toil-lab")
    chosen, why = choose_batch_system(filled)
    assert chosen == "mesos"
    assert "remembered from the last `lab up` of lab 'toil-lab'" in why


def test_what_the_user_sets_wins_over_the_memory(tmp_path: Path) -> None:
    remembered.save(config(tmp_path, MESOS_PACKAGE="/m/mesos.tar.gz"), "mesos")
    assert remembered.apply(config(tmp_path, BATCH_SYSTEM="slurm")).mesos_package is None
    given = remembered.apply(config(tmp_path, MESOS_PACKAGE="/other.deb"))
    assert (given.mesos_package, given.remembered_from) == ("/other.deb", None)


def test_a_slurm_lab_remembers_no_package(tmp_path: Path) -> None:
    remembered.save(config(tmp_path, MESOS_PACKAGE="/m/mesos.tar.gz"), "slurm")
    assert remembered.load(config(tmp_path)) == remembered.Remembered("slurm", None, ())
    assert remembered.apply(config(tmp_path)).mesos_package is None


def test_another_labs_memory_can_be_borrowed(tmp_path: Path) -> None:
    remembered.save(config(tmp_path, LAB_NAME="users-lab", MESOS_PACKAGE="/m/mesos.tar.gz"), "mesos")
    borrowed = remembered.apply(config(tmp_path, LAB_NAME="test-lab"), "users-lab")
    assert (borrowed.name, borrowed.mesos_package, borrowed.remembered_from) == (
        "test-lab",
        "/m/mesos.tar.gz",
        "users-lab",
    )


def test_no_memory_or_a_damaged_one_changes_nothing(tmp_path: Path) -> None:
    fresh = config(tmp_path)
    assert remembered.apply(fresh) == fresh
    path = remembered.path_of(fresh)
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    assert remembered.load(fresh) is None
    assert remembered.apply(fresh) == fresh
