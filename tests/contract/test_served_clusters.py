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
import signal
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
# virtual seconds per real second: the provisioners wait in real time. At 200 a loaded machine's pause between two
# provisioning steps was minutes of lab time, enough for etcd to lose quorum under helm (`etcdserver: request timed
# out`); at 50 the build passed where it failed at 200 on the same machine, and failed again under a load of 20
# (Talos's 600 s CNI window is 12 real seconds at 50, 30 at 20)
TIME_SCALE = "20"
# the build: the mesh's status-and-second-run scenario and Rook-Ceph's HEALTH_OK scenario on talos-east (not the
# @as_found scenarios whose names start the same way)
SELECTION = "(every_member_reports and second_run) or (rookceph_on_cluster_reaches and talos-east)"
# What a read-only `make lab-verify` of the built lab runs: the scenarios that verify Talos, the mesh and Ceph as
# found (@as_found, no @writes); Rook-Ceph is built on talos-east only.
AS_FOUND = "as_found and (talos or mesh or ceph)"
AS_FOUND_K = "not (rookceph and talos-west)"
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
                             "--lab-out", str(files["lab"]), "--time-scale", TIME_SCALE,
                             "--writes-file", str(d / "writes.json")],
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
        assert re.search(r"\b2 passed\b", r.stdout) and "Sign-off: PARTIAL" in r.stdout, r.stdout[-3000:]
        print(f"\nmake lab-apply: {wall:.0f} s wall")
        endpoints = json.loads(files["endpoints"].read_text())
        yield {**files, "endpoints_doc": endpoints, "env": _served_env(files), "lab_model": load_lab(LAB),
               "wall": wall, "proc": proc}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def _counters(built, n: int) -> dict:
    """The served lab's write and read counters (serve rewrites --writes-file on SIGUSR1; `snapshot` counts them)."""
    path = built["dir"] / "writes.json"
    built["proc"].send_signal(signal.SIGUSR1)
    wait_for(lambda: path.exists() and json.loads(path.read_text()).get("snapshot") == n, 60.0,
             what=f"counters snapshot {n}")
    return json.loads(path.read_text())


def test_a_read_only_lab_verify_runs_talos_mesh_and_ceph_as_found_and_writes_nothing(built):
    """`make lab-verify` (no --apply, through the preflight) on the built lab: the as-found scenarios of Talos, the
    mesh and Ceph run, not skipped, all pass, and the served lab counts no write (RouterOS, Proxmox, SSH, and each
    cluster's Kubernetes API, where helm releases and Rook's objects would go)."""
    before = _counters(built, 1)
    args = f"-q -rs --loopback-only -m {shlex.quote(AS_FOUND)} -k {shlex.quote(AS_FOUND_K)}"
    reports = built["dir"] / "verify-reports"
    r = _in_served_shell(built, f"make -s -o .venv/.installed-stamp lab-verify LAB={shlex.quote(str(built['lab']))} "
                                f"SIGNOFF={shlex.quote(str(reports))} PYTEST_ARGS={shlex.quote(args)}", timeout=900)
    assert r.returncode == 0, f"make lab-verify failed:\n{r.stdout[-5000:]}\n{r.stderr[-2000:]}"
    assert "preflight of lab" in r.stdout, r.stdout[-3000:]
    bundle = next(p for p in reports.iterdir() if p.is_dir())
    m = json.loads((bundle / "manifest.json").read_text())
    assert m["verdict"] == "PARTIAL", m["reasons"]     # -m/-k: a part of the suite, and nothing failed
    ran = [sc for sc in m["scenarios"] if sc["kind"] == "scenario"]
    assert ran and all(sc["status"] == "passed" for sc in ran), [(sc["title"], sc["status"]) for sc in ran]
    per = {f: sum(1 for sc in ran if f in sc["tags"]) for f in ("talos", "mesh", "ceph")}
    assert min(per.values()) >= 2, per
    after = _counters(built, 2)
    assert any(k.startswith("kubernetes:") for k in after["writes"]), after
    assert after["writes"] == before["writes"], {k: (before["writes"].get(k), v) for k, v in after["writes"].items()
                                                 if before["writes"].get(k) != v}
    for face in ("kubernetes:talos-east", "kubernetes:talos-west"):
        assert after["reads"][face] > before["reads"][face], f"the read-only run never read {face}"


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


