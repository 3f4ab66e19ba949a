"""The pytest plugin behind `pip install labsim` (entry point `pytest11: labsim`).

It registers the suite: the targets and tag rules (`labsim.steps.harness`), every step module, the preflight,
and the sign-off plugin; and it collects `.feature` files as test modules, so a folder with only `features/`
and a lab file runs with plain `pytest` (no conftest.py, no `scenarios()` module to write).
"""
from __future__ import annotations

import types
from pathlib import Path

import pytest

from labsim import collector
from labsim.labfile import ENV, INI, find_lab

pytest_plugins = [
    "labsim.steps.harness",
    "labsim.steps.lab_run",
    "labsim.steps.common",
    "labsim.steps.fabric_steps",
    "labsim.steps.proxmox_steps",
    "labsim.steps.talos_steps",
    "labsim.steps.mesh_steps",
    "labsim.steps.ceph_steps",
    "labsim.steps.ceph_hands",
    "labsim.steps.host_steps",
    "labsim.steps.cloud_steps",
    "labsim.steps.preflight",
    "labsim.signoff.plugin",
    "labsim.signoff.secret_filter",
    "labsim.schedule",
]


class FeatureFile(pytest.Module):
    """A `.feature` file collected as a module whose tests are its scenarios (pytest-bdd's `scenarios()`)."""

    def _getobj(self) -> types.ModuleType:
        module = types.ModuleType(f"labsim_features.{self.path.stem}")
        module.__file__ = str(self.path)
        # scenarios() binds one test function per scenario into its caller's namespace: run it in this module's.
        code = compile("from pytest_bdd import scenarios\n"
                       "scenarios(__file__, features_base_dir=__features_base__)\n", str(self.path), "exec")
        module.__dict__["__features_base__"] = str(self.path.parent)
        exec(code, module.__dict__)   # noqa: S102 - fixed code above, not input
        from labsim.steps.lab_run import bind

        bind(module, self.config)     # the scenarios' subjects from the lab file (labsim/steps/subjects.py)
        return module


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(INI, f"the lab file when --lab is not given (relative to this ini file; ${ENV} wins over it)",
                  default="")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Choose the lab file once, before anything reads --lab (labsim/labfile.py says how)."""
    collector.pace()
    inipath = config.inipath
    value = config.getini(INI)
    choice = find_lab(config.option.lab, cwd=config.invocation_params.dir, rootdir=config.rootpath,
                      ini=(str(value), inipath.parent) if value and inipath is not None else None)
    # A lab file that is not there is refused after collection, once, like any other that cannot be used
    # (labsim/steps/lab_run.py: exit status 2, the sign-off REJECTED with the reason).
    config.option.lab = str(choice.path)
    config._labsim_lab_source = choice.source  # shown on the console's first line (labsim.signoff.console)


def pytest_signoff_suite(config: pytest.Config, collected: list[str]) -> list[str]:
    """The suite a run is judged against: every `.feature` file in the features folders it collected from (the
    rootdir's `features/` when a collected file is below it, else the collected file's own folder), so a run of
    some files only, like `-k`, is PARTIAL in the sign-off (labsim.signoff.model.judge)."""
    top = (config.rootpath / "features").resolve()
    folders = set()
    for path in map(Path, collected):
        folders.add(top if path.is_relative_to(top) else path.parent)
    return sorted(str(f) for folder in folders for f in folder.rglob("*.feature"))


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> FeatureFile | None:
    if file_path.suffix == ".feature":
        return FeatureFile.from_parent(parent, path=file_path)
    return None
