"""The Kubernetes fake through the real `kubectl` (v1.32, as a subprocess, KUBECONFIG written by the server).

kubectl polls and watches in real time while the simulation moves only in virtual time, so commands that wait
(`rollout status`, `wait`, `delete`) run inside `lab.driven()`: a thread advances the virtual clock 20x faster
than real time for as long as the command runs (what `python -m labsim.fakes serve` does at 1x).
"""
from __future__ import annotations

import json

import pytest

from labsim.fakes.kube.testing import find_kubectl, start_kube_lab

pytestmark = pytest.mark.skipif(find_kubectl() is None, reason="kubectl is not installed on this machine")

WEB = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
        ports: [{containerPort: 80, name: http}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
"""

CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
"""

WIDGET = """
apiVersion: example.com/v1
kind: Widget
metadata: {name: w1}
spec: {size: 3}
"""


@pytest.fixture
def lab(tmp_path):
    with start_kube_lab(tmp_path) as lab:
        yield lab


def lines(out: str) -> list[list[str]]:
    return [line.split() for line in out.strip().splitlines()]


def test_get_nodes_pods_and_api_resources(lab):
    r = lab.kubectl("get", "nodes", check=True)
    assert lines(r.stdout) == [["NAME", "STATUS", "ROLES", "AGE", "VERSION"],
                               ["cp-1", "Ready", "control-plane", "10s", "v1.34.1"],
                               ["worker-1", "Ready", "<none>", "10s", "v1.34.1"],
                               ["worker-2", "Ready", "<none>", "10s", "v1.34.1"]]
    wide = lines(lab.kubectl("get", "nodes", "-o", "wide", check=True).stdout)
    assert wide[0][5:7] == ["INTERNAL-IP", "EXTERNAL-IP"] and wide[1][5] == "192.168.15.11"
    pods = lines(lab.kubectl("get", "pods", "-n", "kube-system", "-l", "k8s-app=kube-dns", "-o", "wide",
                             check=True).stdout)
    assert pods[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED", "NODE", "READINESS",
                       "GATES"]
    assert len(pods) == 3 and all(p[1:4] == ["1/1", "Running", "0"] and p[5].startswith("10.244.") for p in pods[1:])
    doc = json.loads(lab.kubectl("get", "pods", "-A", "-o", "json", check=True).stdout)
    assert doc["kind"] == "List" and len(doc["items"]) == 8      # 3 static, 2 coredns, 3 kube-proxy
    res = lab.kubectl("api-resources", check=True).stdout
    assert any(line.split()[:2] == ["deployments", "deploy"] for line in res.splitlines())
    assert any(line.split()[:2] == ["customresourcedefinitions", "crd,crds"] for line in res.splitlines())
    svc = lines(lab.kubectl("get", "svc", "-A", check=True).stdout)
    assert ["kube-system", "kube-dns", "ClusterIP", "10.96.0.10", "<none>", "53/UDP,53/TCP,9153/TCP", "10s"] in svc


def test_not_found_is_the_servers_text(lab):
    r = lab.kubectl("get", "pod", "nope")
    assert r.returncode == 1 and r.stderr.strip() == 'Error from server (NotFound): pods "nope" not found'
    r = lab.kubectl("get", "gadgets")
    assert r.returncode == 1 and 'the server doesn\'t have a resource type "gadgets"' in r.stderr


def test_apply_rollout_scale_and_delete(lab, tmp_path):
    f = tmp_path / "web.yaml"
    f.write_text(WEB)
    r = lab.kubectl("apply", "-f", str(f), check=True)
    assert r.stdout.splitlines() == ["deployment.apps/web created", "service/web created"]
    r = lab.kubectl("apply", "-f", str(f), check=True)
    assert r.stdout.splitlines() == ["deployment.apps/web unchanged", "service/web unchanged"]
    with lab.driven():
        r = lab.kubectl("rollout", "status", "deployment/web", "--timeout=60s", check=True)
    assert r.stdout.strip().endswith('deployment "web" successfully rolled out')
    eps = lines(lab.kubectl("get", "endpointslices", "-l", "kubernetes.io/service-name=web", check=True).stdout)
    assert eps[1][1:3] == ["IPv4", "80"] and len(eps[1][3].split(",")) == 3
    r = lab.kubectl("scale", "deployment/web", "--replicas=1", check=True)
    assert r.stdout.strip() == "deployment.apps/web scaled"
    lab.kubectl("set", "image", "deployment/web", "nginx=nginx:1.28", check=True)
    with lab.driven():
        r = lab.kubectl("rollout", "status", "deployment/web", "--timeout=60s", check=True)
    assert 'deployment "web" successfully rolled out' in r.stdout
    rs = lines(lab.kubectl("get", "rs", check=True).stdout)
    assert sorted(row[1:4] for row in rs[1:]) == [["0", "0", "0"], ["1", "1", "1"]]
    desc = lab.kubectl("describe", "deployment", "web", check=True).stdout
    assert "Replicas:               1 desired | 1 updated | 1 total | 1 available | 0 unavailable" in desc
    assert "Scaled up replica set web-" in desc
    with lab.driven():
        r = lab.kubectl("delete", "deployment", "web", check=True)
    assert r.stdout.strip() == 'deployment.apps "web" deleted'
    lab.clock.sleep(5)
    r = lab.kubectl("get", "pods", check=True)
    assert r.stdout == "" and "No resources found in default namespace." in r.stderr


def test_server_side_apply(lab, tmp_path):
    f = tmp_path / "web.yaml"
    f.write_text(WEB)
    r = lab.kubectl("apply", "--server-side", "-f", str(f), check=True)
    assert r.stdout.splitlines() == ["deployment.apps/web serverside-applied", "service/web serverside-applied"]
    f.write_text(WEB.replace("replicas: 3", "replicas: 2"))
    lab.kubectl("apply", "--server-side", "-f", str(f), check=True)
    d = json.loads(lab.kubectl("get", "deploy", "web", "-o", "json", "--show-managed-fields", check=True).stdout)
    assert d["spec"]["replicas"] == 2
    assert {(m["manager"], m["operation"]) for m in d["metadata"]["managedFields"]} >= {("kubectl", "Apply")}


def test_wait_logs_and_describe_a_pod(lab, tmp_path):
    f = tmp_path / "web.yaml"
    f.write_text(WEB)
    lab.kubectl("apply", "-f", str(f), check=True)
    lab.clock.sleep(0)
    pod = json.loads(lab.kubectl("get", "pods", "-l", "app=web", "-o", "json", check=True).stdout)["items"][0]
    name = pod["metadata"]["name"]
    with lab.driven():
        r = lab.kubectl("wait", "--for=condition=Ready", f"pod/{name}", "--timeout=30s", check=True)
        assert r.stdout.strip() == f"pod/{name} condition met"
        r = lab.kubectl("wait", "--for=jsonpath={.status.phase}=Running", f"pod/{name}", "--timeout=30s", check=True)
        assert r.stdout.strip() == f"pod/{name} condition met"
    lab.cluster.append_log("default", name, "nginx", "hello\nworld")
    logs = lab.kubectl("logs", name, check=True).stdout      # the nginx image's entrypoint lines, then ours
    assert logs.startswith("/docker-entrypoint.sh: ") and logs.endswith("ready for start up\nhello\nworld\n")
    assert lab.kubectl("logs", name, "--tail=1", check=True).stdout == "world\n"
    desc = lab.kubectl("describe", "pod", name, check=True).stdout
    assert "Controlled By:  ReplicaSet/web-" in desc
    assert f"Successfully assigned default/{name} to worker-" in desc
    assert "Started container nginx" in desc
    assert "node.kubernetes.io/not-ready:NoExecute op=Exists for 300s" in desc
    with lab.driven():                  # the kubelet stops the pod; kubectl waits until it is gone
        r = lab.kubectl("delete", "pod", name, check=True)
    assert r.stdout.strip() == f'pod "{name}" deleted'
    assert lab.cluster.try_get("pods", name, "default") is None


def test_custom_resources(lab, tmp_path):
    (tmp_path / "crd.yaml").write_text(CRD)
    (tmp_path / "w.yaml").write_text(WIDGET)
    lab.kubectl("apply", "-f", str(tmp_path / "crd.yaml"), check=True)
    r = lab.kubectl("wait", "--for", "condition=established", "crd/widgets.example.com", "--timeout=10s", check=True)
    assert "condition met" in r.stdout
    assert lab.kubectl("apply", "-f", str(tmp_path / "w.yaml"), check=True).stdout.strip() == \
        "widget.example.com/w1 created"
    assert lab.kubectl("apply", "-f", str(tmp_path / "w.yaml"), check=True).stdout.strip() == \
        "widget.example.com/w1 unchanged"
    (tmp_path / "w.yaml").write_text(WIDGET.replace("size: 3", "size: 5"))
    assert lab.kubectl("apply", "-f", str(tmp_path / "w.yaml"), check=True).stdout.strip() == \
        "widget.example.com/w1 configured"
    rows = lines(lab.kubectl("get", "wd", check=True).stdout)
    assert rows[0] == ["NAME", "SIZE", "AGE"] and rows[1][:2] == ["w1", "5"]
    assert lines(lab.kubectl("get", "crd", check=True).stdout)[1][0] == "widgets.example.com"
    r = lab.kubectl("delete", "widget", "w1", check=True)
    assert r.stdout.strip() == 'widget.example.com "w1" deleted'


def test_cordon_and_label(lab):
    assert lab.kubectl("cordon", "worker-1", check=True).stdout.strip() == "node/worker-1 cordoned"
    rows = lines(lab.kubectl("get", "node", "worker-1", check=True).stdout)
    assert rows[1][1] == "Ready,SchedulingDisabled"
    lab.kubectl("label", "node", "worker-1", "disk=ssd", check=True)
    assert lab.cluster.get("nodes", "worker-1")["metadata"]["labels"]["disk"] == "ssd"
    assert lab.kubectl("uncordon", "worker-1", check=True).stdout.strip() == "node/worker-1 uncordoned"
