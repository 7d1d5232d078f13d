"""lab/wheelhouse.py: pip's platform options, and Toil's wheelhouse resolved on the host (pip faked)."""

from __future__ import annotations

import dataclasses
import re
import sys
from pathlib import Path

import pytest

from lab import wheelhouse
from lab.base_image import PLATFORMS
from lab.config import LabConfig
from lab.errors import ConfigError

from .fakes import FakeRun

# What a resolved wheelhouse of Toil 9.6.0 lists: Toil, and the test tools beside it.
LISTED = "toil==9.6.0\npytest==9.2.0\npytest-timeout==2.4.0\nvirtualenv==21.15.11\n"


def config_at(root: Path, **changes: object) -> LabConfig:
    return dataclasses.replace(LabConfig(), root=root, **changes)  # type: ignore[arg-type]


@pytest.fixture
def resolved(tmp_path: Path) -> tuple[LabConfig, Path]:
    """A checkout with a resolved wheelhouse."""
    house = tmp_path / "build" / "wheelhouse" / "toil-9.6.0-x86_64"
    house.mkdir(parents=True)
    (house / "toil-9.6.0-py3-none-any.whl").write_bytes(b"PK" + b"\0" * 100)
    (house / "requirements.txt").write_text(LISTED)
    return config_at(tmp_path), house


@pytest.mark.parametrize(
    ("architecture", "arch"), [("x86_64", "x86_64"), ("amd64", "x86_64"), ("arm64", "aarch64")]
)
def test_platform_args(architecture: str, arch: str) -> None:
    args = wheelhouse.platform_args(architecture)
    assert args[:5] == ["--only-binary=:all:", "--python-version", "3.11", "--implementation", "cp"]
    flags, platforms = args[5::2], args[6::2]
    assert set(flags) == {"--platform"}
    assert len(flags) == len(platforms)
    assert platforms[0] == f"manylinux_2_36_{arch}"
    assert f"manylinux_2_17_{arch}" in platforms
    assert f"manylinux_2_5_{arch}" in platforms
    assert f"manylinux_2_37_{arch}" not in platforms  # newer than Debian 12's glibc
    assert platforms[-4:] == [
        f"manylinux2014_{arch}",
        f"manylinux2010_{arch}",
        f"manylinux1_{arch}",
        f"linux_{arch}",
    ]
    assert all(p.endswith(f"_{arch}") for p in platforms)


def test_wheelhouse_name_for_a_version(tmp_path: Path) -> None:
    config = config_at(tmp_path, toil_version="9.7.0")
    assert wheelhouse.toil_name(config, "x86_64") == "toil-9.7.0-x86_64"
    assert wheelhouse.toil_name(config, "arm64") == "toil-9.7.0-arm64"


def test_wheelhouse_name_for_a_source_checkout(tmp_path: Path) -> None:
    one = wheelhouse.toil_name(config_at(tmp_path, toil_source=tmp_path / "toil"), "x86_64")
    two = wheelhouse.toil_name(config_at(tmp_path, toil_source=tmp_path / "toil-fork"), "x86_64")
    assert re.fullmatch(r"toil-source-[0-9a-f]{10}-x86_64", one)
    assert one == wheelhouse.toil_name(config_at(tmp_path, toil_source=tmp_path / "toil"), "x86_64")
    assert one != two
    arm = wheelhouse.toil_name(config_at(tmp_path, toil_source=tmp_path / "toil"), "arm64")
    assert arm == one.removesuffix("-x86_64") + "-arm64"


def test_a_resolved_wheelhouse_is_reused(resolved: tuple[LabConfig, Path], fake_run: FakeRun) -> None:
    config, house = resolved
    assert wheelhouse.ensure_toil(config, "x86_64", lambda _: None, wheelhouse.DEFAULT_PLATFORM) == house
    assert fake_run.calls == []


def test_a_wheelhouse_of_another_architecture_is_not_reused(
    resolved: tuple[LabConfig, Path], fake_run: FakeRun
) -> None:
    config, house = resolved
    fake_run.on(sys.executable, "-m", "pip", "download")
    arm = wheelhouse.ensure_toil(config, "arm64", lambda _: None, wheelhouse.DEFAULT_PLATFORM)
    assert arm == house.parent / "toil-9.6.0-arm64"
    assert [argv[3:6] for argv in fake_run.argvs] == [["download", "--dest", str(arm)]]
    assert (house / "requirements.txt").read_text() == LISTED


def test_a_wheelhouse_made_before_the_test_tools_is_resolved_again(
    resolved: tuple[LabConfig, Path], fake_run: FakeRun
) -> None:
    config, house = resolved
    (house / "requirements.txt").write_text("toil==9.6.0\n")
    fake_run.on(sys.executable, "-m", "pip", "download")
    assert wheelhouse.ensure_toil(config, "x86_64", lambda _: None, wheelhouse.DEFAULT_PLATFORM) == house
    assert fake_run.argvs[0][-4:] == [
        "toil==9.6.0",
        "pytest==9.2.0",
        "pytest-timeout==2.4.0",
        "virtualenv==21.15.11",
    ]
    assert (house / "requirements.txt").read_text() == LISTED


def test_wheelhouse_is_resolved_with_pip_download(tmp_path: Path, fake_run: FakeRun) -> None:
    fake_run.on(sys.executable, "-m", "pip", "download")
    config = config_at(tmp_path, toil_version="9.6.0")
    said: list[str] = []
    house = wheelhouse.ensure_toil(config, "arm64", said.append, wheelhouse.DEFAULT_PLATFORM)
    assert house == tmp_path / "build" / "wheelhouse" / "toil-9.6.0-arm64"
    assert fake_run.argvs == [
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--dest",
            str(house),
            *wheelhouse.platform_args("arm64"),
            "toil==9.6.0",
            "pytest==9.2.0",
            "pytest-timeout==2.4.0",
            "virtualenv==21.15.11",
        ]
    ]
    assert (house / "requirements.txt").read_text() == LISTED
    assert said and "toil==9.6.0" in said[0]


def test_an_unresolvable_version_is_a_config_error(tmp_path: Path, fake_run: FakeRun) -> None:
    fake_run.on(sys.executable, returncode=1, stderr="ERROR: No matching distribution found for toil==0.0.1")
    config = config_at(tmp_path, toil_version="0.0.1")
    with pytest.raises(ConfigError) as error:
        wheelhouse.ensure_toil(config, "x86_64", lambda _: None, wheelhouse.DEFAULT_PLATFORM)
    message = str(error.value)
    assert message.startswith("could not resolve toil==0.0.1 into a wheelhouse for Python 3.11")
    assert "check TOIL_VERSION" in message
    assert "No matching distribution found" in message
    # Nothing is left that would pass for a resolved wheelhouse next time.
    assert not (tmp_path / "build" / "wheelhouse" / "toil-0.0.1-x86_64").exists()


def test_platform_args_follow_the_base_images_python_and_glibc() -> None:
    noble = PLATFORMS[("ubuntu", "24.04")]
    args = wheelhouse.platform_args("x86_64", noble)
    assert args[2] == "3.12"
    assert args[6] == "manylinux_2_39_x86_64"


def test_a_wheelhouse_per_platform_and_debian_12s_keeps_its_name(tmp_path: Path) -> None:
    config = config_at(tmp_path, toil_version="9.6.0")
    assert wheelhouse.toil_name(config, "x86_64") == "toil-9.6.0-x86_64"
    noble = PLATFORMS[("ubuntu", "24.04")]
    assert wheelhouse.toil_name(config, "x86_64", noble) == "toil-9.6.0-x86_64-py3.12-glibc2.39"
