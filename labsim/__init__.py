"""labsim: describe a lab in Gherkin and one lab file, prove it in a simulator, then on the hardware.

Subpackages: `labsim.provisioners` (the lab code), `labsim.fakes` (the simulated lab), `labsim.steps` (the
pytest-bdd steps and targets), `labsim.signoff` (the acceptance report). See ARCHITECTURE.md for the rules
between them. `labsim.cli` is the `labsim` command; `labsim.plugin` the pytest plugin (entry point `pytest11`).
"""


def __getattr__(name: str) -> str:
    # Looked up on first use: reading the installed metadata takes ~50 ms, and every fake tool's launcher (a Python
    # process per talosctl, helm or cilium run) imports this package without needing it; so nothing is imported here.
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:  # the version setuptools-scm derived from the git tags when labsim was installed
        found = version("labsim")
    except PackageNotFoundError:  # imported from a source tree that was never installed
        found = "0+unknown"
    globals()["__version__"] = found
    return found
