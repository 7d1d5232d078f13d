"""Toil #1652: auto-deployment runs the worker's own older copy of the user's module.

When a module of the same name as the user's is already installed on a worker, Toil's
worker imports that one instead of the code the leader shipped: the deployed copy's folder
is appended to the end of sys.path (toil/resource.py, makeLoadable), after site-packages.
No error is raised; the node runs stale code.

Preparation: an older copy of the workflow's module (another VERSION) is installed into
worker-2's site-packages; the run is pinned to worker-2. Observed: the version and file each
job reports of itself.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from innode.layout import DATA_DIR, LAB_USER
from lab.scenarios import evidence
from lab.scenarios.scenario import Issue, Outcome, Scenario, Stage, outcome

WORKFLOW = "innode/workflows/versioned.py"
MODULE = "versioned"
NODE = "worker-2"
SHIPPED = "shipped by the leader"  # the workflow's VERSION
INSTALLED = "installed on the node"  # the older copy's
JOBS = 3
RUN_TIMEOUT = 240.0
PYTHON_PATHS = (
    "import sys, sysconfig; print(sysconfig.get_path('purelib')); print(sys.implementation.cache_tag)"
)
IMPORTED = f"import {MODULE} as m; print(m.VERSION, m.__file__)"


@dataclass(frozen=True)
class Observed:
    installed_import: str  # what `import versioned` gives on the node, as the lab user, before the run
    reports: list[str]  # each job's own line: 'HOST PID VERSION FILE'
    exit_code: int | None


class StaleUserModule(Scenario[Observed]):
    name = "1652-stale-user-module"
    issue = Issue(1652, "Toil not hot-deploying user script when old version is installed on nodes", "open")
    batch_systems = ("slurm", "mesos")
    expected = "reproduces"
    summary = f"an older copy of the workflow's module in {NODE}'s site-packages; a run pinned there"
    observed = Observed

    def play(self, stage: Stage) -> Observed:
        node = stage.worker(NODE)
        site, tag = node.exec(["python3", "-c", PYTHON_PATHS]).stdout.split()
        installed = f"{site}/{MODULE}.py"
        source = (stage.lab.config.root / WORKFLOW).read_text()
        old, found = re.subn(r"(?m)^VERSION = .*$", f"VERSION = {INSTALLED!r}", source)
        if found != 1:
            raise ValueError(f"{WORKFLOW} has no line VERSION = ... to change")
        cached = f"{site}/__pycache__/{MODULE}.{tag}.pyc"
        stage.install(node, installed, old, also=[cached])
        seen = node.exec(["python3", "-c", IMPORTED], user=LAB_USER, workdir="/", check=False)
        record = f"{DATA_DIR}/scenarios/1652-{uuid.uuid4().hex[:8]}"
        with stage.lab.pinned(NODE) as pin:
            run = evidence.start(stage, WORKFLOW, ["--record", record, "--jobs", str(JOBS), *pin])
            result = run.wait(RUN_TIMEOUT)
        listing = stage.leader().exec(["sh", "-c", f"cat {record}/job-*.log 2>/dev/null; true"]).stdout
        return Observed(
            installed_import=(seen.stdout + seen.stderr).strip(),
            reports=listing.splitlines(),
            exit_code=result.returncode,
        )

    def judge(self, observed: Observed) -> Outcome:
        prepared = (f"`import {MODULE}` on {NODE} before the run", [observed.installed_import])
        if not observed.installed_import.startswith(INSTALLED):
            return outcome("inconclusive", f"the older copy was not what {NODE} imports", prepared)
        reports = ("each job's own report: node, pid, VERSION, file", observed.reports)
        there = [line for line in observed.reports if line.startswith(NODE + " ")]
        if not there:
            return outcome("inconclusive", f"no job reported from {NODE}", prepared, reports)
        stale = [line for line in there if repr(INSTALLED) in line]
        if stale:
            return outcome(
                "reproduces",
                f"{len(stale)} of {len(there)} jobs on {NODE} ran the node's own copy, not the shipped code",
                prepared,
                reports,
            )
        if all(repr(SHIPPED) in line for line in there):
            return outcome("fixed", f"every job on {NODE} ran the code the leader shipped", prepared, reports)
        return outcome("inconclusive", "the jobs' reports name neither copy", reports)
