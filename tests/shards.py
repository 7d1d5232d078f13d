"""`python -m tests.shards [MARKERS]`: the test suite as pytests side by side, no two on one lab.

Most of an integration test's time is spent waiting on timers (a scheduler noticing a lost
worker, a leaf's sleep, Toil's polling), not on the CPU, so the suite runs as a few
pytests at once (SHARDS), each with its own TEST_LAB_NAME: a fault test's kill or
partition never strikes another shard's workflow. Each shard's output goes to
test-results/<name>.log (the first's also to the terminal as it comes; the others' when
each ends) and its results to test-results/junit-<name>.xml. The run fails when any
shard fails; its last line counts every shard's tests.

MARKERS (as `make test-fast` gives "not faults") narrows every shard's selection; a shard
left with nothing to run is reported and counts as passed, as long as some shard ran a test.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shlex
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from lab import process
from tests.labs import TEST_LAB_NAME

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "test-results"
EVERYTHING = ("tests/unit", "tests/integration")
# Files of tests that need no lab (they build images of their own), in the slurm-2 shard.
IMAGE_TESTS = ("tests/integration/test_mesos_build.py", "tests/integration/test_mesos_image.py")
FAULTS = "tests/integration/test_faults.py"
SCENARIOS = "tests/integration/test_scenarios.py"
CWL = "tests/integration/test_cwl.py"
CWL_CONFORMANCE = "tests/integration/test_cwl_conformance.py"
TOIL_TESTS = "tests/integration/test_toil_tests.py"
NO_TESTS_COLLECTED = 5  # pytest's exit code when the selection is empty


@dataclass(frozen=True)
class Shard:
    """One pytest of the suite: what it selects, and the labs it brings up."""

    name: str
    what: str
    markers: str
    keywords: str | None = None  # a pytest -k expression (test names), to split one kind of test
    paths: tuple[str, ...] = ("tests/integration",)
    ignore: tuple[str, ...] = ()
    # Appended to TEST_LAB_NAME: a Slurm lab of that name, a Mesos lab with '-mesos' after it.
    lab_suffix: str = ""

    @property
    def junit(self) -> Path:
        """Where this shard's results go."""
        return RESULTS / f"junit-{self.name}.xml"

    def pytest_args(self, selection: str | None, *, junit: bool = True) -> list[str]:
        """pytest's arguments for this shard, narrowed by `selection` (a marker expression)."""
        markers = self.markers if selection is None else f"({self.markers}) and ({selection})"
        return [
            "-p",
            "no:cacheprovider",  # pytests side by side would race on .pytest_cache
            "-m",
            markers,
            *(["-k", self.keywords] if self.keywords else []),
            *([f"--junitxml={self.junit}"] if junit else []),
            *(f"--ignore={path}" for path in self.ignore),
            *self.paths,
        ]

    def argv(self, python: str, selection: str | None) -> list[str]:
        """The pytest command of this shard."""
        return [python, "-m", "pytest", *self.pytest_args(selection)]

    def env(self, environ: Mapping[str, str]) -> dict[str, str]:
        """The environment this shard adds: its labs' name; only the first may reuse a user's lab."""
        base = environ.get("TEST_LAB_NAME", TEST_LAB_NAME)
        added = {"TEST_LAB_NAME": base + self.lab_suffix}
        if self.lab_suffix:
            # LAB_REUSE=1 lends the user's running lab to one shard only (the one without a suffix):
            # a fault struck there would strike the other shards' workflows too.
            added["LAB_REUSE"] = "0"
        return added


