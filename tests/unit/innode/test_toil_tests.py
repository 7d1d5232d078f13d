"""innode/toil_tests.py: what the lab asks of a Toil installation, on both sides of the wall."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from innode import toil_tests


def test_python_name() -> None:
    assert toil_tests.python_name((3, 11, 7)) == "python3.11"


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
    assert toil_tests.package_digest(one) == toil_tests.package_digest(two)
    (two / "test" / "src" / "x.py").write_text("\n")
    assert toil_tests.package_digest(one) != toil_tests.package_digest(two)
    three = package(tmp_path / "c" / "toil", {"__init__.py": "", "test/src/y.py": "import time\n"})
    assert toil_tests.package_digest(one) != toil_tests.package_digest(three)


def test_facts_of_this_interpreters_toil(capsys: pytest.CaptureFixture[str]) -> None:
    assert toil_tests.main(["facts"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert set(facts) == {"version", "site", "digest", "python", "executable"}
    assert (Path(facts["site"]) / "toil" / "__init__.py").exists()
    assert facts["python"].startswith("python3.")
    assert toil_tests.main([]) == 2
