"""Collects every .feature file under features/: nothing per feature to write here."""
from pytest_bdd import scenarios

scenarios(".")