# The Mesos fault tests that make up about half of their time.
MESOS_FAULTS_HALF = "killed or partition"
# Balanced by the time each test took in a whole run side by side: since the health checks
# stopped taking a core (compose.yaml), the run is held by the schedulers' and Toil's timers,
# not the 2 cores (73-82% busy). A shard's tests run one after another on its labs, the
# fault tests healing what they broke before the next; no two shards share a lab
# (tests/unit/test_shards.py checks both). Pause and partition on Mesos, each held ~60 s by
# Toil's file job store (docs/faults.md), are in different shards.
SHARDS = (
    Shard(
        "slurm",
        "unit tests; the Slurm lab's tests but faults, scenarios and CWL conformance",
        "not mesos and not faults",
        paths=EVERYTHING,
        ignore=(*IMAGE_TESTS, SCENARIOS, CWL_CONFORMANCE),
    ),
    Shard(
        "slurm-2",
        "the Mesos image and build recipes (no lab); on a Slurm lab: CWL conformance, the quick scenarios",
        "not mesos",
        paths=(*IMAGE_TESTS, CWL_CONFORMANCE, SCENARIOS),
        lab_suffix="-2",
    ),
    Shard("slurm-faults", "faults on a Slurm lab", "not mesos", paths=(FAULTS,), lab_suffix="-faults"),
    Shard(
        "mesos",
        "the Mesos lab's tests but faults, CWL and Toil's own",
        "mesos and not faults",
        ignore=(CWL, TOIL_TESTS),
    ),
    Shard(
        "mesos-faults",
        "faults on a Mesos lab: kills, a partition, Toil's leader; Toil's own tests",
        "mesos",
        keywords=f"{MESOS_FAULTS_HALF} or test_toil_tests",
        paths=(FAULTS, TOIL_TESTS),
        lab_suffix="-faults",
    ),
    Shard(
        "mesos-faults-2",
        "faults on a Mesos lab: pauses, the master's restarts; CWL",
        "mesos",
        keywords=f"test_cwl or not ({MESOS_FAULTS_HALF})",
        paths=(FAULTS, CWL),
        lab_suffix="-faults-2",
    ),
)


@dataclass(frozen=True)
class Tally:
    """A shard's counts, from its JUnit XML."""

    passed: int = 0
    failed: int = 0
    skipped: int = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.passed + other.passed, self.failed + other.failed, self.skipped + other.skipped)

    def words(self) -> str:
        """'N passed, N failed, N skipped' (the closing line's form)."""
        return f"{self.passed} passed, {self.failed} failed, {self.skipped} skipped"


def tally(junit: str) -> Tally:
    """The counts of a JUnit XML document, as pytest writes it."""
    root = ET.fromstring(junit)
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    found = Tally()
    for suite in suites:
        tests = int(suite.get("tests", 0))
        failed = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped = int(suite.get("skipped", 0))
        found = found + Tally(tests - failed - skipped, failed, skipped)
    return found


@dataclass(frozen=True)
class Outcome:
    """How a shard's pytest ended."""

    shard: Shard
    returncode: int
    seconds: float
    counts: Tally = Tally()

    @property
    def ran_nothing(self) -> bool:
        """The selection left this shard no test."""
        return self.returncode == NO_TESTS_COLLECTED

    @property
    def ok(self) -> bool:
        """Passed, or had nothing to run."""
        return self.returncode == 0 or self.ran_nothing

    def line(self) -> str:
        """One row of the summary."""
        result = "nothing selected" if self.ran_nothing else ("passed" if self.returncode == 0 else "FAILED")
        return f"  {self.shard.name:<15} {result:<17} {self.counts.words():<36} {self.seconds:6.0f} s"


def chosen(names: Sequence[str]) -> tuple[Shard, ...]:
    """The shards of these names (all with none), or a clear error."""
    if not names:
        return SHARDS
    known = {shard.name: shard for shard in SHARDS}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise SystemExit(f"unknown shard {', '.join(unknown)}; choose from: {', '.join(known)}")
    return tuple(known[name] for name in names)


def verdict(outcomes: Sequence[Outcome]) -> int:
    """The run's exit code: 0 when every shard passed (or had nothing) and some test ran."""
    total = sum((outcome.counts for outcome in outcomes), Tally())
    if not all(outcome.ok for outcome in outcomes):
        return 1
    return 0 if total.passed + total.failed > 0 else NO_TESTS_COLLECTED


