"""Hooks the sign-off plugin offers to other plugins (registered through ``pytest_addhooks``).

Implement them in a conftest.py or a plugin::

    def pytest_signoff_deviations(config):
        return {"lab_only": "needs real hardware"}

    def pytest_signoff_secrets(config):
        return [os.environ["SOME_TOKEN"]]
"""

from __future__ import annotations

import pytest


@pytest.hookspec
def pytest_signoff_deviations(config: pytest.Config) -> dict[str, str]:
    """Declare deviations: ``{tag: reason}``. A skipped scenario carrying one of these tags is accounted for.

    Every implementation is called (after collection); the dictionaries are merged, options given with
    ``--deviation TAG=REASON`` win on conflicts.
    """


@pytest.hookspec
def pytest_signoff_secrets(config: pytest.Config) -> list[str]:
    """Return secret values that must never appear in a sign-off bundle (each is replaced by ``[REDACTED]``).

    Called at session start and again after collection; values from every implementation are used.
    """


@pytest.hookspec
def pytest_signoff_suite(config: pytest.Config, collected: list[str]) -> list[str]:
    """Return the ``.feature`` files that make up the whole suite of this run (absolute paths).

    ``collected`` holds the feature files this run collected. A scenario of a suite file that the run did not
    collect (only some files were named) is listed as not run, and makes the verdict PARTIAL at best, like a
    deselected one (``-k``, ``-m``, ``--deselect``). Without an implementation only deselected items count.
    """
