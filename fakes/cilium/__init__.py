"""Cilium in the simulated lab.

- `chart.py`: the cilium Helm chart as the fake `helm` renders it (the objects that matter: agent
  DaemonSet, operator Deployment, cilium-config, cilium-ca, clustermesh-apiserver) and the values the
  chart itself refuses. Imported by the fake helm in its own process: no world imports.
- `onhost.py`: what an agent meets on a Talos node (capabilities, cgroup mounts, KubePrism, kube-proxy):
  the failures and symptoms the real agents show, as data.
- `agents.py`: the world side: agents start where the DaemonSet's pods are, and once they run on a node
  the node's CNI is ready (a CNI provider for fakes.talos).

Issue 5 (ClusterMesh, the `cilium` CLI) grows this package: the mesh state belongs next to `agents.py`.
"""