class Console:
    """Writes whole lines to the terminal from the shards' threads."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.lock = threading.Lock()

    def write(self, text: str) -> None:
        with self.lock:
            self.out.write(text)
            self.out.flush()


def run_shard(
    shard: Shard, selection: str | None, console: Console, live: bool, python: str = sys.executable
) -> Outcome:
    """Run one shard's pytest to its end, its output in test-results/<name>.log."""
    log_path = RESULTS / f"{shard.name}.log"
    shard.junit.unlink(missing_ok=True)
    started = time.monotonic()
    with log_path.open("w") as log:

        def on_line(line: str) -> None:
            log.write(line)
            log.flush()
            if live:
                console.write(line)

        result = process.run(
            shard.argv(python, selection), check=False, env=shard.env(os.environ), cwd=ROOT, on_line=on_line
        )
    counts = tally(shard.junit.read_text()) if shard.junit.exists() else Tally()
    outcome = Outcome(shard, result.returncode, time.monotonic() - started, counts)
    if not live:
        console.write(f"\n===== {shard.name}: {shard.what} ({log_path.relative_to(ROOT)}) =====\n")
        console.write(result.stdout)
    return outcome


def run(
    shards: Sequence[Shard],
    selection: str | None,
    console: Console,
    runner: Callable[..., Outcome] = run_shard,
) -> list[Outcome]:
    """Run the shards side by side; their outcomes, in the shards' order."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    outcomes: dict[str, Outcome] = {}

    def one(shard: Shard, live: bool) -> None:
        try:
            outcomes[shard.name] = runner(shard, selection, console, live)
        except Exception as error:  # counted as a failed shard, saying why
            console.write(f"\n===== {shard.name}: could not run: {error!r} =====\n")

    threads = [
        threading.Thread(target=one, args=(shard, index == 0), name=shard.name)
        for index, shard in enumerate(shards)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        # Ctrl-C reaches every pytest (one process group): each tears its labs down; wait for that.
        while thread.is_alive():
            try:
                thread.join()
            except KeyboardInterrupt:
                console.write(f"\n(interrupted: waiting for the shard {thread.name} to remove its labs)\n")
    missing = [shard for shard in shards if shard.name not in outcomes]
    for shard in missing:  # a runner that raised: count the shard as failed
        outcomes[shard.name] = Outcome(shard, 1, 0.0)
    return [outcomes[shard.name] for shard in shards]


class _Collected:
    """A pytest plugin that keeps the ids of the tests a session selected."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    def pytest_collection_finish(self, session: object) -> None:
        self.ids = [item.nodeid for item in getattr(session, "items", [])]


def selected(shards: Sequence[Shard], selection: str | None) -> dict[str, list[str]]:
    """The test ids each shard would run, and under "all" every test the selection leaves
    (collection only, in this process: no lab, no Docker)."""
    import pytest

    found = {}
    everything = Shard("all", "every test", "integration or not integration", paths=EVERYTHING)
    for shard in (*shards, everything):
        plugin = _Collected()
        with contextlib.redirect_stdout(io.StringIO()):
            pytest.main(
                [*shard.pytest_args(selection, junit=False), "--collect-only", "-q"], plugins=[plugin]
            )
        found[shard.name] = plugin.ids
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.shards", description=__doc__.split("\n")[0])
    parser.add_argument(
        "markers", nargs="?", help='a marker expression every shard is narrowed by ("not faults")'
    )
    parser.add_argument("--shard", action="append", default=[], help="run only this shard (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the shards, their commands and test counts")
    parser.add_argument("--json", action="store_true", help="with --list: each shard's test ids, as JSON")
    args = parser.parse_args(argv)
    shards = chosen(args.shard)
    if args.list:
        os.chdir(ROOT)
        found = selected(shards, args.markers)
        if args.json:
            print(json.dumps(found))
            return 0
        for shard in shards:
            command = shlex.join(shard.argv("python", args.markers))
            print(f"{shard.name} ({len(found[shard.name])} tests): {shard.what}\n  {command}")
        return 0
    console = Console(sys.stdout)
    console.write(
        f"{len(shards)} pytests side by side, no two on one lab; the first's output follows, "
        f"the others' as each ends (test-results/<shard>.log):\n"
        + "".join(f"  {shard.name:<15} {shard.what}\n" for shard in shards)
    )
    started = time.monotonic()
    outcomes = run(shards, args.markers, console)
    total = sum((outcome.counts for outcome in outcomes), Tally())
    console.write(
        f"\n===== shards ({time.monotonic() - started:.0f} s in all) =====\n"
        + "".join(outcome.line() + "\n" for outcome in outcomes)
        + f"total: {total.words()}\n"
    )
    return verdict(outcomes)


if __name__ == "__main__":
    sys.exit(main())
