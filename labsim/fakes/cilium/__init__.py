"""Cilium in the simulated lab.

- `chart.py`: the cilium Helm chart as the fake `helm` renders it (the objects that matter: agent
  DaemonSet, operator Deployment, cilium-config, cilium-ca, clustermesh-apiserver) and the values the
  chart itself refuses. Imported by the fake helm in its own process: no world imports.
- `onhost.py`: what an agent meets on a Talos node (capabilities, cgroup mounts, KubePrism, kube-proxy):
  the failures and symptoms the real agents show, as data.
- `agents.py`: the world side: agents start where the DaemonSet's pods are, and once they run on a node
  the node's CNI is ready (a CNI provider for labsim.fakes.talos).

ClusterMesh (issue 5), computed from the clusters' objects and the fabric, never declared:
- `view.py`: one cluster's Cilium as its objects configure it; `members.py`: the clusters looked at.
- `mesh.py`: links from agents and KVStoreMesh to remote clustermesh-apiservers, caches and cacheTTL.
- `services.py`, `datapath.py`, `envoy.py`: global services, Cilium's backend selection, one connection,
  CiliumEnvoyConfig weighted routes; `probes.py`: probe Jobs' logs written by the datapath.
- `chart_mesh.py`: the chart's clustermesh.config; `texts.py`: every text with its source.
- `layer.py`: all of it for a simulated lab (and the control API's `cilium` service); `direct.py`: meshes
  built without Talos, for benchmarks and unit tests.
"""
