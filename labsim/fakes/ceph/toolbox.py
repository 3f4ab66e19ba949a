"""The `rook-ceph-tools` container as `kubectl exec` reaches it: the `ceph` program of cli.py against the
cluster of the pod's namespace. Before the operator has made a cluster the client has no config to read,
and fails as the real toolbox does."""
from __future__ import annotations

from collections.abc import Callable

from labsim.fakes import kube_exec as X
from labsim.fakes.ceph import cli
from labsim.fakes.ceph.rook import RookOperator

NO_CONFIG = ("Error initializing cluster client: ObjectNotFound('RADOS object not found "
             "(error calling conf_read_file)')\n")


def install(op: RookOperator, sleep: Callable[[float], None] | None = None) -> None:
    """Register the toolbox's programs for the toolbox pods of the operator's cluster namespace."""
    def ceph(req: X.ExecRequest) -> X.ExecResult:
        cluster = op.ceph(req.namespace)
        if cluster is None or not cluster.mons:
            return X.ExecResult(stderr=NO_CONFIG.encode(), exit_code=1)
        rc, out, err = cli.run(cluster, req.command, sleep)
        return X.ExecResult(out.encode(), err.encode(), rc)

    X.registry(op.kube).register(op.namespace, {"app": "rook-ceph-tools"}, "rook-ceph-tools",
                                 {"ceph": ceph})
