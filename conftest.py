"""Registers the suite's plugins: targets and steps, and the sign-off report."""
pytest_plugins = [
    "labsim.steps.harness",
    "labsim.steps.fabric_steps",
    "labsim.steps.proxmox_steps",
    "labsim.steps.talos_steps",
    "labsim.steps.mesh_steps",
    "labsim.steps.ceph_steps",
    "labsim.steps.ceph_hands",
    "labsim.steps.host_steps",
    "labsim.steps.preflight",
    "labsim.signoff.plugin",
]
