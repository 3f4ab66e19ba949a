"""Talos clusters from the lab file, built and checked the way an engineer does it: `talosctl` and `helm`
as subprocesses (never a Talos or Helm library), node addresses from the Proxmox guest agent, Kubernetes
read through the `kubernetes` client with the kubeconfig `talosctl kubeconfig` wrote.

    run.provision(lab, "talos-east", ctx)   # configs, apply, bootstrap once, kubeconfig, Cilium; idempotent
    verify.verify(lab, "talos-east", ctx)   # read-only: `talosctl health` and Kubernetes reads

`ctx` (`context.TalosContext`) carries the tool runner, the target's clock, the Proxmox client and the
working directory where the cluster's secrets, configs, talosconfig and kubeconfig are kept between runs.
"""
