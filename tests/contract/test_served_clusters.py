"""Talos clusters, ClusterMesh and Rook-Ceph on a served lab (issues 4, 5 and 6), built the real-lab way.

`python -m labsim.fakes serve --lab-out served.yaml` serves the simulated lab; `eval "$(python -m labsim.fakes env
endpoints.json)"` exports what a run needs (the served secrets, the fake talosctl/helm/cilium first on PATH,
their control API, a workdir); `make lab-apply LAB=served.yaml` then provisions it through the provisioners,
exactly as against the lab (--loopback-only keeps the network guard on). Once a cluster's Kubernetes API
listens, serve adds it to the endpoints file with an admin kubeconfig. Then an engineer's own tools answer:
`kubectl --kubeconfig` lists the Ready nodes, `talosctl health` passes every check, `cilium clustermesh status
-o json` prints cilium-cli's JSON, and `kubectl exec` into the Rook toolbox prints `ceph status`.

One served lab and one build for the whole module (the build is the expensive part; every test only reads
it, and a failed build fails every test with its output instead of being tried again): one `make lab-apply`
run of two scenarios, the mesh (the fabric, the VMs, both Talos clusters with Cilium, joined, and a second
mesh run that must change nothing) and Rook-Ceph on talos-east (whose Background provisions talos-east again,
which must keep the mesh's settings on its Cilium release).

`--no-preflight`: the preflight probes each Talos cluster's Kubernetes API before the run that creates it (and
this machine's kubectl is older than the lab file pins); test_the_lab_copy_now_reaches_the_served_apis shows a
later run's preflight finds the APIs.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from labsim.provisioners.ceph.values import planned_osds
from labsim.provisioners.lab.load import load_lab
from labsim.provisioners.preflight import probe, probes
from labsim.provisioners.talos.health import CHECKS
from tests.contract.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "labs" / "aggrik8s.yaml"
TIME_SCALE = "200"          # virtual seconds per real second: the provisioners wait in real time
SELECTION = "both_clusters_report or (rookceph_on_cluster and talos-east)"
SCRUB = ("ROUTEROS_PASSWORD", "PVE_TOKEN_SECRET", "KUBECONFIG", "LABSIM_WORKDIR", "LABSIM_CONTROL_URL",
         "LABSIM_CONTROL_TOKEN", "LABSIM_ZYGOTE", "HELM_CONFIG_HOME", "HELM_CACHE_HOME", "HELM_DATA_HOME")


def _in_served_shell(files, command: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """`command` in a shell that did `eval "$(python -m labsim.fakes env endpoints.json)"`, as the README says."""
    env = {k: v for k, v in os.environ.items() if k not in SCRUB}
    script = f'eval "$({shlex.quote(sys.executable)} -m labsim.fakes env {shlex.quote(str(files["endpoints"]))})" && {command}'
    return subprocess.run(["sh", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def _served_env(files) -> dict[str, str]:
    r = _in_served_shell(files, "env -0", timeout=60)
    assert r.returncode == 0, r.stderr
    return dict(item.split("=", 1) for item in r.stdout.split("\0") if "=" in item)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    d = tmp_path_factory.mktemp("served-clusters")
    files = {"endpoints": d / "endpoints.json", "lab": d / "served.yaml", "dir": d}
    log = open(d / "serve.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "labsim.fakes", "serve", str(LAB), "--endpoints-file", str(files["endpoints"]),
                             "--lab-out", str(files["lab"]), "--time-scale", TIME_SCALE],
                            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: files["lab"].exists() or proc.poll() is not None, 60.0, what="the served lab file")
        assert files["lab"].exists(), (d / "serve.log").read_text()
        started = time.monotonic()
        args = f"-q --loopback-only --no-preflight -k {shlex.quote(SELECTION)}"
        r = _in_served_shell(files, f"make -s -o .venv/.installed-stamp lab-apply LAB={shlex.quote(str(files['lab']))} "
                                    f"SIGNOFF={shlex.quote(str(d / 'reports'))} PYTEST_ARGS={shlex.quote(args)}")
        wall = time.monotonic() - started
        assert r.returncode == 0, f"make lab-apply failed:\n{r.stdout[-5000:]}\n{r.stderr[-2000:]}"
        assert re.search(r"\b2 passed\b", r.stdout) and "Sign-off: ACCEPTED" in r.stdout, r.stdout[-3000:]
        print(f"\nmake lab-apply: {wall:.0f} s wall")
        endpoints = json.loads(files["endpoints"].read_text())
        yield {**files, "endpoints_doc": endpoints, "env": _served_env(files), "lab_model": load_lab(LAB),
               "wall": wall, "proc": proc}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def _run(built, argv, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=built["dir"], env=built["env"], capture_output=True, text=True, timeout=timeout)


def _kubeconfig(built, cluster) -> str:
    return built["endpoints_doc"]["kubernetes"][cluster]["kubeconfig"]


# --- the endpoints file -------------------------------------------------------------------------------------------
def test_the_endpoints_file_gains_each_clusters_api_and_kubeconfig(built):
    path = built["endpoints"]
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    kube = built["endpoints_doc"]["kubernetes"]
    for cluster in ("talos-east", "talos-west"):
        ep = kube[cluster]
        assert ep["host"] == "127.0.0.1" and ep["url"] == f"https://127.0.0.1:{ep['port']}"
        kc = Path(ep["kubeconfig"])
        assert oct(kc.stat().st_mode & 0o777) == "0o600"   # it holds a client key
        doc = yaml.safe_load(kc.read_text())
        (entry,) = doc["clusters"]
        assert entry["cluster"]["server"] == ep["url"] and "insecure-skip-tls-verify" not in entry["cluster"]
        import base64
        assert base64.b64decode(entry["cluster"]["certificate-authority-data"]) == Path(ep["ca"]).read_bytes()
    log = (built["dir"] / "serve.log").read_text()
    assert f"kubernetes talos-east {kube['talos-east']['url']}" in log


def test_the_lab_copy_now_reaches_the_served_apis(built):
    """A later run's preflight (e.g. `make lab-verify LAB=served.yaml`) finds every cluster's API on loopback,
    TLS verified against the served CA."""
    lab = load_lab(built["lab"])
    kube = [p for p in probes(lab, {"kubernetes"}) if p.what.split()[1] in ("talos-east", "talos-west")]
    assert len(kube) == 2 and all(p.host == "127.0.0.1" and p.tls and p.ca_file for p in kube)
    assert [probe(p, 5.0) for p in kube] == [None, None]


def test_one_clusters_kubeconfig_is_refused_by_the_others_api(built):
    """Each Talos cluster's API has its own CA (its machine configuration's cluster.ca): a wrong kubeconfig fails
    as it does in the lab."""
    east, west = (built["endpoints_doc"]["kubernetes"][c] for c in ("talos-east", "talos-west"))
    assert Path(east["ca"]).read_bytes() != Path(west["ca"]).read_bytes()
    r = _run(built, ["kubectl", "--kubeconfig", east["kubeconfig"], "--server", west["url"], "get", "nodes"])
    assert r.returncode == 1 and "x509: certificate signed by unknown authority" in r.stderr, r.stderr


# --- issue 4: the Talos clusters -------------------------------------------------------------------------------------
@pytest.mark.parametrize("cluster", ["talos-east", "talos-west"])
def test_kubectl_lists_every_node_of_the_cluster_ready(built, cluster):
    r = _run(built, ["kubectl", "--kubeconfig", _kubeconfig(built, cluster), "get", "nodes"])
    assert r.returncode == 0, r.stderr
    header, *rows = r.stdout.splitlines()
    assert header.split()[:3] == ["NAME", "STATUS", "ROLES"]
    got = {row.split()[0]: (row.split()[1], row.split()[2]) for row in rows}
    members = built["lab_model"].cluster(cluster).members()
    assert sorted(got) == sorted(m.name for m in members)
    assert len([m for m in members if m.role == "controlplane"]) == 3 and len(members) == 6   # the lab file's
    for m in members:
        assert got[m.name] == ("Ready", "control-plane" if m.role == "controlplane" else "<none>"), (m.name, got)


def test_talosctl_health_passes_every_check(built):
    talosconfig = Path(built["env"]["LABSIM_WORKDIR"]) / "talos" / "talos-east" / "talosconfig"
    r = _run(built, ["talosctl", "--talosconfig", str(talosconfig), "health", "--wait-timeout", "2m"])
    assert r.returncode == 0, r.stdout + r.stderr
    lines = (r.stdout + r.stderr).splitlines()
    nodes = json.loads(_run(built, ["kubectl", "--kubeconfig", _kubeconfig(built, "talos-east"), "get", "nodes",
                                    "-o", "json"]).stdout)["items"]
    ips = {a["address"] for n in nodes for a in n["status"]["addresses"] if a["type"] == "InternalIP"}
    assert lines[0].startswith("discovered nodes: [") and set(re.findall(r'"([^"]+)"', lines[0])) == ips, lines[0]
    finals = [ln for ln in lines[1:] if not ln.endswith(": ...")]
    assert [ln.split(": ")[0].removeprefix("waiting for ") for ln in finals] == CHECKS   # every check, in order
    kube_proxy = built["lab_model"].cluster("talos-east").kube_proxy
    for check, ln in zip(CHECKS, finals):
        want = "SKIP" if check == "kube-proxy to report ready" and not kube_proxy else "OK"
        assert ln == f"waiting for {check}: {want}"


# --- issue 5: the mesh -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cluster,remote", [("talos-east", "talos-west"), ("talos-west", "talos-east")])
def test_cilium_clustermesh_status_json(built, cluster, remote):
    lab = built["lab_model"]
    r = _run(built, ["cilium", "--context", f"admin@{cluster}", "clustermesh", "status", "-o", "json"])
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert set(doc) == {"access_information", "connectivity", "kvstoremesh"}
    ai, cil = doc["access_information"], lab.cluster(cluster).cilium
    assert {k: ai[k] for k in ("service_type", "service_port", "cluster_id", "cluster_name", "tunnel",
                               "max_connected_clusters")} == {
        "service_type": "NodePort", "service_port": cil.clustermesh_node_port, "cluster_id": str(cil.cluster_id),
        "cluster_name": cluster, "tunnel": "vxlan", "max_connected_clusters": lab.mesh.max_connected_clusters}
    nodes = json.loads(_run(built, ["kubectl", "--kubeconfig", _kubeconfig(built, cluster), "get", "nodes", "-o",
                                    "json"]).stdout)["items"]
    ips = {a["address"] for n in nodes for a in n["status"]["addresses"] if a["type"] == "InternalIP"}
    assert ai["service_ips"] and set(ai["service_ips"]) <= ips          # a NodePort on the cluster's nodes
    agents = len(lab.cluster(cluster).members())
    assert doc["connectivity"] == {"connected": {"min": 1, "avg": 1.0, "max": 1},
                                   "clusters": {remote: {"configured": agents, "connected": agents}}, "total": agents}
    assert doc["kvstoremesh"]["enabled"] is True and doc["kvstoremesh"]["status"]["total"] == 1
    assert 'Service "clustermesh-apiserver" of type "NodePort" found' in r.stderr   # log lines: stderr with -o json


# --- issue 6: Rook-Ceph --------------------------------------------------------------------------------------------------
def test_kubectl_exec_into_the_toolbox_prints_ceph_status(built):
    c = built["lab_model"].cluster("talos-east")
    r = _run(built, ["kubectl", "--kubeconfig", _kubeconfig(built, "talos-east"), "-n", c.ceph.namespace, "exec",
                     "deploy/rook-ceph-tools", "--", "ceph", "status"])
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert not out.lstrip().startswith("{")                            # the plain text, not -f json
    assert re.search(r"^  cluster:\n    id: +[0-9a-f-]{36}\n    health: HEALTH_OK$", out, re.M), out
    assert re.search(rf"^    mon: {c.ceph.mons} daemons, quorum [a-z,]+ \(age ", out, re.M), out
    assert re.search(r"^    mgr: \w+\(active, since [^)]+\), standbys: ", out, re.M), out
    osds = sum(planned_osds(c).values())
    assert re.search(rf"^    osd: {osds} osds: {osds} up \(since [^)]+\), {osds} in \(since ", out, re.M), out
    pools = re.search(r"^    pools: +(\d+) pools, (\d+) pgs$", out, re.M)
    assert pools, out
    assert re.search(rf"^    pgs: +{pools.group(2)} active\+clean$", out, re.M), out

