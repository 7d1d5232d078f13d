"""lab/base_image.py: BASE_IMAGE's platform, and making it where it cannot be pulled (no Docker)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from lab import base_image as image
from lab.config import LabConfig
from lab.errors import ConfigError, LabError

from .fakes import FakeRun


def config_at(root: Path, **changes: object) -> LabConfig:
    return dataclasses.replace(LabConfig(), root=root, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("reference", "suite"),
    [
        ("debian:bookworm-slim", "bookworm"),
        ("debian:bookworm", "bookworm"),
        ("debian:12", "bookworm"),
        ("debian:12-slim", "bookworm"),
        ("docker.io/library/debian:bookworm-slim", "bookworm"),
        # Debian 12 and 13 can be made with debootstrap; other bases must be pulled or loaded.
        ("library/debian:trixie-slim", "trixie"),
        ("debian:trixie-slim", "trixie"),
        ("debian:13", "trixie"),
        ("ubuntu:jammy", None),
        ("debian:buster", None),
        ("debian:bookworm-20241111-slim", None),
        ("quay.io/debian:bookworm", None),
        ("mydebian:bookworm", None),
    ],
)
def test_debian_suite(reference: str, suite: str | None) -> None:
    assert image.debian_suite(reference) == suite


@pytest.mark.parametrize("reference", ["ubuntu:24.04", "debian:buster"])
def test_a_base_that_cannot_be_pulled_nor_bootstrapped(
    reference: str, tmp_path: Path, fake_run: FakeRun
) -> None:
    fake_run.on("docker", "image", "inspect", returncode=1)
    fake_run.on("docker", "pull", returncode=1)
    config = config_at(tmp_path, base_image=reference)
    with pytest.raises(LabError) as error:
        image.ensure_base_image(config, say=lambda _: None)
    assert str(error.value).startswith(
        f"cannot pull BASE_IMAGE={reference} and cannot make it here "
        "(debootstrap makes Debian images only: bookworm, trixie)."
    )
    assert fake_run.argvs == [["docker", "image", "inspect", reference], ["docker", "pull", reference]]


@pytest.mark.parametrize(
    ("reference", "release"),
    [
        ("debian:bookworm-slim", ("debian", "12", "3.11", "2.36")),
        ("debian:12", ("debian", "12", "3.11", "2.36")),
        ("debian:trixie-slim", ("debian", "13", "3.13", "2.41")),
        ("ubuntu:24.04", ("ubuntu", "24.04", "3.12", "2.39")),
        ("ubuntu:noble", ("ubuntu", "24.04", "3.12", "2.39")),
        ("docker.io/library/ubuntu:jammy", ("ubuntu", "22.04", "3.10", "2.35")),
        ("ubuntu:bookworm", None),
        ("ubuntu:20.04", None),
        ("my/mesos-base:1", None),
    ],
)
def test_platform_of_name(reference: str, release: tuple[str, str, str, str] | None) -> None:
    found = image.platform_of_name(reference)
    assert (
        None if found is None else (found.distribution, found.release, found.python, found.glibc)
    ) == release


def test_parse_os_release() -> None:
    text = 'PRETTY_NAME="Ubuntu 24.04.1 LTS"\nNAME="Ubuntu"\nVERSION_ID="24.04"\nID=ubuntu\nID_LIKE=debian\n'
    assert image.parse_os_release(text) == ("ubuntu", "24.04")


def test_an_unnamed_base_image_is_asked_its_release(fake_run: FakeRun, tmp_path: Path) -> None:
    config = config_at(tmp_path, base_image="my/base:1")
    fake_run.on("docker", "image", "inspect")
    fake_run.on("docker", "run", stdout='ID=ubuntu\nVERSION_ID="22.04"\n')
    assert image.base_platform(config, say=lambda _: None) == image.PLATFORMS[("ubuntu", "22.04")]
    assert ["docker", "run", "--rm", "--entrypoint", "cat", "my/base:1", "/etc/os-release"] in fake_run.argvs


def test_an_unsupported_base_image_lists_the_supported(fake_run: FakeRun, tmp_path: Path) -> None:
    config = config_at(tmp_path, base_image="my/base:1")
    fake_run.on("docker", "image", "inspect")
    fake_run.on("docker", "run", stdout="ID=alpine\nVERSION_ID=3.20\n")
    with pytest.raises(ConfigError, match=r"BASE_IMAGE=my/base:1 is alpine 3\.20; .*ubuntu 24\.04"):
        image.base_platform(config, say=lambda _: None)


def test_debian_13_is_known_not_to_run_slurm_here() -> None:
    assert "clone: Operation not permitted" in image.PLATFORMS[("debian", "13")].slurm_problem
    assert image.DEFAULT_PLATFORM.slurm_problem == ""


def mounts_file(tmp_path: Path, *points: str) -> Path:
    table = tmp_path / "mounts"
    table.write_text("".join(f"proc {point} proc rw,relatime 0 0\n" for point in points))
    return table


def test_the_mounts_under_a_folder_are_found_deepest_first(tmp_path: Path) -> None:
    work = tmp_path / "toil-lab-rootfs-x"
    table = mounts_file(
        tmp_path,
        "/proc",
        f"{work}/rootfs/proc",
        f"{work}/rootfs/dev/pts",
        f"{work}/rootfs/dev",
        f"{work}-other/a",
    )
    assert image.mounts_under(work, table) == [
        f"{work}/rootfs/dev/pts",
        f"{work}/rootfs/proc",
        f"{work}/rootfs/dev",
    ]


def test_a_folder_an_interrupted_debootstrap_left_is_unmounted_then_removed_before_the_next(
    tmp_path: Path, fake_run: FakeRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    stale = tmp_path / "build" / f"{image.ROOTFS_PREFIX}old"
    (stale / "rootfs" / "proc").mkdir(parents=True)
    proc = f"{stale}/rootfs/proc"

    def mounted(folder: Path) -> list[str]:  # until umount is asked
        unmounted = ["umount", proc] in fake_run.argvs
        return [proc] if proc.startswith(str(folder)) and not unmounted else []

    monkeypatch.setattr(image, "mounts_under", mounted)
    fake_run.on("umount", f"{stale}/rootfs/proc")
    fake_run.on("docker", "image", "inspect", returncode=0)  # another `lab` made it meanwhile
    said: list[str] = []
    with image._debootstrapping(tmp_path / "build", said.append):
        assert not stale.exists()
    assert fake_run.argvs == [["umount", f"{stale}/rootfs/proc"]]
    assert said == [f"removing {stale}, left by an interrupted debootstrap"]


def test_a_mount_that_stays_keeps_the_folder_and_says_how_to_unmount_it(
    tmp_path: Path, fake_run: FakeRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / f"{image.ROOTFS_PREFIX}x"
    (work / "rootfs" / "proc").mkdir(parents=True)
    monkeypatch.setattr(image, "mounts_under", lambda folder: [f"{work}/rootfs/proc"])
    fake_run.on("umount", returncode=32)
    with pytest.raises(
        LabError, match=r"still has mounts .*`umount .*/rootfs/proc`.*nothing under it was deleted"
    ):
        image.remove_rootfs(work)
    assert (work / "rootfs" / "proc").is_dir()
