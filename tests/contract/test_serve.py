"""`python -m labsim.fakes serve` lets a plain librouteros script log in and configure a device."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import librouteros
import pytest
from librouteros.exceptions import TrapError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def served(tmp_path):
    endpoints = tmp_path / "endpoints.json"
    env = {**os.environ, "ROUTEROS_PASSWORD": "served-secret"}
    proc = subprocess.Popen([sys.executable, "-m", "labsim.fakes", "serve", "labs/aggrik8s.yaml",
                             "--endpoints-file", str(endpoints)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 30
    while not endpoints.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert endpoints.exists(), proc.stdout.read() if proc.poll() is not None else "no endpoints file"
    yield json.loads(endpoints.read_text()), endpoints
    proc.terminate()
    out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0, out
    assert "simulated lab stopped" in out


def test_plain_librouteros_script_configures_a_served_device(served):
    data, path = served
    assert oct(path.stat().st_mode & 0o777) == "0o600"  # it holds credentials
    assert set(data["routeros"]) == {"rb5009-01", "rb5009-02", "crs305-01", "crs328-01"}
    ep = data["routeros"]["rb5009-01"]
    assert ep["host"] == "127.0.0.1" and ep["username"] == "admin" and ep["password"] == "served-secret"
    api = librouteros.connect(host=ep["host"], port=ep["port"], username=ep["username"], password=ep["password"])
    api.path("interface", "bridge").add(name="bridge")
    api.path("interface", "vlan").add(name="VLAN1500", **{"vlan-id": 1500, "interface": "bridge"})
    api.path("ip", "address").add(address="192.168.15.2/24", interface="VLAN1500")
    vlans = list(api.path("interface", "vlan"))
    assert [(v["name"], v["vlan-id"], v["interface"]) for v in vlans] == [("VLAN1500", 1500, "bridge")]
    routes = [r for r in api.path("ip", "route") if r.get("dst-address") == "192.168.15.0/24"]
    assert routes and routes[0]["connect"] is True
    identity = list(api("/system/identity/print"))[0]["name"]
    assert identity == "MikroTik"  # a factory device until the provisioner names it
    api.close()


def test_served_device_refuses_bad_credentials(served):
    data, _ = served
    ep = data["routeros"]["crs305-01"]
    with pytest.raises(TrapError, match="invalid user name or password"):
        librouteros.connect(host=ep["host"], port=ep["port"], username="admin", password="wrong")


def test_env_exports_what_a_shell_using_the_served_lab_needs(served):
    data, path = served
    env = {k: v for k, v in os.environ.items() if k not in ("ROUTEROS_PASSWORD", "KUBECONFIG", "LABSIM_WORKDIR")}
    r = subprocess.run(["sh", "-c", f'eval "$({sys.executable} -m labsim.fakes env {path})" && for t in talosctl helm cilium; '
                                    'do command -v $t; done && echo --- && env -0'],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    where, _, rest = r.stdout.partition("---\n")
    assert where.split() == [f"{data['tools']['bin']}/{t}" for t in ("talosctl", "helm", "cilium")]
    got = dict(item.split("=", 1) for item in rest.split("\0") if "=" in item)
    assert got["ROUTEROS_PASSWORD"] == "served-secret"             # the served value of the lab file's env: reference
    assert got["PATH"].split(os.pathsep)[0] == data["tools"]["bin"]
    assert {k: got[k] for k in data["tools"]["env"]} == data["tools"]["env"]   # the fake tools' control API
    session = data["session"]
    assert got["LABSIM_WORKDIR"] == session["workdir"] and got["HELM_CONFIG_HOME"].startswith(session["helm"])
    assert got["KUBECONFIG"].split(os.pathsep) == [ep["kubeconfig"] for ep in data["kubernetes"].values()]
    assert session["labfile"] == str(ROOT / "labs" / "aggrik8s.yaml")


def test_env_refuses_a_missing_endpoints_file(tmp_path):
    r = subprocess.run([sys.executable, "-m", "labsim.fakes", "env", str(tmp_path / "nope.json")], cwd=ROOT,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "nope.json" in r.stderr and not r.stdout


def test_serve_refuses_an_unreadable_lab_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("routeros:\n  devices:\n    - {identity: x, model: NOPE}\n")
    proc = subprocess.run([sys.executable, "-m", "labsim.fakes", "serve", str(bad), "--endpoints-file",
                           str(tmp_path / "e.json")], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert "unknown model 'NOPE'" in proc.stderr


def test_the_served_clusters_clock_is_kubectls_clock(served, tmp_path):
    """A served lab (time scale 1) runs on the wall clock: `kubectl events` (ages from this machine's clock) and
    `kubectl get events` (ages from the server's) agree, node leases renew on it, and the cluster's Cilium operator
    has registered Cilium's CRDs, as on a real cluster."""
    import re
    from datetime import datetime

    from labsim.fakes.kube.testing import find_kubectl
    if find_kubectl() is None:
        pytest.skip("kubectl is not installed on this machine")
    data, _ = served
    started = time.time()
    env = dict(os.environ, KUBECONFIG=data["kubernetes"]["piCluster"]["kubeconfig"], HOME=str(tmp_path),
               KUBECACHEDIR=str(tmp_path / "cache"))

    def kubectl(*args: str) -> str:
        r = subprocess.run([find_kubectl(), *args], env=env, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        return r.stdout

    def seconds(age: str) -> int:
        m = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", age)
        assert m and age, f"not an age in seconds or minutes: {age!r}"
        return int(m.group(1) or 0) * 60 + int(m.group(2) or 0)

    time.sleep(max(0.0, started + 12 - time.time()))      # more than one lease period (10 s) of the served lab
    t1 = time.monotonic()
    server_side = kubectl("get", "events", "-n", "kube-system")   # the same events, aged by the server's clock
    client_side = kubectl("events", "-n", "kube-system")          # and by this machine's
    between = time.monotonic() - t1                                # the second call ages them by this much more
    assert "<invalid>" not in server_side + client_side
    ages = [seconds(line.split()[0]) for line in server_side.splitlines()[1:]]
    mine = [seconds(line.split()[0]) for line in client_side.splitlines()[1:]]
    assert ages and mine and max(ages) >= 10
    assert -1 <= max(mine) - max(ages) <= between + 1, (server_side, client_side)
    renew = kubectl("get", "lease", "-n", "kube-node-lease", "-o", "jsonpath={.items[0].spec.renewTime}")
    renewed = datetime.fromisoformat(renew.replace("Z", "+00:00")).timestamp()
    assert started + 5 <= renewed <= time.time() + 2, (renew, started)   # renewed since the lab started, on our clock
    assert "customresourcedefinition.apiextensions.k8s.io/ciliumnetworkpolicies.cilium.io" in \
        kubectl("get", "crd", "-o", "name")
