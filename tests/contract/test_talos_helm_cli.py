"""The fake helm as a program, against a bootstrapped Talos cluster without a CNI: repositories, the cilium
chart installed and upgraded through the Kubernetes API, the release records, `--set` parsing, the chart's
own refusals, `--wait` passing in virtual time through the control API, and the tools' one kept connection to the
API server."""
from __future__ import annotations

import base64
import gzip
import http.client
import json
import os
import socket
import subprocess

import pytest
import yaml

from labsim.fakes.tools import helm_values
from labsim.fakes.tools.kubeapi import Kube, KubeError
from tests.unit.talos_world import CILIUM, TalosLab


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = TalosLab()
    lab.install()
    lab.bootstrap()
    lab.dir = tmp_path_factory.mktemp("helm")
    kc = lab.call("kubeconfig", "cp-e-1")[0]["result"]["kubeconfig"]
    (lab.dir / "kubeconfig").write_text(kc)
    (lab.dir / "values.yaml").write_text(yaml.safe_dump(CILIUM))
    lab.env = {**os.environ, **lab.sim.talos.tool_env(), "HELM_CONFIG_HOME": str(lab.dir / "helm"),
               "KUBECONFIG": str(lab.dir / "kubeconfig")}
    yield lab
    lab.stop()


def helm(lab, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["helm", *args], env=lab.env, cwd=lab.dir, capture_output=True, text=True, check=False)


def test_version(lab):
    assert helm(lab, "version", "--short").stdout == "v3.16.4+g7877b45\n"


def test_repositories(lab):
    assert helm(lab, "upgrade", "--install", "cilium", "cilium/cilium", "-n", "kube-system").stderr == \
        "Error: UPGRADE FAILED: repo cilium not found\n"
    p = helm(lab, "repo", "add", "cilium", "https://helm.cilium.io/")
    assert (p.returncode, p.stdout) == (0, '"cilium" has been added to your repositories\n')
    assert helm(lab, "repo", "add", "cilium", "https://helm.cilium.io").stdout == \
        '"cilium" already exists with the same configuration, skipping\n'
    bad = helm(lab, "repo", "add", "other", "https://charts.example.org/")
    assert bad.returncode == 1 and bad.stderr.startswith('Error: looks like "https://charts.example.org/" is not a '
                                                         'valid chart repository or cannot be reached')
    assert json.loads(helm(lab, "repo", "list", "-o", "json").stdout) == [{"name": "cilium",
                                                                           "url": "https://helm.cilium.io/"}]
    missing = helm(lab, "template", "c", "cilium/cilium", "--version", "1.99.0")
    assert missing.returncode == 1 and "no chart version found for cilium-1.99.0" in missing.stderr


def test_the_chart_refuses_what_it_refuses(lab):
    p = helm(lab, "template", "cilium", "cilium/cilium", "--set", "kubeProxyReplacement=strict")
    assert (p.returncode, p.stderr) == (1, ("Error: execution error at (cilium/templates/validate.yaml:2:4): "
                                           "kubeProxyReplacement must be explicitly set to a valid value (true or "
                                           "false) to continue.\n"))


def test_install_creates_what_the_chart_creates_and_waits_in_virtual_time(lab):
    before = lab.clock.now()
    p = helm(lab, "upgrade", "--install", "cilium", "cilium/cilium", "--version", "1.18.5", "-n", "kube-system",
             "-f", "values.yaml", "--set", "operator.replicas=1,clustermesh.useAPIServer=true",
             "--set", "clustermesh.apiserver.service.nodePort=30001", "--wait", "--timeout", "10m")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == 'Release "cilium" does not exist. Installing it now.'
    assert lines[1] == "NAME: cilium" and lines[2].startswith("LAST DEPLOYED: ") and lines[3:7] == [
        "NAMESPACE: kube-system", "STATUS: deployed", "REVISION: 1", "TEST SUITE: None"]
    assert "Your release version is 1.18.5." in p.stdout
    assert lab.clock.now() > before and ("clock", "sleep") in lab.sim.talos.control.calls   # waited, virtually
    kube = lab.kube()
    ds = kube.get("daemonsets", "cilium", "kube-system")
    assert ds["metadata"]["labels"]["k8s-app"] == "cilium"
    agent = ds["spec"]["template"]["spec"]["containers"][0]
    assert "SYS_MODULE" not in agent["securityContext"]["capabilities"]["add"]
    assert {"name": "KUBERNETES_SERVICE_HOST", "value": "localhost"} in agent["env"]
    assert kube.get("deployments", "cilium-operator", "kube-system")["spec"]["replicas"] == 1
    cfg = kube.get("configmaps", "cilium-config", "kube-system")["data"]
    assert (cfg["cluster-name"], cfg["cluster-id"], cfg["kube-proxy-replacement"]) == ("talos-east", "1", "true")
    assert set(kube.get("secrets", "cilium-ca", "kube-system")["data"]) == {"ca.crt", "ca.key"}
    svc = kube.get("services", "clustermesh-apiserver", "kube-system")["spec"]
    assert svc["type"] == "NodePort" and svc["ports"][0]["nodePort"] == 30001
    assert all(n["status"]["conditions"][-1]["status"] == "True" or any(
        c["type"] == "Ready" and c["status"] == "True" for c in n["status"]["conditions"]) for n in kube.list("nodes"))


