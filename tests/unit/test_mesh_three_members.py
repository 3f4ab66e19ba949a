"""The three-member (hybrid) mesh: who answers a global service from the first member by Cilium's affinity rule, the
subjects the failover and canary scenarios take from it, the hybrid checks that run before anything is touched (the
lab file's, then what the members' running Cilium says), and the RKE2 member's certificates issued again after the
CA is shared."""
from __future__ import annotations

import copy
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from labsim.provisioners.lab import load_lab
from labsim.provisioners.mesh import run as M
from labsim.provisioners.mesh import settings
from labsim.provisioners.mesh.workload import sees, shares_text, workload

ROOT = Path(__file__).resolve().parents[2]
TWO = ROOT / "labs" / "aggrik8s.yaml"
HYBRID = ROOT / "labs" / "aggrik8s-hybrid.yaml"


def hybrid_with(tmp_path, edit):
    data = yaml.safe_load(HYBRID.read_text())
    edit(data)
    path = tmp_path / "lab.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_lab(path)


def _pct(shares):
    return {m: round(p) for m, p in shares.items()}


# --- who answers -----------------------------------------------------------------------------------------------------
def test_in_a_mesh_of_two_the_shares_are_the_replica_ratio_and_the_affinity():
    lab = load_lab(TWO)
    wl = workload(lab)
    assert _pct(wl.answered("echo", "talos-east", lab)) == {"talos-east": 25, "talos-west": 75}
    assert _pct(wl.answered("echo-local", "talos-east", lab)) == {"talos-east": 100, "talos-west": 0}
    assert _pct(wl.answered("echo-remote", "talos-east", lab)) == {"talos-east": 0, "talos-west": 100}
    assert _pct(wl.answered("echo-canary", "talos-east", lab)) == {"talos-east": 25, "talos-west": 75}
    assert shares_text(wl.answered("echo", "talos-east", lab)) == "25% by talos-east and 75% by talos-west"


def test_in_a_mesh_of_three_a_member_that_loses_its_backends_hands_its_share_to_the_two_others():
    lab = load_lab(HYBRID)
    wl = workload(lab)
    assert sees(lab, "talos-east") == ["talos-east", "talos-west", "piCluster"]
    assert _pct(wl.answered("echo", "talos-east", lab)) == {"talos-east": 25, "talos-west": 50, "piCluster": 25}
    # affinity none: the lost member's share goes to the others by their backends
    assert _pct(wl.answered("echo", "talos-east", lab, frozenset({"talos-west"}))) == \
        {"talos-east": 50, "talos-west": 0, "piCluster": 50}
    # affinity local: the local backends while there are any, then every remote one alike
    assert _pct(wl.answered("echo-local", "talos-east", lab)) == {"talos-east": 100, "talos-west": 0, "piCluster": 0}
    assert _pct(wl.answered("echo-local", "talos-east", lab, frozenset({"talos-east"}))) == \
        {"talos-east": 0, "talos-west": 50, "piCluster": 50}
    # affinity remote: the remote backends (the piCluster has none of echo-remote), the local ones only without any
    assert _pct(wl.answered("echo-remote", "talos-east", lab)) == {"talos-east": 0, "talos-west": 100, "piCluster": 0}
    assert _pct(wl.answered("echo-remote", "talos-east", lab, frozenset({"talos-west"}))) == \
        {"talos-east": 100, "talos-west": 0, "piCluster": 0}
    assert shares_text(wl.answered("echo-canary", "talos-east", lab)) == \
        "25% by talos-east, 75% by talos-west and 0% by piCluster"


def test_the_scenarios_subjects_name_every_member():
    from labsim.steps.subjects import SELECTORS

    def attrs(phrase, path):
        found = SELECTORS[phrase].resolve(load_lab(path))
        return found[0].attrs if found else None
    assert attrs("the first mesh member and the others", TWO)["b"] == "talos-west"
    assert attrs("the first mesh member and the others", HYBRID)["b"] == "talos-west and piCluster"
    three = attrs("the mesh's service with affinity none in three members", HYBRID)
    assert three["shares without b"] == "50% by talos-east, 0% by talos-west and 50% by piCluster"
    assert attrs("the mesh's service with affinity local in three members", HYBRID)["shares without a"] == \
        "0% by talos-east, 50% by talos-west and 50% by piCluster"
    assert attrs("the mesh's service with affinity none", HYBRID)["answering without b"] == "talos-east and piCluster"
    # a mesh of two has no service with backends in three members: that scenario is "not in this lab"
    assert attrs("the mesh's service with affinity none in three members", TWO) is None


