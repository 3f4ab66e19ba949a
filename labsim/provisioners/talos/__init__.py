"""Talos clusters from the lab file, built and checked the way an engineer does it: `talosctl` and `helm`
as subprocesses (never a Talos or Helm library), node addresses from the Proxmox guest agent, Kubernetes
read through the `kubernetes` client with the kubeconfig `talosctl kubeconfig` wrote.

    p = run.plan(lab, cluster, ctx)         # what the machines, etcd and the cilium release still need
    run.apply(p, ctx)                       # configs, apply, bootstrap once, kubeconfig, Cilium; idempotent
    run.verify(lab, cluster, ctx)           # read-only: `talosctl health`, Kubernetes reads, the VIP

`ctx` (`context.TalosContext`) carries the tool runner, the target's clock, the Proxmox client and the
working directory where the cluster's secrets, configs, talosconfig and kubeconfig are kept between runs.
"""
