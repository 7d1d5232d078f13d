"""innode/toil_facts.py: what the lab asks of a Toil installation, on both sides of the wall."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from innode import toil_facts


def test_python_name() -> None:
    assert toil_facts.python_name((3, 11, 7)) == "python3.11"


def package(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_the_digest_covers_names_and_contents_but_not_bytecode(tmp_path: Path) -> None:
    one = package(tmp_path / "a" / "toil", {"__init__.py": "", "test/src/x.py": "import time\n"})
    two = package(tmp_path / "b" / "toil", {"__init__.py": "", "test/src/x.py": "import time\n"})
    (two / "test" / "__pycache__").mkdir()
    (two / "test" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0\1")
    assert toil_facts.package_digest(one) == toil_facts.package_digest(two)
    (two / "test" / "src" / "x.py").write_text("\n")
    assert toil_facts.package_digest(one) != toil_facts.package_digest(two)
    three = package(tmp_path / "c" / "toil", {"__init__.py": "", "test/src/y.py": "import time\n"})
    assert toil_facts.package_digest(one) != toil_facts.package_digest(three)


def test_facts_of_this_interpreters_toil(capsys: pytest.CaptureFixture[str]) -> None:
    assert toil_facts.main(["facts"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert set(facts) == {"version", "site", "digest", "python", "executable"}
    assert (Path(facts["site"]) / "toil" / "__init__.py").exists()
    assert facts["python"].startswith("python3.")
    assert toil_facts.main([]) == 2


def test_tree_lists_a_process_and_all_under_it() -> None:
    parent_of = {1: 0, 10: 1, 11: 10, 12: 10, 13: 11, 20: 1}
    assert toil_facts.tree(10, parent_of) == [10, 11, 12, 13]
    assert toil_facts.tree(99, parent_of) == [99]


def test_parents_read_from_proc_even_with_spaces_in_the_name(tmp_path: Path) -> None:
    for pid, stat in {"7": "7 (mesos agent) S 3 7 7 0", "9": "9 (sh) Z 7 9 9 0", "self": "x"}.items():
        (tmp_path / pid).mkdir()
        (tmp_path / pid / "stat").write_text(stat)
    assert toil_facts.parents(tmp_path) == {7: 3, 9: 7}
    assert toil_facts.alive(7, tmp_path) and not toil_facts.alive(9, tmp_path)
    assert not toil_facts.alive(8, tmp_path)


def test_stop_ends_the_run_and_everything_under_it(tmp_path: Path) -> None:
    pidfile = tmp_path / "run.pid"
    # As mesos_family starts pytest: a shell that records its pid, with children of its own.
    run = subprocess.Popen(["sh", "-c", 'echo $$ > "$0"; sleep 60 & sleep 60; rm -f "$0"', str(pidfile)])
    deadline = time.monotonic() + 10
    while not (pidfile.exists() and len(toil_facts.tree(run.pid, toil_facts.parents())) == 3):
        assert time.monotonic() < deadline, "the shell did not start its children"
        time.sleep(0.05)
    stopped = toil_facts.stop(pidfile, grace=5)
    assert stopped[0] == run.pid and len(stopped) == 3
    assert run.wait(timeout=10) != 0
    assert not any(toil_facts.alive(pid) for pid in stopped)
    assert not pidfile.exists()


def test_stop_leaves_a_process_that_did_not_write_the_file(tmp_path: Path) -> None:
    pidfile = tmp_path / "stale.pid"
    pidfile.write_text(f"{os.getpid()}\n")  # a stale record: that pid is someone else's now
    assert toil_facts.stop(pidfile) == []
    assert not pidfile.exists()
    assert toil_facts.stop(tmp_path / "missing.pid") == []
