"""Rook-Ceph on a cluster's workers: install the two Rook charts through `helm` with values from the lab file,
wait for HEALTH_OK through the target's clock, and verify read-only from the CephCluster status and the
toolbox's JSON (`kubectl exec deploy/rook-ceph-tools -- ceph ... -f json`).

    access = CephAccess(tools, kubeconfig)              # tools: labsim.provisioners.talos.cli.Tools (PATH, env)
    p = run.plan(cluster, access)                       # what the namespace and the two releases still need
    report = run.apply(p, access, clock)                # namespace + label, charts, wait HEALTH_OK
    results = run.verify(cluster, access)               # list of Result (check, subject, ok, message, evidence)
"""
