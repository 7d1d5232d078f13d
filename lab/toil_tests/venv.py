"""The host's runner of Toil's appliance tests: a virtualenv with the very Toil wheel the lab installed.

The appliance tests run pytest on the host, and pytest imports Toil's test files from the
Toil it runs with: that must be the lab's Toil, the TOIL_VERSION release or the wheel
built from TOIL_SOURCE. The runner installs that wheel from the lab's wheelhouse
(build/wheelhouse/), with pytest, and pymesos with the lab's pure-Python http-parser (Toil's
@needs_mesos imports pymesos); the plugin then checks, file for file, that it is the
image's Toil. It lives in build/toil-tests/runner/ and is made again when the wheel changes.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lab import base_image, docker, process, wheelhouse
from lab.backends.mesos import image as mesos_image
from lab.config import HTTP_PARSER_VERSION, PYMESOS_VERSION, PYTEST_TIMEOUT_VERSION, PYTEST_VERSION, LabConfig
from lab.errors import LabError

STAMP = "installed.txt"


@dataclass(frozen=True)
class Wheelhouses:
    """Where the lab's wheels are: Toil's (with its one toil wheel) and the Mesos one."""

    toil: Path
    mesos: Path

    @property
    def toil_wheel(self) -> Path:
        """The toil wheel the image installed."""
        wheels = sorted(self.toil.glob("toil-*.whl"))
        if len(wheels) != 1:
            raise LabError(f"expected one toil wheel in {self.toil}, found {len(wheels)}: run `lab up` again")
        return wheels[0]


def folder(config: LabConfig) -> Path:
    """Where the runner lives."""
    return config.root / "build" / "toil-tests" / "runner"


def python(config: LabConfig) -> Path:
    """The runner's interpreter."""
    return folder(config) / "bin" / "python"


def wheelhouses(config: LabConfig, say: Callable[[str], None]) -> Wheelhouses:
    """The lab's wheelhouses for this configuration; resolved if this checkout has none yet."""
    architecture = docker.engine_info().architecture
    platform = base_image.base_platform(config, say)
    house = config.wheelhouse_root / wheelhouse.toil_name(config, architecture, platform)
    if not list(house.glob("toil-*.whl")):
        house = wheelhouse.ensure_toil(config, architecture, say, platform)
    return Wheelhouses(house, mesos_image.ensure_wheelhouse(config, architecture, platform))


def requirements(houses: Wheelhouses) -> list[str]:
    """What the runner installs: the lab's toil wheel, pytest, pytest-timeout, pymesos, a pure http-parser."""
    return [
        str(houses.toil_wheel),
        f"pytest=={PYTEST_VERSION}",
        f"pytest-timeout=={PYTEST_TIMEOUT_VERSION}",
        f"pymesos=={PYMESOS_VERSION}",
        f"http-parser=={HTTP_PARSER_VERSION}",
    ]


def stamp(houses: Wheelhouses) -> str:
    """What a runner was made from: the wheel's digest and the requirements."""
    digest = hashlib.sha256(houses.toil_wheel.read_bytes()).hexdigest()
    return f"{houses.toil_wheel.name} sha256={digest}\n" + "\n".join(requirements(houses)[1:]) + "\n"


def install_argv(runner: Path, houses: Wheelhouses) -> list[str]:
    """The pip command that fills the runner (the wheelhouses first, PyPI for what they lack)."""
    return [
        str(runner / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--find-links", str(houses.toil), "--find-links", str(houses.mesos), *requirements(houses),
    ]  # fmt: skip


def ensure(config: LabConfig, say: Callable[[str], None]) -> Path:
    """The runner's interpreter, made (or made again) unless it holds the lab's current Toil wheel."""
    houses = wheelhouses(config, say)
    runner = folder(config)
    wanted = stamp(houses)
    marker = runner / STAMP
    if marker.exists() and marker.read_text() == wanted:
        return python(config)
    say(f"making the test runner {runner} with {houses.toil_wheel.name} from {houses.toil}")
    shutil.rmtree(runner, ignore_errors=True)
    try:
        process.run([sys.executable, "-m", "venv", str(runner)])
        process.run(install_argv(runner, houses))
    except BaseException:
        shutil.rmtree(runner, ignore_errors=True)
        raise
    marker.write_text(wanted)
    return python(config)
