"""The simulator's pace for the garbage collector (labsim/collector.py): set where a process keeps CPython's default,
never over a choice of its own."""
from __future__ import annotations

import gc

import pytest

from labsim import collector


@pytest.fixture
def thresholds():
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)


def test_a_default_young_generation_gets_the_simulators(thresholds):
    gc.set_threshold(collector.DEFAULT_YOUNG, 10, 10)
    collector.pace()
    assert gc.get_threshold() == (collector.YOUNG, 10, 10)


def test_a_young_generation_chosen_elsewhere_stays(thresholds):
    gc.set_threshold(2_000, 10, 10)
    collector.pace()
    assert gc.get_threshold() == (2_000, 10, 10)


def test_a_pytest_run_with_labsim_has_the_simulators_pace():
    assert gc.get_threshold()[0] == collector.YOUNG   # (this process: the plugin's pytest_configure)
