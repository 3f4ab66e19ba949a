"""The watcher is deployed from its own package's manifests (dnswatch/labsim_dnswatch/deploy): they load in the
order a cluster needs them, and without the package the provisioner says what to install."""
from __future__ import annotations

import sys

import pytest

from labsim.provisioners.cloud import watcher as W


def test_the_manifests_come_from_the_watchers_package_in_apply_order() -> None:
    kinds = [d["kind"] for d in W.manifest_docs()]
    assert kinds[0] == "Namespace" and kinds.index("ServiceAccount") < kinds.index("Deployment")
    assert {"ClusterRole", "ClusterRoleBinding", "ConfigMap", "Deployment", "Service"} <= set(kinds)


def test_without_the_package_the_message_says_what_to_install(monkeypatch) -> None:
    for name in [m for m in sys.modules if m == "labsim_dnswatch" or m.startswith("labsim_dnswatch.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "labsim_dnswatch", None)      # as if it were not installed
    with pytest.raises(W.WatcherMissing, match=r"pip install \./dnswatch"):
        W.manifest_docs()
