"""lab/image.py: the base image, pip's platform options, the wheelhouse and the image tag."""

from __future__ import annotations

import dataclasses
import re
import sys
from pathlib import Path

import pytest

from lab import image
from lab.config import LabConfig
from lab.errors import ConfigError, LabError

from .fakes import FakeRun


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


@pytest.mark.parametrize(
    ("architecture", "arch"), [("x86_64", "x86_64"), ("amd64", "x86_64"), ("arm64", "aarch64")]
)
def test_platform_args(architecture: str, arch: str) -> None:
    args = image.platform_args(architecture)
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


def config_at(root: Path, **changes: object) -> LabConfig:
    return dataclasses.replace(LabConfig(), root=root, **changes)  # type: ignore[arg-type]


def test_wheelhouse_name_for_a_version(tmp_path: Path) -> None:
    config = config_at(tmp_path, toil_version="9.7.0")
    assert image.wheelhouse_name(config, "x86_64") == "toil-9.7.0-x86_64"
    assert image.wheelhouse_name(config, "arm64") == "toil-9.7.0-arm64"


def test_wheelhouse_name_for_a_source_checkout(tmp_path: Path) -> None:
    one = image.wheelhouse_name(config_at(tmp_path, toil_source=tmp_path / "toil"), "x86_64")
    two = image.wheelhouse_name(config_at(tmp_path, toil_source=tmp_path / "toil-fork"), "x86_64")
    assert re.fullmatch(r"toil-source-[0-9a-f]{10}-x86_64", one)
    assert one == image.wheelhouse_name(config_at(tmp_path, toil_source=tmp_path / "toil"), "x86_64")
    assert one != two
    arm = image.wheelhouse_name(config_at(tmp_path, toil_source=tmp_path / "toil"), "arm64")
    assert arm == one.removesuffix("-x86_64") + "-arm64"


@pytest.fixture
def fake_root(tmp_path: Path) -> tuple[LabConfig, Path]:
    """A checkout with the image's inputs, and a resolved wheelhouse."""
    (tmp_path / "images" / "node").mkdir(parents=True)
    (tmp_path / "images" / "node" / "Dockerfile").write_text("FROM debian:bookworm-slim\n")
    (tmp_path / "images" / "node" / "entrypoint.sh").write_text("#!/bin/sh\nexec slurmd -D\n")
    (tmp_path / "lab").mkdir()
    (tmp_path / "lab" / "slurm.py").write_text("CLUSTER_PARTITION = 'lab'\n")
    (tmp_path / "lab" / "recorder.py").write_text("pass\n")
    house = tmp_path / "build" / "wheelhouse" / "toil-9.6.0-x86_64"
    house.mkdir(parents=True)
    (house / "toil-9.6.0-py3-none-any.whl").write_bytes(b"PK" + b"\0" * 100)
    (house / "requirements.txt").write_text("toil==9.6.0\n")
    return config_at(tmp_path), house


def test_image_tag_shape(fake_root: tuple[LabConfig, Path]) -> None:
    config, house = fake_root
    assert re.fullmatch(r"toil-lab/node:toil-9\.6\.0-[0-9a-f]{12}", image.image_tag(config, house))
    source = dataclasses.replace(config, toil_source=config.root / "toil")
    assert re.fullmatch(r"toil-lab/node:toil-source-[0-9a-f]{12}", image.image_tag(source, house))


def test_image_tag_is_stable(fake_root: tuple[LabConfig, Path]) -> None:
    config, house = fake_root
    assert image.image_tag(config, house) == image.image_tag(config, house)


def test_image_tag_changes_when_a_lab_file_changes(fake_root: tuple[LabConfig, Path]) -> None:
    config, house = fake_root
    before = image.image_tag(config, house)
    slurm = config.root / "lab" / "slurm.py"
    slurm.write_text("CLUSTER_PARTITION = 'debug'\n")
    changed = image.image_tag(config, house)
    assert changed != before
    slurm.write_text("CLUSTER_PARTITION = 'lab'\n")
    assert image.image_tag(config, house) == before


@pytest.mark.parametrize(
    "change",
    ["images/node/entrypoint.sh", "lab/new_module.py", "images/node/conf/extra.conf"],
)
def test_image_tag_changes_when_an_input_is_added_or_edited(
    fake_root: tuple[LabConfig, Path], change: str
) -> None:
    config, house = fake_root
    before = image.image_tag(config, house)
    path = config.root / change
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("changed\n")
    assert image.image_tag(config, house) != before


def test_image_tag_ignores_bytecode_and_other_folders(fake_root: tuple[LabConfig, Path]) -> None:
    config, house = fake_root
    before = image.image_tag(config, house)
    (config.root / "lab" / "__pycache__").mkdir()
    (config.root / "lab" / "__pycache__" / "slurm.cpython-311.pyc").write_bytes(b"\x00\x01")
    (config.root / "tests").mkdir()
    (config.root / "tests" / "test_x.py").write_text("def test(): pass\n")
    (config.root / "README.md").write_text("docs\n")
    assert image.image_tag(config, house) == before


