"""The lab's configuration: one frozen dataclass, built from the environment on request."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from lab import backends
from lab.errors import ConfigError

# --- Constants: names, labels and pins, in one place -------------------------
# (Names and paths inside the nodes are in innode/layout.py.)
# Versions pinned here reach the image as build arguments (see lab/image.py).
DEFAULT_TOIL_VERSION = "9.6.0"
DEFAULT_BASE_IMAGE = "debian:bookworm-slim"
# The Python of the node image's distribution: wheels are resolved for it.
IMAGE_PYTHON = "3.11"
# Installed beside Toil in every node (and in `lab toil-tests`' runner): Toil's own tests
# run with pytest in a worker, under pytest-timeout as in Toil's own development setup
# (a hung Toil test must end), and its appliance tests make a virtualenv on the leader.
PYTEST_VERSION = "9.2.0"
PYTEST_TIMEOUT_VERSION = "2.4.0"
VIRTUALENV_VERSION = "21.15.11"
# Toil's `mesos` batch system needs pymesos (pinned by Toil for Python < 3.11 only), and
# pymesos http-parser, of which the Mesos runtime installs the pure-Python parser.
PYMESOS_VERSION = "0.3.15"
# The CWL layer (CWL=1) adds cwltest, the CWL conformance suite's runner, beside toil[cwl]:
# Toil's CWL test package imports it (its conftest.py; `lab toil-tests --family slurm`).
CWLTEST_VERSION = "2.7.20260814150058"
# The CWL v1.2 conformance suite (common-workflow-language/cwl-v1.2) at the commit Toil's
# own Makefile pins (`lab cwl-conformance`, lab/cwl/spec.py).
CWL_SPEC_COMMIT = "0d538a0dbc5518f3c6083ce4571926f65cb84f76"
HTTP_PARSER_VERSION = "0.9.0"

DEFAULT_LAB_NAME = "toil-lab"
DEFAULT_WORKERS = 3
MAX_WORKERS = 64
# 3G: Slurm sees 2944M, so a job with Toil's default request (2G of memory) fits.
DEFAULT_WORKER_MEMORY_MB = 3072
# What a Mesos build from source (`make mesos`) takes on a 2-core machine like CI's, measured:
# 38 minutes (the shared build), 72 (this recipe at -O2, beside other work).
MESOS_BUILD_MINUTES = "40 to 70"
# BATCH_SYSTEM=auto (the default): Mesos when MESOS_PACKAGE names a Mesos build, a lab remembers
# one, or `make mesos` built one here (lab/remembered.py); else Slurm.
AUTO = "auto"
# The batch systems are lab/backends/'s: each Backend also gives its default SLOTS_PER_CPU.
BATCH_SYSTEMS = backends.NAMES
BATCH_SYSTEM_CHOICES = (AUTO, *BATCH_SYSTEMS)

_LAB_NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
_MEMORY_RE = re.compile(r"(\d+)\s*(?:([kmgt])i?b?)?", re.IGNORECASE)


def project_root() -> Path:
    """The checkout that holds compose.yaml and images/."""
    return Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class LabConfig:
    """Everything that names and shapes one lab."""

    name: str = DEFAULT_LAB_NAME
    workers: int | None = None  # None: keep a running lab's size, else the default
    batch_system: str = AUTO  # auto, slurm or mesos: see choose_batch_system
    mesos_package: str | None = None  # a path or URL: a .deb or a .tar.gz of an install tree
    mesos_extra_packages: tuple[str, ...] = ()  # distribution packages the Mesos build also needs
    toil_version: str = DEFAULT_TOIL_VERSION
    toil_source: Path | None = None
    base_image: str = DEFAULT_BASE_IMAGE
    worker_memory_mb: int = DEFAULT_WORKER_MEMORY_MB
    slots_per_cpu: int | None = None  # None: the batch system's default (Backend.default_slots_per_cpu)
    compose_command: tuple[str, ...] | None = None  # None: detect v2, then v1
    # The lab whose memory gave mesos_package (lab/remembered.py), when the environment did not.
    remembered_from: str | None = None
    # mesos_package is the newest Mesos that `lab build-mesos` built in this checkout (build/mesos/built/).
    mesos_built_here: bool = False
    # Where `lab build-mesos` takes Mesos's source from (MESOS_SOURCE); None: its default URL.
    mesos_source: str | None = None
    # The nodes carry CWL's runner (CWL=1: toil[cwl] and a JavaScript engine, lab/cwl/);
    # None: as the lab remembers, else not.
    cwl: bool | None = None
    root: Path = field(default_factory=project_root)

    @property
    def state_dir(self) -> Path:
        """Host-side files of this lab (the generated worker services)."""
        return self.root / ".lab" / self.name

    @property
    def wheelhouse_root(self) -> Path:
        """Where wheelhouses resolved on the host are kept between builds."""
        return self.root / "build" / "wheelhouse"

    def slots_for(self, batch_system: str) -> int:
        """Jobs per CPU of a worker on this batch system: SLOTS_PER_CPU, or its default."""
        return self.slots_per_cpu or backends.get(batch_system).default_slots_per_cpu

    def with_workers(self, workers: int) -> LabConfig:
        """A copy of this configuration with a validated worker count."""
        return replace(self, workers=_check_workers(workers))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> LabConfig:
        """Build and validate the configuration from environment variables."""
        env = os.environ if env is None else env
        name = env.get("LAB_NAME") or DEFAULT_LAB_NAME
        if not _LAB_NAME_RE.fullmatch(name):
            raise ConfigError(
                f"LAB_NAME={name!r} is not a valid lab name: use lowercase letters, "
                "digits, '-' and '_', starting with a letter or digit."
            )
        workers = env.get("WORKERS") or None
        source = env.get("TOIL_SOURCE") or None
        compose = env.get("LAB_COMPOSE") or None
        slots = env.get("SLOTS_PER_CPU") or None
        return cls(
            name=name,
            workers=None if workers is None else parse_workers(workers),
            batch_system=parse_batch_system(env.get("BATCH_SYSTEM") or AUTO),
            mesos_package=(env.get("MESOS_PACKAGE") or "").strip() or None,
            mesos_extra_packages=_parse_package_names(env.get("MESOS_EXTRA_PACKAGES") or ""),
            mesos_source=(env.get("MESOS_SOURCE") or "").strip() or None,
            toil_version=_check_toil_version(env.get("TOIL_VERSION") or DEFAULT_TOIL_VERSION),
            toil_source=None if source is None else _check_toil_source(source),
            base_image=env.get("BASE_IMAGE") or DEFAULT_BASE_IMAGE,
            worker_memory_mb=parse_memory_mb(
                env.get("WORKER_MEMORY") or f"{DEFAULT_WORKER_MEMORY_MB}M", "WORKER_MEMORY"
            ),
            slots_per_cpu=None if slots is None else _parse_positive(slots, "SLOTS_PER_CPU", 64),
            compose_command=None if compose is None else tuple(compose.split()),
            cwl=parse_switch(env.get("CWL") or "", "CWL"),
        )


def parse_workers(text: str) -> int:
    """Parse a worker count given by a user."""
    try:
        value = int(text.strip())
    except ValueError:
        raise ConfigError(
            f"WORKERS={text!r} is not a number: give the worker count as a whole "
            f"number from 1 to {MAX_WORKERS}, e.g. WORKERS=3."
        ) from None
    return _check_workers(value)


def _check_workers(value: int) -> int:
    if not 1 <= value <= MAX_WORKERS:
        raise ConfigError(f"WORKERS={value} is out of range: a lab has 1 to {MAX_WORKERS} workers.")
    return value


def parse_switch(text: str, what: str) -> bool | None:
    """An on/off setting: 1, yes, true, on / 0, no, false, off; None when empty."""
    word = text.strip().lower()
    if not word:
        return None
    if word in ("1", "yes", "true", "on"):
        return True
    if word in ("0", "no", "false", "off"):
        return False
    raise ConfigError(f"{what}={text!r} is neither on nor off: write {what}=1 or {what}=0.")


def parse_batch_system(text: str) -> str:
    """Check a batch-system name against those the lab provides (or auto)."""
    name = text.strip().lower()
    if name not in BATCH_SYSTEM_CHOICES:
        raise ConfigError(
            f"BATCH_SYSTEM={text!r} is not one the lab provides; choose one of: "
            + ", ".join(BATCH_SYSTEM_CHOICES)
        )
    return name


def choose_batch_system(config: LabConfig) -> tuple[str, str]:
    """The batch system a new lab gets, and why (said to the user by `lab up`)."""
    package = f"MESOS_PACKAGE={config.mesos_package}"
    if config.remembered_from is not None:
        package += f" (remembered from the last `lab up` of lab {config.remembered_from!r})"
    if config.mesos_built_here:
        package = f"the Mesos that `make mesos` built, {config.mesos_package}"
    if config.batch_system == "mesos":
        if config.mesos_package is None:
            raise ConfigError(
                "BATCH_SYSTEM=mesos needs a Mesos build, and no package index carries one: run "
                f"`make mesos` once (it builds Mesos from source, about {MESOS_BUILD_MINUTES} minutes on "
                "2 cores; BATCH_SYSTEM=auto then picks it up), or set MESOS_PACKAGE to a Mesos .deb or "
                "a .tar.gz of a Mesos install tree, as a path or URL (docs/mesos.md). Nothing was started."
            )
        return "mesos", f"BATCH_SYSTEM=mesos, Mesos from {package}"
    if config.batch_system == "slurm":
        return "slurm", "BATCH_SYSTEM=slurm"
    if config.mesos_built_here:
        return "mesos", f"BATCH_SYSTEM=auto and there is {package}"
    if config.mesos_package is not None:
        return "mesos", f"BATCH_SYSTEM=auto and {package} is set"
    return (
        "slurm",
        "BATCH_SYSTEM=auto and there is no Mesos build (`make mesos` builds one; MESOS_PACKAGE names one)",
    )


def _parse_package_names(text: str) -> tuple[str, ...]:
    names = tuple(text.replace(",", " ").split())
    for name in names:
        if not re.fullmatch(r"[a-z0-9][a-z0-9+.-]+", name):
            raise ConfigError(
                f"MESOS_EXTRA_PACKAGES: {name!r} is not a distribution package name "
                "(give names such as 'libfoo1 libbar2', separated by spaces)."
            )
    return names


def parse_memory_mb(text: str, what: str) -> int:
    """Parse '2048', '2048M', '2G' or '2GiB' into mebibytes."""
    match = _MEMORY_RE.fullmatch(text.strip())
    if not match:
        raise ConfigError(f"{what}={text!r} is not a memory size: write e.g. 2048M or 2G.")
    number, unit = int(match.group(1)), (match.group(2) or "").lower()
    factor = {"k": 1 / 1024, "": 1, "m": 1, "g": 1024, "t": 1024 * 1024}[unit]
    mb = int(number * factor)
    if mb < 256:
        raise ConfigError(f"{what}={text!r} is too small: a node needs at least 256M.")
    return mb


def _parse_positive(text: str, what: str, most: int) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= most:
        raise ConfigError(f"{what}={text!r} must be a whole number from 1 to {most}.")
    return value


def _check_toil_version(text: str) -> str:
    if not re.fullmatch(r"[0-9][0-9A-Za-z.+-]*", text):
        raise ConfigError(f"TOIL_VERSION={text!r} is not a version number such as 9.6.0.")
    return text


def _check_toil_source(text: str) -> Path:
    path = Path(text).expanduser().resolve()
    if not (path / "setup.py").exists() and not (path / "pyproject.toml").exists():
        raise ConfigError(
            f"TOIL_SOURCE={text!r} is not a Toil checkout (no setup.py or pyproject.toml "
            "there): point it at the top of a clone of DataBiosphere/toil."
        )
    return path
