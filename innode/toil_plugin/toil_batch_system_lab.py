"""Toil batch-system plugin of toil-lab: registers `slurm_autodeploy` (see innode/slurm_autodeploy.py).

Toil imports every installed module whose name starts with `toil_batch_system_`.
"""

from toil.batchSystems.registry import add_batch_system_factory

from innode.slurm_autodeploy import BATCH_SYSTEM_NAME, batch_system_class

add_batch_system_factory(BATCH_SYSTEM_NAME, batch_system_class)
