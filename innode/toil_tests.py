"""What `lab toil-tests` asks of a Toil installation: where it is, what it is, which Python runs it.

The same questions go to a node's Toil (`python3 -m innode.toil_tests facts` in the node) and to
the host's test runner (its virtualenv's Python, with the checkout on its path), so that the
runner can prove it imports the very Toil the lab installed: the digest covers every file of
the `toil` package (its tests included), not only its version string, which a source build
may share with a release.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

PACKAGE = "toil"
# What the digest leaves out: bytecode, which each interpreter writes as it likes.
SKIPPED_DIRS = ("__pycache__",)
SKIPPED_SUFFIXES = (".pyc", ".pyo")


def python_name(version: Sequence[int] | None = None) -> str:
    """The interpreter's name as virtualenv --python and a venv's lib/ folder take it: python3.11."""
    major, minor = (version or sys.version_info)[:2]
    return f"python{major}.{minor}"


def package_digest(package_dir: Path) -> str:
    """sha256 of every file under a package (relative path and contents), bytecode left out."""
    hasher = hashlib.sha256()
    files = []
    for folder, dirs, names in os.walk(package_dir):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
        files += [Path(folder) / name for name in names if not name.endswith(SKIPPED_SUFFIXES)]
    for path in sorted(files, key=lambda p: p.relative_to(package_dir).as_posix()):
        hasher.update(path.relative_to(package_dir).as_posix().encode() + b"\0")
        hasher.update(hashlib.sha256(path.read_bytes()).digest())
    return hasher.hexdigest()


def facts() -> dict[str, Any]:
    """This interpreter's Toil: its version, install folder, digest; and the interpreter's name."""
    import toil
    import toil.version

    package_dir = Path(toil.__file__).resolve().parent
    return {
        "version": toil.version.version,
        "site": str(package_dir.parent),
        "digest": package_digest(package_dir),
        "python": python_name(),
        "executable": sys.executable,
    }


def main(argv: Sequence[str]) -> int:
    """`facts`: this interpreter's Toil, as JSON."""
    if list(argv) != ["facts"]:
        print("usage: python3 -m innode.toil_tests facts", file=sys.stderr)
        return 2
    print(json.dumps(facts(), sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