def test_ciliums_service_accounts_get_what_the_charts_rbac_grants(built):
    """`helm install cilium` brought the chart's ClusterRoles and bindings: kubectl's can-i as the agent's
    ServiceAccount answers as on a real cluster."""
    kc = _kubeconfig(built, "talos-east")
    sa = "--as=system:serviceaccount:kube-system:cilium"
    r = _run(built, ["kubectl", "--kubeconfig", kc, "auth", "can-i", "watch", "endpointslices.discovery.k8s.io", sa])
    assert (r.returncode, r.stdout) == (0, "yes\n"), r.stderr
    r = _run(built, ["kubectl", "--kubeconfig", kc, "auth", "can-i", "delete", "nodes", sa])
    assert (r.returncode, r.stdout) == (1, "no\n"), r.stderr


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



# --- issue 16: talosctl and helm as an engineer uses them day to day ---------------------------------------------------
# Each table's format is talosctl's (siderolabs/talos v1.11.3, the file named in each test): text/tabwriter with
# padding 3, so columns are split on runs of 3+ spaces here.
def _cols(line: str) -> list[str]:
    return re.split(r" {3,}", line.rstrip())


def _talos(built, *args: str, cluster: str = "talos-east") -> subprocess.CompletedProcess:
    tc = Path(built["env"]["LABSIM_WORKDIR"]) / "talos" / cluster / "talosconfig"
    return _run(built, ["talosctl", "--talosconfig", str(tc), *args])


def _cp(built, cluster: str = "talos-east") -> str:
    tc = yaml.safe_load((Path(built["env"]["LABSIM_WORKDIR"]) / "talos" / cluster / "talosconfig").read_text())
    return tc["contexts"][tc["context"]]["endpoints"][0]


def test_talosctl_dmesg_shows_this_boots_kernel_and_talos_lines(built):
    """dmesg.go prints `%s: %s` (node, machined's `%s: %7s: [%s]: %s`: facility, priority, RFC3339Nano, message)."""
    ip = _cp(built)
    r = _talos(built, "-n", ip, "dmesg")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    pattern = re.compile(rf"^{re.escape(ip)}: (kern|user): +(info|notice|warning): "
                         r"\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z\]: .+$")
    assert lines and all(pattern.match(ln) for ln in lines), [ln for ln in lines if not pattern.match(ln)][:3]
    text = r.stdout
    assert "kern:  notice: [" in text and "]: Linux version 6.12.52-talos" in text
    assert "[talos] [initramfs] booting Talos v1.11.3" in text
    assert "[talos] service[etcd](Running): Health check successful" in text
    assert "[talos] boot sequence: done" in text


