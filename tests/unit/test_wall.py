"""The wall between host and node: in-node code imports only the standard library, Toil and itself,
and only it (with images/) goes into an image."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INNODE = ROOT / "innode"
ALLOWED = {"innode", "toil", "__future__"}


def imported_modules(path: Path) -> set[str]:
    """The top-level names of every module a file imports (at any depth of the file)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


IN_NODE_FILES = sorted(INNODE.rglob("*.py"))


@pytest.mark.parametrize("path", IN_NODE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_in_node_code_imports_the_standard_library_toil_and_itself_only(path: Path) -> None:
    foreign = imported_modules(path) - ALLOWED - set(sys.stdlib_module_names)
    assert not foreign, f"{path.relative_to(ROOT)} imports {sorted(foreign)}: in-node code may not"


def test_the_rule_sees_a_host_import(tmp_path: Path) -> None:
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text("import os\n\n\ndef f():\n    from lab.process import run\n    import yaml\n")
    assert imported_modules(sneaky) - ALLOWED - set(sys.stdlib_module_names) == {"lab", "yaml"}


def test_only_images_and_in_node_code_reach_a_build() -> None:
    lines = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()]
    rules = [line for line in lines if line and not line.startswith("#")]
    assert rules[0] == "*"
    let_in = {rule.removeprefix("!").rstrip("/") for rule in rules if rule.startswith("!")}
    # build/mesos/source: the Mesos source `lab build-mesos` staged (images/mesos-build).
    assert let_in == {"images", "innode", "build/wheelhouse", "build/mesos/package", "build/mesos/source"}


def test_no_python_of_the_nodes_lives_outside_innode() -> None:
    assert not sorted((ROOT / "images").rglob("*.py"))


def test_the_images_copy_innode_and_nothing_of_the_host_package() -> None:
    for dockerfile in (ROOT / "images").rglob("Dockerfile"):
        copies = [line for line in dockerfile.read_text().splitlines() if line.startswith("COPY ")]
        sources = {line.split()[1] for line in copies if not line.startswith("COPY --from")}
        assert not [s for s in sources if s == "lab" or s.startswith("lab/")], (dockerfile, sources)
