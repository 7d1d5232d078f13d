"""Toil's appliance tests on the lab: pytest on the host, in the runner, with the lab's plugin.

The runner (venv.py) holds the lab's own Toil wheel; the shims (shim.py) put the lab's real
mesos-master and mesos-agent on its PATH; the plugin (plugin.py) hands each test the lab's
leader and one worker. pytest runs in the folder that holds the runner's `toil` package,
so that Toil's test files are named as Toil installs them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from lab.cluster import Lab
from lab.errors import LabError
from lab.steps import Say
from lab.toil_tests import installed, shim, venv
from lab.toil_tests.families import APPLIANCE, Outcome, run_pytest


def check_host() -> None:
    """What the host needs besides the runner: rsync, which Toil's test package runs when imported."""
    if shutil.which("rsync") is None:
        raise LabError(
            "Toil's test package runs `rsync --version` when it is imported, and this host has no rsync: "
            "install it (e.g. `apt-get install rsync`) and run `lab toil-tests` again"
        )


def shims_folder(lab: Lab) -> Path:
    """Where this lab's mesos-master and mesos-agent shims are written."""
    return lab.config.root / "build" / "toil-tests" / lab.config.name / "bin"


def environment(lab: Lab, worker: str, shims: Path, results: Path) -> dict[str, str]:
    """pytest's environment: the shims first on PATH, this checkout on the path, the plugin's settings."""
    return {
        "PATH": f"{shims}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(lab.config.root),
        "LAB_NAME": lab.config.name,
        "TOIL_TESTS_WORKER": worker,
        "TOIL_TESTS_RESULTS": str(results),
    }


def run(lab: Lab, worker: str, extra: Sequence[str], results: Path, say: Say) -> Outcome:
    """Run the appliance family against the lab; its outcome."""
    check_host()
    python = venv.ensure(lab.config, say)
    toil = installed.in_runner(python, lab.config.root)
    shims = shim.write(shims_folder(lab), lab.config.name, worker)
    junit, log, commands = results / "appliance.xml", results / "appliance.log", results / "appliance"
    junit.unlink(missing_ok=True)
    shutil.rmtree(commands, ignore_errors=True)
    argv = [str(python), "-m", "pytest", *APPLIANCE.pytest_args(str(junit), extra)]
    say(
        f"appliance tests: pytest on this host, Toil {toil.version} from {toil.site}, lab {lab.config.name!r}"
    )
    code = run_pytest(argv, log, env=environment(lab, worker, shims, commands), cwd=Path(toil.site))
    return Outcome(APPLIANCE, code, junit, log)
