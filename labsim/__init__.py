"""labsim: describe a lab in Gherkin and one lab file, prove it in a simulator, then on the hardware.

Subpackages: `labsim.provisioners` (the lab code), `labsim.fakes` (the simulated lab), `labsim.steps` (the
pytest-bdd steps and targets), `labsim.signoff` (the acceptance report). See ARCHITECTURE.md for the rules
between them. `labsim.cli` is the `labsim` command; `labsim.plugin` the pytest plugin (entry point `pytest11`).
"""
from importlib.metadata import PackageNotFoundError, version

try:  # the version setuptools-scm derived from the git tags when labsim was installed
    __version__ = version("labsim")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"
