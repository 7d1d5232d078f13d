"""(a) Start-up: `lab up` with its image built, against the same containers with a no-op entrypoint."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from innode.layout import LEADER, worker_names
from lab import startup
from lab.bench.measure import ratio
from lab.cluster import Lab
from lab.config import LabConfig
from lab.errors import LabError
from lab.steps import Say, Steps
from lab.wait import Check, wait_until

# The no-op twin of a bench lab is a Compose project of the lab's name plus this.
NOOP_SUFFIX = "-noop"
NOOP_TIMEOUT = 120.0


@dataclass(frozen=True)
class StartUp:
    """`lab up` beside the same containers started with a no-op command."""

    containers: int
    lab_up_s: float
    noop_s: float
    steps: tuple[tuple[str, float], ...] = ()  # what each step of the timed `lab up` took

    @property
    def ratio(self) -> float | None:
        """How many times longer `lab up` takes than starting bare containers."""
        return ratio(self.lab_up_s, self.noop_s)


def noop_override(services: list[str]) -> dict[str, Any]:
    """A compose override that starts each service with a no-op command instead of its entrypoint."""
    # The healthchecks stay: Compose v1 cannot disable one that a file below defines,
    # and they cost the same in both projects.
    return {"services": {name: {"entrypoint": ["sleep", "infinity"]} for name in services}}


def noop_start(lab: Lab, plan: startup.UpPlan, say: Say) -> float:
    """Seconds to start the lab's containers (same image, same project) with a no-op command."""
    noop = Lab(replace(lab.config, name=lab.config.name + NOOP_SUFFIX), say)
    project = noop.project(plan.workers, plan.image, plan.cpus, plan.batch_system)
    services = [LEADER, *worker_names(plan.workers)]
    override = noop.config.state_dir / "noop.yaml"
    override.write_text(json.dumps(noop_override(services), indent=2) + "\n")
    project = replace(project, files=(*project.files, override))

    def check() -> Check[int]:
        running = sum(1 for node in noop.nodes() if node.running)
        return Check(running == len(services), f"{running}/{len(services)} no-op containers running", running)

    try:
        started = time.monotonic()
        project.up()
        wait_until(check, what="the no-op containers", timeout=NOOP_TIMEOUT, interval=0.05)
        return time.monotonic() - started
    finally:
        with contextlib.suppress(LabError):
            noop.clean()


def images_first(lab: Lab, steps: Steps) -> startup.UpPlan:
    """Build (or find) the lab's images, untimed: `lab up` is measured with them built."""
    checked = startup.check(lab, steps)
    image = startup.images(lab, checked, steps)
    return startup.UpPlan(checked.workers, checked.engine.cpus, image, checked.batch_system, checked.why)


@contextlib.contextmanager
def timed_lab(
    config: LabConfig, keep: bool, say: Say
) -> Iterator[tuple[Lab, startup.UpPlan, float, list[tuple[str, float]]]]:
    """The bench lab: images built first, then `lab up` timed; deleted at the end unless `keep`.

    Yields (lab, the plan, seconds that `lab up` took, what each of its steps took).
    """
    plan = images_first(Lab(config, say), Steps())
    timed = Steps()
    started = time.monotonic()
    with startup.running_lab(config, startup.Policy(keep=keep), say=say, steps=timed) as lab:
        yield lab, plan, time.monotonic() - started, timed.timings
