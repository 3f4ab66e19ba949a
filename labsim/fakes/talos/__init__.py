"""Talos Linux in the simulated lab: nodes on the Proxmox VMs that boot the Talos ISO, their clusters (etcd,
bootstrap, VIP, the Kubernetes API per cluster), `talosctl health`, and the Talos API the fake talosctl
reaches through the control API.

    world.py      TalosWorld: a node per VM booting Talos, clusters by config; VM events, the reconcile tick
    node.py       one node's life: maintenance -> installing -> booting -> running, services, reboot
    cluster.py    etcd and quorum, the single bootstrap, the VIP, Nodes registered in the cluster's KubeCluster
    kubelink.py   the only place that touches labsim.fakes.kube (API server, Nodes, the API lost with quorum)
    machineconfig.py, genconfig.py   the v1alpha1 config: parse, validate, generate, patch
    health.py     the 16 checks of `talosctl health`, in order, server-side
    resources.py, services.py, hardware.py   what `talosctl get`, `service`, `get disks` show
    api.py        the control API's `talos` service (what apid/machined answer)
    face.py       what SimulatedLab adds: the world layers, the control server, the tools' environment
    texts.py, timing.py   every text with its source, every duration with its reason
"""
