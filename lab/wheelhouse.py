"""Wheelhouses: Python packages resolved on the host for the image's Python and glibc.

Images install from a wheelhouse with `pip --no-index` (pip inside a build may not
reach an index). A wheelhouse is resolved once and kept in build/wheelhouse/; its
requirements.txt, written last, lists what the image installs and marks it complete;
a wheelhouse whose list differs from what is asked is resolved again.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from lab import process
from lab.base_image import DEFAULT_PLATFORM, Platform
from lab.config import PYTEST_TIMEOUT_VERSION, PYTEST_VERSION, VIRTUALENV_VERSION, LabConfig
from lab.errors import ConfigError, LabError

REQUIREMENTS = "requirements.txt"
# Installed beside Toil: what Toil's own tests need in the nodes (`lab toil-tests`).
TEST_TOOLS = (
    f"pytest=={PYTEST_VERSION}",
    f"pytest-timeout=={PYTEST_TIMEOUT_VERSION}",
    f"virtualenv=={VIRTUALENV_VERSION}",
)
PIP = (sys.executable, "-m", "pip")


def platform_args(architecture: str, platform: Platform = DEFAULT_PLATFORM) -> list[str]:
    """pip options that resolve wheels for the image's Python and glibc, not the host's."""
    arch = {"amd64": "x86_64", "arm64": "aarch64"}.get(architecture, architecture)
    # Every manylinux tag up to the image's glibc fits it (Debian 12: 2.36).
    newest = int(platform.glibc.split(".")[1])
    platforms = [f"manylinux_2_{minor}_{arch}" for minor in range(newest, 4, -1)]
    platforms += [f"manylinux2014_{arch}", f"manylinux2010_{arch}", f"manylinux1_{arch}", f"linux_{arch}"]
    args = ["--only-binary=:all:", "--python-version", platform.python, "--implementation", "cp"]
    for tag in platforms:
        args += ["--platform", tag]
    return args


def cached(house: Path, requirement: str, resolve: Callable[[Path], None], *, fresh: bool = False) -> Path:
    """A complete wheelhouse for `requirement` (one per line): resolved by `resolve(house)` unless
    already there for the same requirements.

    A failed resolution leaves nothing behind that would pass for complete.
    """
    marker = house / REQUIREMENTS
    if marker.exists() and not fresh and marker.read_text() == requirement + "\n":
        return house
    house.mkdir(parents=True, exist_ok=True)
    marker.unlink(missing_ok=True)
    try:
        resolve(house)
    except BaseException:
        shutil.rmtree(house, ignore_errors=True)
        raise
    marker.write_text(requirement + "\n")
    return house


REACH_PYPI = "check that PyPI is reachable from this host"


def download(
    house: Path,
    targets: Sequence[str],
    architecture: str,
    platform: Platform,
    what: str,
    advice: str = REACH_PYPI,
) -> None:
    """pip download `targets` and their dependencies, as wheels for the image's Python, into `house`;
    when pip cannot, an error that names `what` and gives `advice`."""
    try:
        process.run(
            [*PIP, "download", "--dest", str(house), *platform_args(architecture, platform), *targets]
        )
    except LabError as error:
        raise ConfigError(
            f"could not resolve {what} into a wheelhouse for Python {platform.python}: {advice}.\n"
            + str(error)
        ) from None


def toil_name(config: LabConfig, architecture: str, platform: Platform = DEFAULT_PLATFORM) -> str:
    """The folder name of the Toil wheelhouse this configuration installs from."""
    suffix = "" if platform == DEFAULT_PLATFORM else f"-py{platform.python}-glibc{platform.glibc}"
    if config.toil_source is not None:
        digest = hashlib.sha256(str(config.toil_source).encode()).hexdigest()[:10]
        return f"toil-source-{digest}-{architecture}{suffix}"
    return f"toil-{config.toil_version}-{architecture}{suffix}"


def ensure_toil(config: LabConfig, architecture: str, say: Callable[[str], None], platform: Platform) -> Path:
    """Toil (TOIL_VERSION, or a wheel built from TOIL_SOURCE), the test tools, and their dependencies."""
    house = config.wheelhouse_root / toil_name(config, architecture, platform)
    source = config.toil_source
    toil = "toil" if source is not None else f"toil=={config.toil_version}"
    requirement = "\n".join([toil, *TEST_TOOLS])

    def resolve(target: Path) -> None:
        targets = [toil]
        if source is not None:
            say(f"building Toil from {source} into the wheelhouse")
            for old in target.glob("toil-*.whl"):
                old.unlink()
            process.run([*PIP, "wheel", "--no-deps", "--wheel-dir", str(target), str(source)])
            built = sorted(target.glob("toil-*.whl"))
            if not built:
                raise LabError(f"building {source} made no toil wheel in {target}")
            # The only toil wheel in this wheelhouse; pip finds it there by name.
            targets = [str(built[-1])]
        else:
            say(f"resolving {toil} for Python {platform.python} into {target}")
        advice = "check TOIL_VERSION, and that PyPI is reachable from this host"
        download(target, [*targets, *TEST_TOOLS], architecture, platform, toil, advice)

    # A checkout may have changed since the last build: its wheel is built every time.
    return cached(house, requirement, resolve, fresh=source is not None)
