"""lab/config.py: the frozen configuration, and every way its input can be wrong."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from lab import config
from lab.config import LabConfig, parse_memory_mb
from lab.errors import ConfigError

from .conftest import MAKEFILE_EXPORTS


def test_defaults() -> None:
    lab = LabConfig.from_env({})
    assert lab == LabConfig(
        name="toil-lab",
        workers=None,
        batch_system="auto",
        mesos_package=None,
        mesos_extra_packages=(),
        toil_version="9.6.0",
        toil_source=None,
        base_image="debian:bookworm-slim",
        worker_memory_mb=3072,
        slots_per_cpu=None,
        compose_command=None,
        root=config.project_root(),
    )
    assert (lab.root / "compose.yaml").is_file()
    # Slurm oversubscribes each CPU 4 times; a Mesos agent offers one job per CPU.
    assert (lab.slots_for("slurm"), lab.slots_for("mesos")) == (4, 1)


def test_slots_per_cpu_is_the_same_for_both_batch_systems_when_given() -> None:
    lab = LabConfig.from_env({"SLOTS_PER_CPU": "3"})
    assert (lab.slots_for("slurm"), lab.slots_for("mesos")) == (3, 3)


def test_defaults_come_from_os_environ_when_no_mapping_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAB_NAME", "from-env")
    monkeypatch.setenv("WORKERS", "5")
    lab = LabConfig.from_env()
    assert (lab.name, lab.workers) == ("from-env", 5)


def test_an_empty_lab_name_means_the_default() -> None:
    assert LabConfig.from_env({"LAB_NAME": ""}).name == "toil-lab"


def test_empty_variables_mean_defaults_as_make_exports_them() -> None:
    """`make lab-up` with nothing set: every variable the Makefile exports is present and empty
    (GNU make exports an undefined variable as an empty string)."""
    lab = LabConfig.from_env({name: "" for name in MAKEFILE_EXPORTS})
    assert lab == LabConfig.from_env({})


def test_every_variable_is_read() -> None:
    lab = LabConfig.from_env(
        {
            "LAB_NAME": "lab_2",
            "WORKERS": " 7 ",
            "BATCH_SYSTEM": "SLURM",
            "TOIL_VERSION": "9.7.0a1",
            "BASE_IMAGE": "debian:12-slim",
            "WORKER_MEMORY": "1G",
            "SLOTS_PER_CPU": "2",
            "LAB_COMPOSE": "docker-compose  --verbose",
        }
    )
    assert lab.name == "lab_2"
    assert lab.workers == 7
    assert lab.batch_system == "slurm"
    assert lab.toil_version == "9.7.0a1"
    assert lab.base_image == "debian:12-slim"
    assert lab.worker_memory_mb == 1024
    assert lab.slots_per_cpu == 2
    assert lab.compose_command == ("docker-compose", "--verbose")


def test_paths_hang_off_the_root_and_name(tmp_path: Path) -> None:
    lab = dataclasses.replace(LabConfig(name="x"), root=tmp_path)
    assert lab.state_dir == tmp_path / ".lab" / "x"
    assert lab.wheelhouse_root == tmp_path / "build" / "wheelhouse"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", "WORKERS=0 is out of range: a lab has 1 to 64 workers."),
        ("65", "WORKERS=65 is out of range: a lab has 1 to 64 workers."),
        ("-2", "WORKERS=-2 is out of range"),
        ("abc", "WORKERS='abc' is not a number: give the worker count as a whole number from 1 to 64"),
        ("2.5", "WORKERS='2.5' is not a number"),
    ],
)
def test_bad_workers(value: str, expected: str) -> None:
    with pytest.raises(ConfigError) as error:
        LabConfig.from_env({"WORKERS": value})
    assert str(error.value).startswith(expected)


@pytest.mark.parametrize("value", ["1", "64"])
def test_worker_bounds_are_allowed(value: str) -> None:
    assert LabConfig.from_env({"WORKERS": value}).workers == int(value)


def test_unknown_batch_system_lists_the_choices() -> None:
    with pytest.raises(ConfigError) as error:
        LabConfig.from_env({"BATCH_SYSTEM": "kubernetes"})
    assert str(error.value) == (
        "BATCH_SYSTEM='kubernetes' is not one the lab provides; choose one of: auto, slurm, mesos"
    )


@pytest.mark.parametrize(
    "name", ["Toil-Lab", "-lab", "_lab", "lab name", "lab.one", "a" * 64, "läb", "lab\n", "lab\nx", " lab"]
)
def test_bad_lab_name(name: str) -> None:
    with pytest.raises(ConfigError, match="is not a valid lab name: use lowercase letters"):
        LabConfig.from_env({"LAB_NAME": name})


@pytest.mark.parametrize("name", ["a", "0lab", "toil-lab-test", "my_lab", "a" * 63])
def test_good_lab_names(name: str) -> None:
    assert LabConfig.from_env({"LAB_NAME": name}).name == name


@pytest.mark.parametrize("value", ["lots", "2X", "-1G", "1.5G", "G"])
def test_bad_worker_memory(value: str) -> None:
    with pytest.raises(ConfigError) as error:
        LabConfig.from_env({"WORKER_MEMORY": value})
    assert str(error.value) == f"WORKER_MEMORY={value!r} is not a memory size: write e.g. 2048M or 2G."


def test_worker_memory_below_the_floor() -> None:
    with pytest.raises(ConfigError, match=r"WORKER_MEMORY='128M' is too small: a node needs at least 256M"):
        LabConfig.from_env({"WORKER_MEMORY": "128M"})


@pytest.mark.parametrize("value", ["0", "65", "four"])
def test_bad_slots_per_cpu(value: str) -> None:
    with pytest.raises(ConfigError, match=rf"SLOTS_PER_CPU='{value}' must be a whole number from 1 to 64"):
        LabConfig.from_env({"SLOTS_PER_CPU": value})


def test_toil_source_that_is_not_a_checkout(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        LabConfig.from_env({"TOIL_SOURCE": str(tmp_path)})
    message = str(error.value)
    assert message.startswith(f"TOIL_SOURCE={str(tmp_path)!r} is not a Toil checkout")
    assert "DataBiosphere/toil" in message


@pytest.mark.parametrize("marker", ["setup.py", "pyproject.toml"])
def test_toil_source_checkout_is_resolved(tmp_path: Path, marker: str) -> None:
    checkout = tmp_path / "toil"
    checkout.mkdir()
    (checkout / marker).write_text("")
    lab = LabConfig.from_env({"TOIL_SOURCE": str(tmp_path / "toil" / ".." / "toil")})
    assert lab.toil_source == checkout.resolve()


@pytest.mark.parametrize(
    "value", ["latest", "v9.6.0", "9.6.0; rm -rf /", ">=9", "9 .6", "9.6.0\n", "9.6.0\n1"]
)
def test_toil_version_junk(value: str) -> None:
    with pytest.raises(ConfigError) as error:
        LabConfig.from_env({"TOIL_VERSION": value})
    assert str(error.value) == f"TOIL_VERSION={value!r} is not a version number such as 9.6.0."


@pytest.mark.parametrize(
    ("text", "mb"),
    [
        ("2048", 2048),
        ("2048M", 2048),
        ("2048m", 2048),
        ("2048MB", 2048),
        ("2048MiB", 2048),
        ("2G", 2048),
        ("2g", 2048),
        ("2GiB", 2048),
        ("2Gi", 2048),
        (" 3 G ", 3072),
        ("1T", 1024 * 1024),
        ("524288k", 512),
        ("262144KiB", 256),
    ],
)
def test_parse_memory_mb_units(text: str, mb: int) -> None:
    assert parse_memory_mb(text, "WORKER_MEMORY") == mb


def test_parse_memory_mb_names_the_variable() -> None:
    with pytest.raises(ConfigError, match=r"^MEM='x' is not a memory size"):
        parse_memory_mb("x", "MEM")


@pytest.mark.parametrize("text", ["2147483648b", "2147483648B", "2048i", "2048ib"])
def test_a_byte_count_is_not_read_as_mebibytes(text: str) -> None:
    """Docker reads '2147483648b' as bytes; the lab must not take it for 2 million GiB."""
    with pytest.raises(ConfigError) as error:
        parse_memory_mb(text, "WORKER_MEMORY")
    assert str(error.value) == f"WORKER_MEMORY={text!r} is not a memory size: write e.g. 2048M or 2G."


def test_with_workers_validates_and_copies() -> None:
    base = LabConfig(name="x")
    scaled = base.with_workers(5)
    assert scaled.workers == 5
    assert base.workers is None
    assert scaled.name == "x"
    for bad in (0, 65):
        with pytest.raises(ConfigError, match="out of range"):
            base.with_workers(bad)


def test_parse_batch_system_normalises_case() -> None:
    assert config.parse_batch_system(" Slurm ") == "slurm"