def test_the_pair_scenarios_take_a_remote_service_only_the_pair_backs(tmp_path):
    """The routing and policy scenarios claim every request from one of the first two members is answered by (or,
    with the router between them gone, lost to) the other: with remote backends in a third member that claim is
    false, so such a lab is "not in this lab" for them, never a red scenario."""
    from labsim.steps.subjects import SELECTORS
    PAIR_REMOTE = "the mesh's service with affinity remote, backed by the first two members only"
    PAIR_APP = "the mesh's frontend application, its remote service backed by the first two members only"

    def names(phrase, lab):
        return [x.name for x in SELECTORS[phrase].resolve(lab)]
    lab = load_lab(HYBRID)
    assert names(PAIR_REMOTE, lab) == names("the mesh's service with affinity remote", lab) == ["echo-remote"]
    assert names(PAIR_APP, lab) == names("the mesh's frontend application", lab) == ["frontend"]

    def pi_backs_echo_remote(data):
        for g in data["mesh"]["global_services"]:
            if g["name"] == "echo-remote":
                g["replicas"]["piCluster"] = 1
    lab = hybrid_with(tmp_path, pi_backs_echo_remote)
    assert names("the mesh's service with affinity remote", lab) == ["echo-remote"]
    assert names(PAIR_REMOTE, lab) == [] and names(PAIR_APP, lab) == []
    assert names("the mesh's frontend application", lab) == ["frontend"]      # failover keeps the policy: still runs


def test_a_split_step_reads_back_as_members_and_percents():
    from labsim.steps.subjects import names
    assert names("25% by talos-east, 50% by talos-west and 25% by piCluster") == \
        ["25% by talos-east", "50% by talos-west", "25% by piCluster"]


# --- the hybrid checks, from the lab file -----------------------------------------------------------------------------
def test_a_member_whose_cilium_runs_with_another_max_connected_clusters_is_refused(tmp_path):
    def odd(d):
        next(c for c in d["clusters"] if c["name"] == "piCluster")["cilium"]["max_connected_clusters"] = 511
    lab = hybrid_with(tmp_path, odd)
    bad = [r for r in M.plan_checks(lab) if not r.ok]
    assert [(r.check, r.subject, r.message) for r in bad] == [
        ("mesh-plan-max-connected", "piCluster", "piCluster's Cilium runs with max_connected_clusters 511, the mesh's "
                                                 "is 255")]
    with pytest.raises(M.MeshRefused):
        M.provision(lab, None)      # before it needs any client
    same = hybrid_with(tmp_path, lambda d: next(c for c in d["clusters"] if c["name"] == "piCluster")["cilium"]
                       .update(max_connected_clusters=255))
    assert all(r.ok for r in M.plan_checks(same))


def test_the_intent_check_names_the_field_path_and_the_value(tmp_path):
    from labsim.provisioners.lab import run_checks

    def odd(d):
        next(c for c in d["clusters"] if c["name"] == "piCluster")["cilium"]["max_connected_clusters"] = 511
    hits = [h for h in run_checks(hybrid_with(tmp_path, odd)) if h.check == "mesh-max-connected-differs"]
    assert [(h.severity, h.path, h.values["value"]) for h in hits] == [
        ("error", "clusters[piCluster].cilium.max_connected_clusters", 511)]
    assert str(hits[0]).startswith("error  mesh-max-connected-differs  clusters[piCluster].cilium.max_connected_clusters: "
                                   "piCluster's Cilium runs with max_connected_clusters 511, the mesh's is 255")


# --- the hybrid checks, from the running members ------------------------------------------------------------------------
class _Kube:
    def __init__(self, objs):
        self.objs = objs

    def get(self, kind, name, ns=None):
        return copy.deepcopy(self.objs.get((kind, name)))


def _member(max_connected="255", kpr="true", version="1.18.5"):
    return _Kube({("ConfigMap", "cilium-config"): {"data": {"max-connected-clusters": max_connected,
                                                             "kube-proxy-replacement": kpr}},
                  ("DaemonSet", "cilium"): {"spec": {"template": {"spec": {"containers": [
                      {"name": "cilium-agent", "image": f"quay.io/cilium/cilium:v{version}@sha256:0"}]}}}}})


def _ctx(**members):
    return SimpleNamespace(kube=lambda c: members[c])


def test_the_running_members_pass_the_preflight_when_they_agree():
    lab = load_lab(HYBRID)
    ctx = _ctx(**{"talos-east": _member(), "talos-west": _member(), "piCluster": _member(version="1.17.9")})
    assert all(r.ok for r in M.preflight(lab, ctx)), [str(r) for r in M.preflight(lab, ctx)]


