"""The one way a lab's configuration is made from the environment, for whichever lab is meant.

The CLI's lab (LAB_NAME), and the labs of their own that `make test`, `make bench`,
`lab toil-tests` and `lab cwl-conformance` bring up, are each the environment's settings
with, maybe, another name and a fixed batch system. A suite runs on its own lab of a batch
system, or on the user's running lab of that batch system with LAB_REUSE=1 (`suite_lab`).
A Mesos build the environment leaves unset comes from the user's LAB_NAME lab's memory,
then that lab's own, then the newest `make mesos` built (lab/remembered.py): once a user's
lab is made on Mesos, every other lab finds its build.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from lab import remembered
from lab.cluster import Lab
from lab.config import LabConfig
from lab.errors import ConfigError


def lab_config(
    env: Mapping[str, str] | None = None, *, name: str | None = None, batch_system: str | None = None
) -> LabConfig:
    """The configuration of lab `name` (default LAB_NAME) on `batch_system` (default BATCH_SYSTEM)."""
    settings = dict(os.environ if env is None else env)
    if batch_system is not None:
        settings["BATCH_SYSTEM"] = batch_system
    users_lab = LabConfig.from_env(settings).name
    if name is not None:
        settings["LAB_NAME"] = name
    return remembered.apply(remembered.apply(LabConfig.from_env(settings), users_lab))


def has_mesos_build(env: Mapping[str, str], name: str) -> bool:
    """Whether lab `name` on Mesos would find a Mesos build (set, remembered, or `make mesos`'s)."""
    return lab_config(env, name=name, batch_system="mesos").mesos_package is not None


def suite_lab(
    users: LabConfig, env: Mapping[str, str], *, own: str, batch_system: str, no_mesos: str
) -> tuple[LabConfig, bool]:
    """The lab a suite runs on, and whether it is the user's running lab.

    The user's lab (`users`) when LAB_REUSE=1 and it runs `batch_system`; else the suite's
    own lab `own`. A Mesos lab of its own without a Mesos build is refused with `no_mesos`.
    """
    reuse = env.get("LAB_REUSE") == "1" and Lab(users).running_batch_system() == batch_system
    config = lab_config(env, name=users.name if reuse else own, batch_system=batch_system)
    if batch_system == "mesos" and config.mesos_package is None and not reuse:
        raise ConfigError(no_mesos)
    return config, reuse
