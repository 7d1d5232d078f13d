"""What a lab remembers of its last `lab up`: its batch system, its Mesos build, and CWL.

A Mesos lab is made with MESOS_PACKAGE, or with the Mesos that `make mesos` built in
this checkout; once made, `lab up` (a rescale, or after `lab down`), `make test` and
the other commands need no variables again. A lab brought up with CWL=1 keeps its CWL
runner through later `lab up`s until CWL=0 says otherwise. The memory is a file in the lab's
host-side folder (.lab/NAME/), which `lab clean` deletes.
"""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass, replace
from pathlib import Path

from lab.backends.mesos import build as mesos_build
from lab.base_image import platform_of_name
from lab.config import AUTO, LabConfig

FILE = "remembered.json"


@dataclass(frozen=True)
class Remembered:
    """The choices of a lab's last successful `lab up`."""

    batch_system: str
    mesos_package: str | None
    mesos_extra_packages: tuple[str, ...] = ()
    cwl: bool = False


def path_of(config: LabConfig, name: str | None = None) -> Path:
    """Where the lab named `name` (default: this configuration's) keeps its memory."""
    return config.root / ".lab" / (name or config.name) / FILE


def load(config: LabConfig, name: str | None = None) -> Remembered | None:
    """What the lab remembers, or None (never made here, cleaned, or unreadable)."""
    try:
        data = json.loads(path_of(config, name).read_text())
        return Remembered(
            batch_system=str(data["batch_system"]),
            mesos_package=data.get("mesos_package") or None,
            mesos_extra_packages=tuple(data.get("mesos_extra_packages") or ()),
            cwl=bool(data.get("cwl", False)),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def absolute(source: str) -> str:
    """A package path made absolute (so it holds from any folder); URLs as they are."""
    if urllib.parse.urlparse(source).scheme in ("http", "https", "ftp"):
        return source
    return str(Path(source).expanduser().resolve())


def save(config: LabConfig, batch_system: str) -> None:
    """Remember this configuration's choices for the lab it names."""
    package = absolute(config.mesos_package) if config.mesos_package and batch_system == "mesos" else None
    data = {
        "batch_system": batch_system,
        "mesos_package": package,
        "mesos_extra_packages": list(config.mesos_extra_packages) if package else [],
        "cwl": bool(config.cwl),
    }
    target = path_of(config)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(data, indent=2) + "\n")


def apply(config: LabConfig, name: str | None = None) -> LabConfig:
    """The configuration, with the Mesos build that lab `name` remembers where none is given,
    else the newest that `make mesos` built here.

    Only fills what the environment left open: MESOS_PACKAGE unset, and BATCH_SYSTEM
    auto (or mesos). An explicit BATCH_SYSTEM=slurm or MESOS_PACKAGE always wins, and so
    does a lab that remembers being made on Slurm with BATCH_SYSTEM=auto (a Mesos built
    later does not turn a lab that is up into an error).
    CWL, left unset, is as the lab itself (not another lab) remembers it.
    """
    memory = load(config, name)
    if config.cwl is None and memory is not None and name in (None, config.name):
        config = replace(config, cwl=memory.cwl)
    if config.mesos_package is not None or config.batch_system not in (AUTO, "mesos"):
        return config
    if memory is None or memory.mesos_package is None:
        if memory is not None and memory.batch_system == "slurm" and config.batch_system == AUTO:
            return config
        built = mesos_build.newest(config.root, platform_of_name(config.base_image))
        if built is None:
            return config
        return replace(config, mesos_package=str(built), mesos_built_here=True)
    return replace(
        config,
        mesos_package=memory.mesos_package,
        mesos_extra_packages=config.mesos_extra_packages or memory.mesos_extra_packages,
        remembered_from=name or config.name,
    )