def test_talosctl_logs_containers_stats_memory(built):
    ip = _cp(built)
    logs = _talos(built, "-n", ip, "logs", "etcd")                                  # logs.go: `%s: %s`
    assert logs.returncode == 0 and logs.stdout and all(ln.startswith(f"{ip}: ") for ln in logs.stdout.splitlines())
    c = _talos(built, "-n", ip, "containers")                                      # containers.go
    head, *rows = c.stdout.splitlines()
    assert _cols(head) == ["NODE", "NAMESPACE", "ID", "IMAGE", "PID", "STATUS"]
    ids = {_cols(r)[2]: _cols(r) for r in rows}
    assert {"apid", "etcd", "kubelet", "trustd"} <= set(ids) and ids["etcd"][3].startswith("gcr.io/etcd-development")
    k = _talos(built, "-n", ip, "containers", "-k")
    assert any("└─ kube-system/kube-apiserver-" in ln and "CONTAINER_RUNNING" in ln for ln in k.stdout.splitlines())
    s = _talos(built, "-n", ip, "stats")                                           # stats.go
    head, *rows = s.stdout.splitlines()
    assert _cols(head) == ["NODE", "NAMESPACE", "ID", "MEMORY(MB)", "CPU"]
    assert all(re.fullmatch(r"\d+\.\d\d", _cols(r)[3]) and _cols(r)[4].isdigit() for r in rows)
    m = _talos(built, "-n", ip, "memory")                                          # memory.go (MB)
    head, row = m.stdout.splitlines()
    assert _cols(head) == ["NODE", "TOTAL", "USED", "FREE", "SHARED", "BUFFERS", "CACHE", "AVAILABLE"]
    plan = built["lab_model"].cluster("talos-east").machines.control_plane
    total = int(_cols(row)[1])
    assert 0.9 * plan.memory_mib < total < plan.memory_mib                         # the VM's RAM less the kernel's


def test_talosctl_read_and_list_the_nodes_files(built):
    ip = _cp(built)
    r = _talos(built, "-n", ip, "read", "/proc/meminfo")                           # read.go: the file as it is
    assert r.returncode == 0 and r.stdout.startswith("MemTotal:")
    ls = _talos(built, "-n", ip, "list", "/var")                                    # list.go, one node: names
    assert ls.stdout.splitlines()[0] == "." and "log" in ls.stdout.splitlines()
    long = _talos(built, "-n", ip, "list", "-l", "/var/log")
    assert _cols(long.stdout.splitlines()[0]) == ["NODE", "MODE", "UID", "GID", "SIZE(B)", "LASTMOD", "LABEL", "NAME"]
    assert any(_cols(ln)[-1] == "etcd.log" and _cols(ln)[1] == "-rw-r--r--" for ln in long.stdout.splitlines())
    bad = _talos(built, "-n", ip, "read", "/no/such")
    assert bad.returncode == 1 and "stat /no/such: no such file or directory" in bad.stderr


def test_talosctl_time_netstat_images_etcd_status(built):
    ip = _cp(built)
    t = _talos(built, "-n", ip, "time")                                             # time.go: time.Time String()
    head, row = t.stdout.splitlines()
    assert _cols(head) == ["NODE", "NTP-SERVER", "NODE-TIME", "NTP-SERVER-TIME"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d*[1-9])? \+0000 UTC", _cols(row)[2])
    n = _talos(built, "-n", ip, "netstat", "-l")                                    # netstat.go
    head, *rows = n.stdout.splitlines()
    assert _cols(head) == ["NODE", "Proto", "Recv-Q", "Send-Q", "Local Address", "Foreign Address", "State"]
    assert any(_cols(r)[4] == ":::50000" and _cols(r)[6] == "LISTEN" for r in rows)          # apid
    assert any(_cols(r)[4] == f"{ip}:2379" for r in rows)                                     # etcd
    im = _talos(built, "-n", ip, "image", "ls")                                     # image.go
    head, *rows = im.stdout.splitlines()
    assert _cols(head) == ["NODE", "IMAGE", "DIGEST", "SIZE", "CREATED"]
    assert any(_cols(r)[1].startswith("quay.io/cilium/cilium:") for r in rows)
    st = _talos(built, "-n", ip, "etcd", "status")                                  # etcd.go
    head, row = st.stdout.splitlines()
    assert _cols(head) == ["NODE", "MEMBER", "DB SIZE", "IN USE", "LEADER", "RAFT INDEX", "RAFT TERM",
                           "RAFT APPLIED INDEX", "LEARNER", "PROTOCOL", "STORAGE", "ERRORS"]
    cols = _cols(row)
    members = _talos(built, "-n", ip, "etcd", "members").stdout.splitlines()[1:]
    assert cols[1] in {_cols(m)[1] for m in members} and cols[4] in {_cols(m)[1] for m in members}
    assert re.fullmatch(r"[\d.]+ [kM]B \(\d+\.\d\d%\)", cols[3]) and int(cols[5]) > 0


