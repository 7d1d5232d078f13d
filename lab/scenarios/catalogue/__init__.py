"""The catalogue: one module per Toil issue, each a Scenario (lab/scenarios/scenario.py).

To add one, write its module here (copy the nearest one) and list its class in SCENARIOS.
"""

from __future__ import annotations

from typing import Any

from lab.scenarios.catalogue.issue_1629 import FrameworkTornDown
from lab.scenarios.catalogue.issue_1652 import StaleUserModule
from lab.scenarios.catalogue.issue_2373 import WorkDirOnlyOnWorkers
from lab.scenarios.catalogue.issue_2663 import ServiceDeadlockWhileQueued
from lab.scenarios.catalogue.issue_4853 import SlurmctldUnreachable
from lab.scenarios.catalogue.issue_5082 import KillLeavesJobsQueued
from lab.scenarios.catalogue.issue_5177 import WalltimeKeyboardInterrupt
from lab.scenarios.catalogue.issue_5452 import BadWorkerBurnsRetries
from lab.scenarios.scenario import Scenario

SCENARIOS: tuple[Scenario[Any], ...] = (
    KillLeavesJobsQueued(),
    BadWorkerBurnsRetries(),
    WalltimeKeyboardInterrupt(),
    SlurmctldUnreachable(),
    ServiceDeadlockWhileQueued(),
    StaleUserModule(),
    WorkDirOnlyOnWorkers(),
    FrameworkTornDown(),
)