def test_image_tag_follows_the_base_image_and_the_wheels(fake_root: tuple[LabConfig, Path]) -> None:
    config, house = fake_root
    before = image.image_tag(config, house)
    assert image.image_tag(dataclasses.replace(config, base_image="debian:trixie-slim"), house) != before
    (house / "toil-9.6.0-py3-none-any.whl").write_bytes(b"PK" + b"\0" * 101)
    assert image.image_tag(config, house) != before


# --- the wheelhouse, with pip faked ---------------------------------------------------


def test_a_resolved_wheelhouse_is_reused(fake_root: tuple[LabConfig, Path], fake_run: FakeRun) -> None:
    config, house = fake_root
    assert image.ensure_wheelhouse(config, "x86_64", say=lambda _: None) == house
    assert fake_run.calls == []


def test_a_wheelhouse_of_another_architecture_is_not_reused(
    fake_root: tuple[LabConfig, Path], fake_run: FakeRun
) -> None:
    config, house = fake_root
    fake_run.on(sys.executable, "-m", "pip", "download")
    arm = image.ensure_wheelhouse(config, "arm64", say=lambda _: None)
    assert arm == house.parent / "toil-9.6.0-arm64"
    assert [argv[3:6] for argv in fake_run.argvs] == [["download", "--dest", str(arm)]]
    assert (house / "requirements.txt").read_text() == "toil==9.6.0\n"


def test_wheelhouse_is_resolved_with_pip_download(tmp_path: Path, fake_run: FakeRun) -> None:
    fake_run.on(sys.executable, "-m", "pip", "download")
    config = config_at(tmp_path, toil_version="9.6.0")
    said: list[str] = []
    house = image.ensure_wheelhouse(config, "arm64", say=said.append)
    assert house == tmp_path / "build" / "wheelhouse" / "toil-9.6.0-arm64"
    assert fake_run.argvs == [
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--dest",
            str(house),
            *image.platform_args("arm64"),
            "toil==9.6.0",
        ]
    ]
    assert (house / "requirements.txt").read_text() == "toil==9.6.0\n"
    assert said and "toil==9.6.0" in said[0]


def test_an_unresolvable_version_is_a_config_error(tmp_path: Path, fake_run: FakeRun) -> None:
    fake_run.on(sys.executable, returncode=1, stderr="ERROR: No matching distribution found for toil==0.0.1")
    config = config_at(tmp_path, toil_version="0.0.1")
    with pytest.raises(ConfigError) as error:
        image.ensure_wheelhouse(config, "x86_64", say=lambda _: None)
    message = str(error.value)
    assert message.startswith("could not resolve toil==0.0.1 into a wheelhouse for Python 3.11")
    assert "check TOIL_VERSION" in message
    assert "No matching distribution found" in message
    assert (tmp_path / "build" / "wheelhouse" / "toil-0.0.1-x86_64").is_dir()
    assert not (tmp_path / "build" / "wheelhouse" / "toil-0.0.1-x86_64" / "requirements.txt").exists()


def test_an_existing_image_is_not_rebuilt(fake_root: tuple[LabConfig, Path], fake_run: FakeRun) -> None:
    config, house = fake_root
    tag = image.image_tag(config, house)
    fake_run.on("docker", "image", "inspect", tag)
    assert image.ensure_node_image(config, "x86_64", image.DEFAULT_PLATFORM, say=lambda _: None) == tag
    assert fake_run.argvs == [["docker", "image", "inspect", tag]]


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


def test_platform_args_follow_the_base_images_python_and_glibc() -> None:
    noble = image.PLATFORMS[("ubuntu", "24.04")]
    args = image.platform_args("x86_64", noble)
    assert args[2] == "3.12"
    assert args[6] == "manylinux_2_39_x86_64"


def test_a_wheelhouse_per_platform_and_debian_12s_keeps_its_name(tmp_path: Path) -> None:
    config = config_at(tmp_path, toil_version="9.6.0")
    assert image.wheelhouse_name(config, "x86_64") == "toil-9.6.0-x86_64"
    noble = image.PLATFORMS[("ubuntu", "24.04")]
    assert image.wheelhouse_name(config, "x86_64", noble) == "toil-9.6.0-x86_64-py3.12-glibc2.39"


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


def test_docker_build_argv_removes_failed_steps_containers(fake_run: FakeRun, tmp_path: Path) -> None:
    from lab import docker

    fake_run.on("docker", "build")
    docker.build(
        context=tmp_path,
        dockerfile=tmp_path / "Dockerfile",
        tag="toil-lab/node:t",
        build_args={"NODE_IMAGE": "n"},
        labels={"org.toil-lab.image": "toil-mesos"},
        target="toil-mesos",
    )
    assert fake_run.argvs == [
        [
            "docker", "build", "--force-rm", "--file", str(tmp_path / "Dockerfile"),
            "--tag", "toil-lab/node:t", "--target", "toil-mesos", "--build-arg", "NODE_IMAGE=n",
            "--label", "org.toil-lab.image=toil-mesos", str(tmp_path),
        ]
    ]  # fmt: skip