def test_talosctl_get_links_routes_rd_staticpods(built):
    ip = _cp(built)
    links = _talos(built, "-n", ip, "get", "links")                                 # output/table.go + LinkStatus
    head, *rows = links.stdout.splitlines()
    assert _cols(head) == ["NODE", "NAMESPACE", "TYPE", "ID", "VERSION", "TYPE", "KIND", "HW ADDR", "OPER STATE",
                           "LINK STATE"]
    assert {_cols(r)[3] for r in rows} == {"lo", "ens18"}
    lab = built["lab_model"]
    gateway = str(next(v for v in lab.vlans if v.name == lab.cluster("talos-east").vlan).gateway)
    routes = _talos(built, "-n", ip, "get", "routes").stdout.splitlines()     # the default route of the DHCP lease
    assert any(_cols(r)[2] == "RouteStatus" and gateway in _cols(r)[5:] for r in routes[1:]), (gateway, routes)
    rd = _talos(built, "-n", ip, "get", "rd").stdout
    assert "linkstatuses.net.talos.dev" in rd and "ResourceDefinition" in rd
    sp = _talos(built, "-n", ip, "get", "staticpods").stdout.splitlines()
    assert {_cols(r)[3] for r in sp[1:]} == {"kube-apiserver", "kube-controller-manager", "kube-scheduler"}
    js = _talos(built, "-n", ip, "get", "links", "-o", "json")
    assert js.returncode == 0 and '"hardwareAddr"' in js.stdout


def test_talosctl_config_contexts_info_and_dashboard(built):
    info = _talos(built, "config", "info")                                           # config.go's template
    lines = info.stdout.splitlines()
    assert lines[0] == "Current context:     talos-east" and lines[2].startswith("Endpoints:           ")
    assert "[" not in info.stdout and lines[3] == "Roles:               os:admin"
    ctx = _talos(built, "config", "contexts").stdout.splitlines()
    assert _cols(ctx[0]) == ["CURRENT", "NAME", "ENDPOINTS", "NODES"] and _cols(ctx[1])[:2] == ["*", "talos-east"]
    dash = _talos(built, "-n", _cp(built), "dashboard")
    assert dash.returncode == 1 and "needs a terminal" in dash.stderr


def test_helm_history_list_search_show(built):
    kc = _kubeconfig(built, "talos-east")
    hist = _run(built, ["helm", "history", "cilium", "-n", "kube-system", "--kubeconfig", kc])   # history.go
    head, *rows = hist.stdout.splitlines()
    assert re.split(r"\s*\t", head.strip()) == ["REVISION", "UPDATED", "STATUS", "CHART", "APP VERSION",
                                                 "DESCRIPTION"]
    assert rows and re.search(r"\t(Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}", rows[0])
    assert "deployed" in rows[-1]
    ls = _run(built, ["helm", "list", "-A", "--kubeconfig", kc])                     # list.go: time.Time String()
    updated = re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC", ls.stdout)
    assert updated and not re.search(r"\.\d*0 \+0000", updated.group(0)), ls.stdout
    search = _run(built, ["helm", "search", "repo", "cilium"])                       # search_repo.go
    assert re.split(r"\s*\t", search.stdout.splitlines()[0].strip()) == ["NAME", "CHART VERSION", "APP VERSION",
                                                                          "DESCRIPTION"]
    assert "cilium/cilium" in search.stdout
    repos = _run(built, ["helm", "repo", "list", "-o", "json"])
    assert {"name": "cilium", "url": "https://helm.cilium.io/"} in json.loads(repos.stdout)
    values = _run(built, ["helm", "show", "values", "cilium/cilium", "--version", "1.18.5"])
    assert values.returncode == 0 and yaml.safe_load(values.stdout)
