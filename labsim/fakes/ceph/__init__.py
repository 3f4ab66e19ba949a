"""Rook-Ceph in the simulated lab: a Ceph cluster that behaves like Ceph under failures, and the faces Rook gives it.

The Ceph world (no Kubernetes in it):
- `model.py` the records (hosts, disks, OSDs, mons, mgrs, pools, PGs, crashes, mutes); `tunables.py` Ceph's
  options and timings; `crush.py` CRUSH-like straw2 placement per failure domain;
- `cluster.py` the mons' decisions in virtual time (failure reports, down/out, quorum, mgr failover, timecheck);
- `pgs.py` placement-group states, degraded/misplaced objects, recovery and backfill through reservations;
- `catalog.py` the health checks as data (codes, severities, texts); `health.py` the engine that raises them;
- `report.py` / `text.py` / `units.py` what `ceph ... [-f json]` prints; `cli.py` the `ceph` command itself.
Rook's face (on a labsim.fakes.kube cluster):
- `charts.py` the rook-ceph and rook-ceph-cluster charts for the fake helm; `rook.py` the operator (CephCluster
  to daemons and status); `rook_objects.py` its Deployments and Jobs; `rook_status.py` the CR status;
  `disks.py` the OSD prepare job's verdicts; `podsecurity.py` Talos's PodSecurity; `toolbox.py` the
  `rook-ceph-tools` container behind `kubectl exec` (labsim/fakes/kube_exec.py).
The wiring: `world.py` (a Rook operator on every Talos cluster, nodes going down and up); `testing.py` builds a
bare cluster for tests and the bench.
"""
