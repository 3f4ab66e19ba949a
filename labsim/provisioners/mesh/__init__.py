"""Cilium ClusterMesh across the lab's Talos clusters, from the lab file's `mesh:` section.

- `run.py`: plan / apply / verify (plan checks, shared CA, settings, enable, connect, wait, the lab's services)
- `workload.py`: the services under test: the lab file's, or the suite's own probe services
- `checks.py`: what the mesh features verify about traffic, status and refusals, as results
- `settings.py`: each member's Helm values for the mesh, and the CA copied from the source cluster
- `connect.py`: `cilium clustermesh enable/connect/status`, idempotent
- `demo.py`: the echo backends, global services and the Envoy canary, as manifests
- `probe.py`, `traffic.py`, `stats.py`: traffic probes as Kubernetes Jobs, their logs, splits and timelines
- `context.py`, `kube.py`: the tools, clock and Kubernetes clients a run needs
"""
