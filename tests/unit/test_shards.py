"""The suite's shards (tests/shards.py): every test in exactly one, labs of their own, one verdict."""

from __future__ import annotations

import io
import itertools
import json
import subprocess
import sys
from collections import Counter

import pytest

from tests import shards
from tests.integration.conftest import BACKENDS
from tests.labs import lab_name
from tests.shards import SHARDS, Console, Outcome, Shard, Tally

JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests">
<testsuite name="pytest" errors="1" failures="2" skipped="3" tests="20" time="1.0">
</testsuite></testsuites>"""


def selected(selection: str | None) -> dict[str, list[str]]:
    """Each shard's test ids, and every test's ("all"), as `python -m tests.shards --list --json`
    gives them (collection only: no Docker)."""
    args = [] if selection is None else [selection]
    completed = subprocess.run(
        [sys.executable, "-m", "tests.shards", "--list", "--json", *args],
        capture_output=True,
        text=True,
        cwd=shards.ROOT,
        check=True,
    )
    found: dict[str, list[str]] = json.loads(completed.stdout)
    return found


@pytest.fixture(scope="module")
def whole() -> dict[str, list[str]]:
    """The shards of the whole suite, and every test ("all")."""
    return selected(None)


def test_every_test_is_in_exactly_one_shard(whole: dict[str, list[str]]) -> None:
    seen = Counter(test for name, tests in whole.items() if name != "all" for test in tests)
    assert sorted(seen) == sorted(whole["all"])
    assert len(whole["all"]) > 900
    assert [test for test, count in seen.items() if count > 1] == []


def test_the_fault_tests_run_on_labs_of_their_own(whole: dict[str, list[str]]) -> None:
    """A fault strikes its lab: the shards beside it never share one with it."""
    for shard in SHARDS:
        if any("test_faults.py" in test for test in whole[shard.name]):
            assert shard.lab_suffix, f"{shard.name}: fault tests need labs of their own"


def labs(shard: Shard, tests: list[str]) -> set[str]:
    """The test labs a shard's tests bring up (the `lab` fixture's batch system leads a test's id)."""
    base = shard.env({})["TEST_LAB_NAME"]
    return {
        lab_name(base, system)
        for test in tests
        for system in BACKENDS
        if test.startswith("tests/integration/") and f"[{system}" in test
    }


def test_shards_that_run_side_by_side_never_share_a_lab(whole: dict[str, list[str]]) -> None:
    each = {shard.name: labs(shard, whole[shard.name]) for shard in SHARDS}
    assert each["slurm"] == {"toil-lab-test"}
    assert each["mesos"] == {"toil-lab-test-mesos"}
    for one, two in itertools.combinations(SHARDS, 2):
        assert not each[one.name] & each[two.name], (one.name, two.name)
    assert shards.Shard("x", "", "faults", lab_suffix="-faults").env({"TEST_LAB_NAME": "mine"}) == {
        "TEST_LAB_NAME": "mine-faults",
        "LAB_REUSE": "0",
    }


def test_only_the_first_shard_may_reuse_the_users_lab() -> None:
    assert "LAB_REUSE" not in SHARDS[0].env({"LAB_REUSE": "1"})
    assert all(shard.env({"LAB_REUSE": "1"})["LAB_REUSE"] == "0" for shard in SHARDS[1:] if shard.lab_suffix)


def test_a_selection_narrows_the_shards_markers() -> None:
    shard = Shard("f", "", "faults and not mesos", keywords="kill")
    argv = shard.argv("py", "not slow")
    assert argv[:5] == ["py", "-m", "pytest", "-p", "no:cacheprovider"]
    assert argv[argv.index("-m", 2) + 1] == "(faults and not mesos) and (not slow)"
    assert argv[argv.index("-k") + 1] == "kill"
    assert argv[-1] == "tests/integration"
    assert "-k" not in Shard("g", "", "x").argv("py", None)


def test_the_counts_come_from_the_junit_xml() -> None:
    assert shards.tally(JUNIT) == Tally(passed=14, failed=3, skipped=3)
    assert (Tally(1, 2, 3) + Tally(1, 0, 1)).words() == "2 passed, 2 failed, 4 skipped"


def outcome(code: int, passed: int = 1) -> Outcome:
    return Outcome(SHARDS[0], code, 1.0, Tally(passed=passed))


def test_the_verdict_fails_when_any_shard_fails() -> None:
    assert shards.verdict([outcome(0), outcome(0)]) == 0
    assert shards.verdict([outcome(0), outcome(1, passed=0)]) == 1
    assert shards.verdict([outcome(0), outcome(shards.NO_TESTS_COLLECTED, passed=0)]) == 0


def test_a_run_that_ran_no_test_at_all_is_not_a_pass() -> None:
    assert shards.verdict([outcome(shards.NO_TESTS_COLLECTED, passed=0)]) == shards.NO_TESTS_COLLECTED


def test_shards_run_side_by_side_and_the_first_is_live() -> None:
    seen: list[tuple[str, str | None, bool]] = []

    def runner(shard: Shard, selection: str | None, console: Console, live: bool) -> Outcome:
        seen.append((shard.name, selection, live))
        return Outcome(shard, 0, 0.5, Tally(passed=2))

    picked = (SHARDS[0], SHARDS[2])
    outcomes = shards.run(picked, "not faults", Console(io.StringIO()), runner=runner)
    assert [o.shard.name for o in outcomes] == [SHARDS[0].name, SHARDS[2].name]
    assert sorted(seen) == sorted(
        [(SHARDS[0].name, "not faults", True), (SHARDS[2].name, "not faults", False)]
    )


def test_a_shard_whose_runner_raised_counts_as_failed() -> None:
    def runner(shard: Shard, selection: str | None, console: Console, live: bool) -> Outcome:
        raise RuntimeError("boom")

    outcomes = shards.run((SHARDS[1],), None, Console(io.StringIO()), runner=runner)
    assert [o.returncode for o in outcomes] == [1]
    assert shards.verdict(outcomes) == 1


def test_an_unknown_shard_is_refused_with_the_known_ones() -> None:
    with pytest.raises(SystemExit, match="choose from: slurm, slurm-2"):
        shards.chosen(["nope"])
    assert shards.chosen(["mesos"]) == tuple(s for s in SHARDS if s.name == "mesos")
