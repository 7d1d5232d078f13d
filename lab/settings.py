"""The one way a lab's configuration is made from the environment, for whichever lab is meant.

The CLI's lab (LAB_NAME), and the labs of their own that `make test`, `make bench` and
`lab toil-tests` bring up, are each the environment's settings with, maybe, another name
and a fixed batch system. A Mesos build the environment leaves unset comes from the
user's LAB_NAME lab's memory, then that lab's own, then the newest `make mesos` built
(lab/remembered.py): once a user's lab is made on Mesos, every other lab finds its build.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from lab import remembered
from lab.config import LabConfig


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