def test_release_records_list_status_values(lab):
    kube = lab.kube()
    sec = kube.get("secrets", "sh.helm.release.v1.cilium.v1", "kube-system")
    assert sec["type"] == "helm.sh/release.v1"
    assert sec["metadata"]["labels"] == {"name": "cilium", "owner": "helm", "status": "deployed", "version": "1"}
    release = json.loads(gzip.decompress(base64.b64decode(base64.b64decode(sec["data"]["release"]))))
    assert release["chart"]["metadata"]["version"] == "1.18.5" and "kind: DaemonSet" in release["manifest"]
    entries = json.loads(helm(lab, "list", "-n", "kube-system", "-o", "json").stdout)
    assert [{k: e[k] for k in ("name", "namespace", "revision", "status", "chart", "app_version")} for e in entries] \
        == [{"name": "cilium", "namespace": "kube-system", "revision": "1", "status": "deployed",
             "chart": "cilium-1.18.5", "app_version": "1.18.5"}]
    assert entries[0]["updated"].endswith(" +0000 UTC")
    assert helm(lab, "list", "-o", "json").stdout == "[]\n"       # the kubeconfig's namespace is default
    values = json.loads(helm(lab, "get", "values", "cilium", "-n", "kube-system", "-o", "json").stdout)
    assert values["operator"] == {"replicas": 1} and values["clustermesh"]["apiserver"]["service"]["nodePort"] == 30001
    assert values["kubeProxyReplacement"] is True
    assert helm(lab, "status", "cilium", "-n", "kube-system").stdout.splitlines()[3] == "STATUS: deployed"


def test_kubeconfig_lists_several_files_and_the_context_picks_one(lab):
    """As client-go merges them: `KUBECONFIG=a:b --kube-context X` finds X in whichever file defines it."""
    kc = yaml.safe_load((lab.dir / "kubeconfig").read_text())
    other = {"apiVersion": "v1", "kind": "Config", "current-context": "elsewhere",
             "clusters": [{"name": "elsewhere", "cluster": {"server": "https://127.0.0.1:1"}}],
             "contexts": [{"name": "elsewhere", "context": {"cluster": "elsewhere", "user": "nobody"}}],
             "users": [{"name": "nobody", "user": {}}]}
    (lab.dir / "other-kubeconfig").write_text(yaml.safe_dump(other))
    env = {**lab.env, "KUBECONFIG": os.pathsep.join([str(lab.dir / "other-kubeconfig"), str(lab.dir / "kubeconfig")])}
    run = lambda *a: subprocess.run(["helm", *a], env=env, cwd=lab.dir, capture_output=True, text=True, check=False)
    r = run("list", "-n", "kube-system", "-o", "json", "--kube-context", kc["current-context"])
    assert r.returncode == 0, r.stderr
    assert [e["name"] for e in json.loads(r.stdout)] == ["cilium"]
    r = run("list", "-n", "kube-system", "--kube-context", "nowhere")
    assert r.returncode == 1 and r.stderr == 'Error: Kubernetes cluster unreachable: context "nowhere" does not exist\n'


