"""Registers the suite's plugins: targets and steps, and the sign-off report."""
pytest_plugins = [
    "steps.harness",
    "steps.fabric_steps",
    "steps.proxmox_steps",
    "steps.talos_steps",
    "steps.mesh_steps",
    "steps.ceph_steps",
    "steps.ceph_hands",
    "steps.host_steps",
    "steps.preflight",
    "signoff.plugin",
]