def test_the_preflight_refuses_what_the_running_members_disagree_on():
    lab = load_lab(HYBRID)
    ctx = _ctx(**{"talos-east": _member(), "talos-west": _member(),
                  "piCluster": _member(max_connected="511", kpr="false", version="1.16.3")})
    bad = {r.check: r.message for r in M.preflight(lab, ctx) if not r.ok}
    assert bad["mesh-preflight-max-connected"].startswith(
        "piCluster's Cilium runs with max-connected-clusters 511 (cilium-config), the lab file's "
        "mesh.max_connected_clusters is 255")
    assert bad["mesh-preflight-kpr"] == ("kube-proxy replacement differs between members (cilium-config "
                                         "kube-proxy-replacement): talos-east true, talos-west true, piCluster false")
    assert bad["mesh-preflight-cilium-versions"] == ("the members' Cilium agents run talos-east 1.18, talos-west 1.18, "
                                                     "piCluster 1.16: more than one minor version apart, which Cilium "
                                                     "does not support in one mesh")
    with pytest.raises(M.MeshRefused) as refused:
        M.plan(lab, ctx)          # before anything is read for the plan, or written
    assert "max-connected-clusters 511" in str(refused.value)


# --- the RKE2 member's certificates after the CA is shared --------------------------------------------------------------
class _FakeKube:
    """The two calls settings makes of an RKE2 member's API, on the simulated cluster itself."""

    KINDS = {"Secret": "secrets", "HelmChartConfig": "helmchartconfigs"}

    def __init__(self, kube, clock):
        self.kube, self.clock = kube, clock

    def get(self, kind, name, ns=None):
        return self.kube.try_get(self.KINDS[kind], name, ns)

    def apply(self, obj):
        plural, ns = self.KINDS[obj["kind"]], obj["metadata"].get("namespace")
        with self.clock.lock:
            have = self.kube.try_get(plural, obj["metadata"]["name"], ns)
            if have is None:
                self.kube.create(plural, obj, ns)
            else:
                self.kube.update(plural, {**obj, "metadata": {**obj["metadata"],
                                                              "resourceVersion": have["metadata"]["resourceVersion"]}},
                                 ns)


def _rke2_ctx(face, clock):
    from labsim.fakes.tools import helm_release
    kube = face.clusters["piCluster"]

    def helm(cluster, *args, check=True):
        releases = [helm_release.decode(s["data"]["release"])
                    for s in kube.list("secrets", "kube-system", labels="owner=helm,name=rke2-cilium")]
        rel = max(releases, key=lambda r: r["version"])
        if args[0] == "list":
            out = [{"name": "rke2-cilium", "status": rel["info"]["status"], "chart": "rke2-cilium-1.18.5"}]
        else:
            out = rel["config"]
        return SimpleNamespace(rc=0, stdout=json.dumps(out))
    return SimpleNamespace(kube=lambda c: _FakeKube(kube, clock), helm=helm, clock=clock, releases={})


def test_a_shared_ca_gets_the_rke2_members_certificates_issued_again():
    """rke2-ansible may already have written the mesh settings into the rke2-cilium HelmChartConfig: sharing the CA
    then changes no value, and helm-controller would keep the clustermesh-apiserver certificates of the old CA (the
    Talos members get theirs from a forced `helm upgrade`). The CA's fingerprint in the values changes them."""
    from labsim.fakes.clock import VirtualClock
    from labsim.fakes.rke2 import Rke2Face
    from labsim.fakes.tools import helm_certs
    lab = load_lab(HYBRID)
    clock = VirtualClock()
    face = Rke2Face(yaml.safe_load(HYBRID.read_text()), {}, clock, None, "/nonexistent")
    clock.sleep(10)
    ctx = _rke2_ctx(face, clock)
    kube = face.clusters["piCluster"]

    def server_ca():
        return kube.get("secrets", "clustermesh-apiserver-server-cert", "kube-system")["data"]["ca.crt"]
    assert settings.apply(lab, ctx, "piCluster") == "mesh settings written to the rke2-cilium HelmChartConfig"
    own = kube.get("secrets", "cilium-ca", "kube-system")["data"]["ca.crt"]
    assert server_ca() == own
    assert settings.apply(lab, ctx, "piCluster") is None                    # nothing changed: nothing written
    shared = helm_certs.gen_ca("talos-east CA")
    with clock.lock:                                                        # what share_ca copies in
        secret = kube.get("secrets", "cilium-ca", "kube-system")
        kube.update("secrets", {**secret, "data": shared}, "kube-system")
    assert settings.apply(lab, ctx, "piCluster") == "mesh settings written to the rke2-cilium HelmChartConfig"
    assert server_ca() == shared["ca.crt"]
    values = yaml.safe_load(kube.get("helmchartconfigs", "rke2-cilium", "kube-system")["spec"]["valuesContent"])
    assert "ca.key" not in json.dumps(values) and shared["ca.key"] not in json.dumps(values)   # a fingerprint only
    assert settings.apply(lab, ctx, "piCluster") is None