def test_upgrade_then_uninstall(lab):
    p = helm(lab, "upgrade", "cilium", "cilium/cilium", "--version", "1.18.5", "-n", "kube-system", "--reuse-values",
             "--set", "operator.replicas=2")
    assert p.stdout.splitlines()[0] == 'Release "cilium" has been upgraded. Happy Helming!'
    assert "REVISION: 2" in p.stdout
    assert lab.kube().get("deployments", "cilium-operator", "kube-system")["spec"]["replicas"] == 2
    assert json.loads(helm(lab, "get", "values", "cilium", "-n", "kube-system", "-o", "json").stdout)[
        "clustermesh"]["useAPIServer"] is True      # reused
    again = helm(lab, "install", "cilium", "cilium/cilium", "-n", "kube-system")
    assert again.stderr == "Error: INSTALLATION FAILED: cannot re-use a name that is still in use\n"
    assert helm(lab, "uninstall", "cilium", "-n", "kube-system").stdout == 'release "cilium" uninstalled\n'
    assert lab.kube().try_get("daemonsets", "cilium", "kube-system") is None
    assert helm(lab, "status", "cilium", "-n", "kube-system").stderr == "Error: release: not found\n"


@pytest.mark.parametrize("text,want", [
    ("a.b=c,d=1,e=true,f=null", {"a": {"b": "c"}, "d": 1, "e": True}),
    ("caps={CHOWN,KILL}", {"caps": ["CHOWN", "KILL"]}),
    ("list[1]=x", {"list": [None, "x"]}),
    (r"name=a\,b,dotted\.key=v", {"name": "a,b", "dotted.key": "v"}),
    ("zip=007", {"zip": "007"}),
])
def test_set_values_parse_as_helm_parses_them(text, want):
    values = {"f": 1}                      # `null` removes a key that is there
    helm_values.parse_set(values, text)
    assert values == (want if "f=null" in text else {"f": 1, **want})


def test_upgrade_values_as_helm_decides_them(lab):
    """pkg/action/upgrade.go: --reuse-values keeps the last release's values under the new ones,
    --reset-then-reuse-values the same (over the new chart's defaults), --reset-values keeps only the new ones
    (and wins over the other two), and an upgrade given no values at all copies the last release's."""
    def values() -> dict:
        return json.loads(helm(lab, "get", "values", "cilium", "-n", "kube-system", "-o", "json").stdout)

    def upgrade(*args: str) -> None:
        p = helm(lab, "upgrade", "--install", "cilium", "cilium/cilium", "--version", "1.18.5", "-n", "kube-system",
                 *args)
        assert p.returncode == 0, p.stderr
    upgrade("-f", "values.yaml", "--set", "envoyConfig.enabled=true")
    upgrade("--reuse-values", "--set", "operator.replicas=1")
    assert values() == {**CILIUM, "envoyConfig": {"enabled": True}, "operator": {"replicas": 1}}
    upgrade("--reset-then-reuse-values", "--set", "operator.replicas=2")
    assert values() == {**CILIUM, "envoyConfig": {"enabled": True}, "operator": {"replicas": 2}}
    upgrade()
    assert values() == {**CILIUM, "envoyConfig": {"enabled": True}, "operator": {"replicas": 2}}
    assert lab.kube().get("deployments", "cilium-operator", "kube-system")["spec"]["replicas"] == 2
    upgrade("--reset-values", "--reuse-values", "-f", "values.yaml", "--set", "operator.replicas=1")
    assert values() == {**CILIUM, "operator": {"replicas": 1}}
    upgrade("-f", "values.yaml")          # new values, no flag: the last ones are not kept
    assert values() == CILIUM


def test_the_tools_keep_one_connection_to_the_api_server_per_run(lab, monkeypatch):
    """As client-go does: one TLS connection for all of a run's requests (a handshake per request was most of what
    the simulated API servers spent on the fake tools), and a kept connection that died meanwhile is opened again;
    with no server, the error is client-go's."""
    connects = []
    connect = http.client.HTTPSConnection.connect
    monkeypatch.setattr(http.client.HTTPSConnection, "connect", lambda self: (connects.append(self), connect(self))[1])
    kube = Kube(str(lab.dir / "kubeconfig"))
    for _ in range(5):
        assert kube.get("Namespace", "kube-system")["metadata"]["name"] == "kube-system"
    assert kube.get("ConfigMap", "no-such-map", "kube-system") is None      # a 404 keeps the connection too
    assert len(connects) == 1
    connects[0].sock.shutdown(socket.SHUT_RDWR)            # the connection dies under the client
    assert kube.list("Namespace") and len(connects) == 2
    gone = Kube(str(lab.dir / "kubeconfig"))
    gone.server = "https://127.0.0.1:1"
    with pytest.raises(KubeError) as err:
        gone.get("Namespace", "default")
    assert err.value.status == 0 and err.value.message == (
        'Kubernetes cluster unreachable: Get "https://127.0.0.1:1/api/v1/namespaces/default": '
        "dial tcp 127.0.0.1:1: connect: connection refused")
