"""The names of the labs the test suite brings up (tests/integration/conftest.py, tests/shards.py)."""

from __future__ import annotations

# TEST_LAB_NAME's default: `make test`'s shards add a suffix to it, one lab name per shard.
TEST_LAB_NAME = "toil-lab-test"


def lab_name(base: str, batch_system: str) -> str:
    """The name of a test lab: `base` for Slurm's, with '-mesos' after it for Mesos's."""
    return base if batch_system == "slurm" else f"{base}-{batch_system}"
