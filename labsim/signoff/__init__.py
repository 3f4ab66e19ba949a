"""The acceptance sign-off: a pytest plugin that records every scenario, step, result and piece of evidence, and
writes one verifiable bundle per run.

Wiring: ``pytest_plugins = ["labsim.signoff.plugin"]`` in the root conftest.py (this package is imported there alone;
it never imports provisioners, fakes or steps).

Options: ``--signoff DIR`` (write ``DIR/<run-id>/``), ``--waivers FILE``, ``--signing-key PATH``,
``--deviation TAG=REASON`` (repeatable). Reads ``--lab``, ``--target`` and ``--sim-seed`` when declared.
Fixture for steps: ``evidence`` (``attach``, ``finding``, ``timeline``, ``lab_version``).
Hooks for plugins: ``pytest_signoff_deviations(config) -> dict``, ``pytest_signoff_secrets(config) -> list``,
``pytest_signoff_suite(config, collected) -> list`` (the feature files of the whole suite).

Verdict: ACCEPTED only when nothing failed, every skip is a declared deviation (by tag) or a valid waiver, at least
one scenario ran, and every scenario of the suite ran; PARTIAL when nothing failed but some were deselected (``-k``,
``-m``, ``--deselect``, ``--lf``) or not collected (the reports list them); otherwise REJECTED with the reasons.

Check a bundle: ``python -m labsim.signoff verify DIR/<run-id> [--allowed-signers FILE]``. A signature checked against
the key inside the bundle proves integrity only; pin the signer's key with ``--allowed-signers`` to prove identity.
"""
