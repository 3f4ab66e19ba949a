"""Registers the suite's plugins: targets and steps, and the sign-off report."""
pytest_plugins = [
    "steps.harness",
    "steps.fabric_steps",
    "signoff.plugin",
]
