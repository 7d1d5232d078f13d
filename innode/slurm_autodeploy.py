"""Auto-deployment on Slurm: a Toil batch system that ships the user's code to workers.

Toil's own Slurm batch system does not auto-deploy: it expects the workflow's code at
the same path on every node. `slurm_autodeploy` is Toil's Slurm batch system plus what
Toil's Mesos executor does for a worker: the leader gives it the user script as a
`toil.resource.Resource` (saved in the job store), and every worker process registers
that resource before Toil's worker loads a job, so Toil downloads the code from the
job store into a node-local directory and imports it from there.

The resource travels inside the worker's command line, as a pickled worker context
(`AbstractBatchSystem.getWorkerContexts`), not through `sbatch --export`: a resource's
serialized form holds commas, which `--export` would split. Toil's Slurm batch system
submits `--wrap=exec <worker command>`, and the context rides in that one command.

The plugin module `toil_batch_system_lab` (innode/toil_plugin/) registers the batch system
with Toil in every node.
"""

from __future__ import annotations

import os
from types import TracebackType
from typing import Any

from innode.layout import DEPLOYED_DIR

BATCH_SYSTEM_NAME = "slurm_autodeploy"
# Toil's plain Slurm batch system, which this one extends.
PLAIN_BATCH_SYSTEM_NAME = "slurm"

# Node-local home of downloaded user code, in the node's own state volume; Toil keys
# each download by its content hash, so a changed script is downloaded afresh.
RESOURCE_ROOT = DEPLOYED_DIR
RESOURCE_ROOT_ENV = "JTRES_ROOT"  # toil.resource.Resource.rootDirPathEnvName


class DeployedCode:
    """A worker context: registers the user's code resource before Toil's worker runs.

    Pickled on the leader into each worker's command line; entered in the worker
    process on the node where the job runs.
    """

    def __init__(self, resource: str, root: str = RESOURCE_ROOT) -> None:
        self.resource = resource  # Resource.pickle(): "<class path>:<json>"
        self.root = root

    def __enter__(self) -> DeployedCode:
        from toil.resource import Resource

        os.makedirs(self.root, mode=0o700, exist_ok=True)
        os.environ.setdefault(RESOURCE_ROOT_ENV, self.root)
        Resource.prepareSystem()
        Resource.unpickle(self.resource).register()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # The downloaded code stays: the next worker process on this node reuses it.
        return None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DeployedCode) and (self.resource, self.root) == (other.resource, other.root)

    def __hash__(self) -> int:
        return hash((self.resource, self.root))


def batch_system_class() -> type[Any]:
    """Toil's Slurm batch system, extended to auto-deploy the user script."""
    from toil.batchSystems.slurm import SlurmBatchSystem

    class AutoDeployingSlurmBatchSystem(SlurmBatchSystem):  # type: ignore[misc]
        """Slurm, plus the user's code shipped to every worker process."""

        user_script: Any = None

        @classmethod
        def supportsAutoDeployment(cls) -> bool:  # noqa: N802 - Toil's name
            return True

        @classmethod
        def add_options(cls, parser: Any) -> None:
            # SlurmBatchSystem adds the --slurm* options already; adding them again
            # would be an argparse conflict.
            return None

        def setUserScript(self, userScript: Any) -> None:  # noqa: N802, N803 - Toil's names
            self.user_script = userScript

        def getWorkerContexts(self) -> list[Any]:  # noqa: N802 - Toil's name
            contexts = list(super().getWorkerContexts())
            if self.user_script is not None:
                contexts.append(DeployedCode(self.user_script.pickle()))
            return contexts

    return AutoDeployingSlurmBatchSystem
