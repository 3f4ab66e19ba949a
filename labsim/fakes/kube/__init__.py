"""The simulated Kubernetes: one `KubeCluster` (object store, apiserver semantics, controllers in virtual time)
and its HTTPS face `KubeServer`, which the `kubernetes` Python client and `kubectl` use through a kubeconfig.

    from labsim.fakes.clock import VirtualClock
    from labsim.fakes.pki import CA
    from labsim.fakes.kube import KubeCluster, KubeServer

    clock = VirtualClock()
    cluster = KubeCluster("cp-e", clock)
    cluster.register_node("cp-e-1", addresses=[("InternalIP", "192.168.15.11")], control_plane=True)
    cluster.bootstrap_control_plane(["cp-e-1"])
    server = KubeServer(cluster, ca=CA.generate()).start()
    server.kubeconfig("/tmp/kubeconfig")          # KUBECONFIG for kubectl / config.load_kube_config
    clock.sleep(10)                                # controllers, scheduler and kubelets act
"""
from labsim.fakes.kube.cluster import KubeCluster
from labsim.fakes.kube.errors import KubeError
from labsim.fakes.kube.hooks import PodBehaviour, PodBlocked, no_cni_admission

__all__ = ["KubeCluster", "KubeError", "KubeServer", "PodBehaviour", "PodBlocked", "no_cni_admission"]


def __getattr__(name: str):
    if name == "KubeServer":   # the HTTP face is imported only by those who serve
        from labsim.fakes.kube.server import KubeServer
        return KubeServer
    raise AttributeError(name)
