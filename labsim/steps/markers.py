"""Feature tags the suite knows, as pytest markers (pytest-bdd turns `@fabric` into `pytest.mark.fabric`).

Unknown tags are refused (`--strict-markers`), so a typo in a feature never silently drops a rule.
"""
MARKERS: dict[str, str] = {
    "fabric": "the RouterOS VLAN fabric",
    "proxmox": "Proxmox VE hosts and the cluster VMs",
    "talos": "the Talos clusters",
    "mesh": "Cilium ClusterMesh and global services",
    "ceph": "Rook-Ceph storage",
    "picluster": "the Raspberry Pi RKE2 cluster",
    "cloud": "Talos clusters on cloud servers over a tailnet",
    "failover": "the round-robin DNS name kept by the failover watcher",
    "backup": "backups to the lab's S3 object storage",
    "intent": "lab file checks that run before any device is touched",
    "idempotence": "a second apply must change nothing",
    "drift": "changes made by hand are found and repaired",
    "destructive": "fault drills: only with --allow-destructive against a real lab",
    "lab_only": "needs real hardware: skipped in the simulator as a declared deviation",
    "sim_only": "needs the simulator's fault injection: skipped against a real lab",
    "writes": "provisions (writes): only with --apply against a real lab",
    "probes": "traffic checks that run probe pods (failover, canary split, policy): only with --allow-probes against "
              "a real lab; each scenario removes its probe Jobs and the probe namespace it created",
    "as_found": "verifies the lab as found, read-only: runs in a plain `make lab-verify` (its `is provisioned` steps "
                "build the simulated lab, and only look at a real one without --apply)",
    "hosts": "host checks over SSH with testinfra (the Proxmox host) and of the operator's workstation",
    "workstation": "the operator's workstation: tools on PATH at the versions the lab file pins",
    "kube_api": "reads the Kubernetes API: skipped, as a declared deviation, while the target has no Kubernetes client",
    "not_in_lab": "set by the suite, not written in features: the lab file has no subject for this scenario "
                  "(skipped as the declared deviation \"not in this lab: ...\", labsim/steps/lab_run.py)",
}

# Why a scenario with this tag does not run on a target: (tag, target) -> reason.
SKIPS: dict[tuple[str, str], str] = {
    ("lab_only", "sim"): "needs real hardware; declared deviation in the simulator",
    ("sim_only", "lab"): "uses the simulator's fault injection; not available against a real lab",
    ("talos", "kind"): "kind clusters are not Talos: talosctl has no machine to reach (the mesh and Ceph run in kind)",
}
