"""labsim: describe a lab in Gherkin and one lab file, prove it in a simulator, then on the hardware.

Subpackages: `labsim.provisioners` (the lab code), `labsim.fakes` (the simulated lab), `labsim.steps` (the
pytest-bdd steps and targets), `labsim.signoff` (the acceptance report). See ARCHITECTURE.md for the rules
between them.
"""
