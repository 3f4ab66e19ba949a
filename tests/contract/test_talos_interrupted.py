"""Issue 4 §4: "a rerun after any interruption converges". Provisioning talos-east is cut off before its k-th
tool run (what Ctrl-C or a lost laptop does between two commands), then run again from the same working
directory: the second run finishes, the cluster is healthy by every check, and etcd was bootstrapped once."""
from __future__ import annotations

import os

import pytest

from labsim.provisioners.talos import run as T
from labsim.provisioners.talos.cli import Tools
from labsim.provisioners.talos.context import TalosContext
from tests.unit.talos_world import TalosLab

CLUSTER = "talos-east"


class Interrupted(Exception):
    pass


class CutOff(Tools):
    """The engineer's shell, stopped before its `at`-th command."""

    def __init__(self, at: int, **kw):
        super().__init__(**kw)
        self.at, self.count = at, 0

    def run(self, argv, *, check=True):
        self.count += 1
        if self.count == self.at:
            raise Interrupted(f"interrupted before `{' '.join(argv[:4])} ...`")
        return super().run(argv, check=check)


# A first run's tool runs: 1-4 secrets, configs and the talosconfig; 5-11 the nodes' states; 12-17 apply-config
# per node; 18-23 waiting for the nodes; 24 the etcd check; 25 bootstrap; 26 kubeconfig; 27-28 helm. Cut off:
# amid the talosconfig, amid the apply-configs, while waiting, just before the bootstrap, between the bootstrap
# and the kubeconfig, just before the helm install.
@pytest.mark.parametrize("at", [3, 15, 20, 25, 26, 28])
def test_a_rerun_after_an_interruption_converges(tmp_path, at):
    lab = TalosLab()
    try:
        env = {**os.environ, **lab.sim.talos.tool_env(), "HELM_CONFIG_HOME": str(tmp_path / "helm")}
        cut = CutOff(at, env=env, cwd=tmp_path)
        with pytest.raises(Interrupted):
            T.provision(lab.lab, CLUSTER, TalosContext(cut, lab.clock, lab.prox, tmp_path))
        ctx = TalosContext(Tools(env=env, cwd=tmp_path), lab.clock, lab.prox, tmp_path)
        report = T.provision(lab.lab, CLUSTER, ctx)
        results, _ = T.verify_with_health(lab.lab, CLUSTER, ctx, machines=report.machines)
        assert [str(r) for r in results if not r.ok] == []
        assert lab.cluster(CLUSTER).etcd_clusters == 1
        assert T.provision(lab.lab, CLUSTER, ctx).changes == []
    finally:
        lab.stop()
