"""innode/slurm_autodeploy.py: the worker context that registers the user's code, and slurm_autodeploy."""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib
import os
import pickle
import sys
from pathlib import Path
from typing import Any

import pytest
from toil.batchSystems import registry
from toil.batchSystems.slurm import SlurmBatchSystem
from toil.lib import plugins
from toil.resource import DirectoryResource, FileResource, Resource
from toil.worker import in_contexts

from innode import slurm_autodeploy as deploy
from innode.slurm_autodeploy import DeployedCode

# Where the leader had the workflow; Toil keys the resource by a hash of this path.
LEADER_PATH = "/home/lab/workflows/fanout/fanout.py"
PATH_HASH = hashlib.md5(LEADER_PATH.encode()).hexdigest()
NODE_DIR = Path(__file__).resolve().parents[3] / "innode" / "toil_plugin"
PLUGIN = "toil_batch_system_lab"


def resource(kind: type[Resource] = FileResource) -> Resource:
    """A resource as the leader makes it, without a job store behind it."""
    return kind(
        name=os.path.basename(LEADER_PATH),
        pathHash=PATH_HASH,
        url=f"file:///data/jobstores/fanout-1/files/shared/{PATH_HASH}",
        contentHash="5d41402abc4b2a76b9719d911017c592",
    )


@pytest.fixture
def clean_resource_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No JTRES_ variables before the test; whatever it sets is removed after it."""
    monkeypatch.delenv(deploy.RESOURCE_ROOT_ENV, raising=False)
    monkeypatch.delenv(f"{Resource.resourceEnvNamePrefix}{PATH_HASH}", raising=False)


def test_the_resource_root_variable_is_toils() -> None:
    assert deploy.RESOURCE_ROOT_ENV == Resource.rootDirPathEnvName == "JTRES_ROOT"
    assert deploy.BATCH_SYSTEM_NAME == "slurm_autodeploy"


def test_deployed_code_pickles_and_unpickles() -> None:
    context = DeployedCode(resource().pickle(), root="/var/lib/lab/toil-work/deployed")
    copy = pickle.loads(pickle.dumps(context))
    assert copy == context
    assert hash(copy) == hash(context)
    assert (type(copy), copy.resource, copy.root) == (DeployedCode, context.resource, context.root)


def test_deployed_code_equality_covers_resource_and_root() -> None:
    code = resource().pickle()
    assert DeployedCode(code) == DeployedCode(code)
    assert DeployedCode(code).root == deploy.RESOURCE_ROOT
    assert DeployedCode(code) != DeployedCode(code, root="/elsewhere")
    assert DeployedCode(code) != DeployedCode(resource(DirectoryResource).pickle())
    assert DeployedCode(code) != code


@pytest.mark.parametrize("kind", [FileResource, DirectoryResource])
def test_entering_registers_the_resource(
    kind: type[Resource], tmp_path: Path, clean_resource_env: None
) -> None:
    shipped = resource(kind)
    root = tmp_path / "deployed"
    with DeployedCode(shipped.pickle(), root=str(root)) as entered:
        assert isinstance(entered, DeployedCode)
        assert root.is_dir()
        assert os.environ["JTRES_ROOT"] == str(root)
        assert os.environ[f"JTRES_{PATH_HASH}"] == shipped.pickle()
        # What Toil's worker asks when it loads the user's module.
        found = Resource.lookup(LEADER_PATH)
    assert (type(found), found) == (kind, shipped)
    assert found is not None and found.localDirPath == str(root / shipped.contentHash)
    assert Resource.lookup("/home/lab/workflows/other.py") is None


def test_toils_worker_enters_the_context_from_its_command_line(
    tmp_path: Path, clean_resource_env: None
) -> None:
    """As the leader sends it (`--context`, base64 of a pickle) and the worker enters it."""
    shipped = resource()
    root = tmp_path / "deployed"
    argument = base64.b64encode(pickle.dumps(DeployedCode(shipped.pickle(), root=str(root)))).decode()
    with in_contexts([argument]):
        assert Resource.lookup(LEADER_PATH) == shipped
    assert root.is_dir()


# --- the batch system ------------------------------------------------------------


def test_the_batch_system_is_toils_slurm_with_auto_deployment() -> None:
    cls = deploy.batch_system_class()
    assert issubclass(cls, SlurmBatchSystem)
    assert cls.supportsAutoDeployment() is True
    assert SlurmBatchSystem.supportsAutoDeployment() is False


def test_the_batch_system_adds_no_options_of_its_own() -> None:
    # Toil adds SlurmBatchSystem's options too; adding them twice would be an argparse conflict.
    parser = argparse.ArgumentParser()
    before = [action.dest for action in parser._actions]
    deploy.batch_system_class().add_options(parser)
    assert [action.dest for action in parser._actions] == before
    SlurmBatchSystem.add_options(parser)  # still free to take Slurm's own
    assert "slurm_partition" in [action.dest for action in parser._actions]


@pytest.fixture
def batch_system(monkeypatch: pytest.MonkeyPatch) -> Any:
    """An instance without SlurmBatchSystem.__init__ (which needs a Toil config and Slurm)."""
    monkeypatch.setattr(SlurmBatchSystem, "getWorkerContexts", lambda self: ["cleanup"])
    cls = deploy.batch_system_class()
    return cls.__new__(cls)


def test_worker_contexts_carry_the_user_script(batch_system: Any) -> None:
    shipped = resource()
    batch_system.setUserScript(shipped)
    assert batch_system.user_script is shipped
    assert batch_system.getWorkerContexts() == ["cleanup", DeployedCode(shipped.pickle())]


def test_worker_contexts_without_a_user_script(batch_system: Any) -> None:
    assert batch_system.getWorkerContexts() == ["cleanup"]


# --- the plugin module in the node image ----------------------------------------


def test_the_plugin_registers_slurm_autodeploy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(NODE_DIR))
    monkeypatch.delitem(sys.modules, PLUGIN, raising=False)
    # A registry of Toil's own batch systems, restored after the test.
    own = {k: v for k, v in plugins._registry["batch_system"].items() if k != "slurm_autodeploy"}
    monkeypatch.setitem(plugins._registry, "batch_system", own)
    assert "slurm_autodeploy" not in plugins._registry["batch_system"]

    importlib.import_module(PLUGIN)

    assert "slurm_autodeploy" in registry.get_batch_systems()
    cls = registry.get_batch_system("slurm_autodeploy")
    assert issubclass(cls, SlurmBatchSystem)
    assert cls.supportsAutoDeployment() is True
    assert (cls.__module__, cls.__qualname__) == (
        "innode.slurm_autodeploy",
        "batch_system_class.<locals>.AutoDeployingSlurmBatchSystem",
    )
    assert registry.get_batch_system("slurm") is SlurmBatchSystem
