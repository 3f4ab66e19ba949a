"""The Kubernetes fake refuses what a real API server refuses and serves what kubectl needs: the real `kubectl`
(v1.32) against one served lab for the module (protobuf bodies, RBAC and tokens, reviews, explain, OpenAPI,
field validation, server-side apply conflicts, exec, logs, port-forward), plus a second cluster with a CA of
its own for the wrong-kubeconfig case.
"""
from __future__ import annotations

import json
import re
import socket
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from labsim.fakes.kube.testing import find_kubectl, start_kube_lab

pytestmark = pytest.mark.skipif(find_kubectl() is None, reason="kubectl is not installed on this machine")

DEPLOY = """apiVersion: apps/v1
kind: Deployment
metadata: {name: ssa}
spec:
  replicas: %d
  selector: {matchLabels: {app: ssa}}
  template:
    metadata: {labels: {app: ssa}}
    spec: {containers: [{name: nginx, image: nginx:1.27}]}
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    with start_kube_lab(tmp_path_factory.mktemp("kube-api"), workers=2) as lab:
        yield lab


def ok(lab, *args, input=None):
    r = lab.kubectl(*args, input=input)
    assert r.returncode == 0, f"kubectl {' '.join(args)}: {r.stderr}"
    return r.stdout


def fails(lab, *args, input=None):
    r = lab.kubectl(*args, input=input)
    assert r.returncode != 0, f"kubectl {' '.join(args)} succeeded: {r.stdout}"
    return r.stderr


def test_create_built_in_kinds_sent_as_protobuf(lab):
    assert ok(lab, "create", "namespace", "team-a") == "namespace/team-a created\n"
    assert ok(lab, "-n", "team-a", "create", "configmap", "settings", "--from-literal=mode=fast") == \
        "configmap/settings created\n"
    assert ok(lab, "-n", "team-a", "create", "secret", "generic", "creds", "--from-literal=password=s3cr3t") == \
        "secret/creds created\n"
    assert ok(lab, "-n", "team-a", "create", "job", "once", "--image=busybox:1.36", "--", "echo", "hi") == \
        "job.batch/once created\n"
    assert ok(lab, "-n", "team-a", "create", "deployment", "web", "--image=nginx:1.27", "--replicas=2") == \
        "deployment.apps/web created\n"
    assert ok(lab, "-n", "team-a", "create", "service", "clusterip", "web", "--tcp=80:8080") == \
        "service/web created\n"
    assert ok(lab, "-n", "team-a", "create", "serviceaccount", "robot") == "serviceaccount/robot created\n"
    token = ok(lab, "-n", "team-a", "create", "token", "robot").strip()
    assert token.count(".") == 2 and token.startswith("eyJ")
    secret = json.loads(ok(lab, "-n", "team-a", "get", "secret", "creds", "-o", "json"))
    assert secret["data"] == {"password": "czNjcjN0"} and secret["type"] == "Opaque"
    dep = json.loads(ok(lab, "-n", "team-a", "get", "deployment", "web", "-o", "json", "--show-managed-fields"))
    assert dep["spec"]["replicas"] == 2 and dep["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    svc = json.loads(ok(lab, "-n", "team-a", "get", "service", "web", "-o", "json"))
    assert svc["spec"]["ports"] == [{"name": "80-8080", "port": 80, "protocol": "TCP", "targetPort": 8080}]
    assert [m["manager"] for m in dep["metadata"]["managedFields"]][:1] == ["kubectl-create"]


def test_auth_can_i_whoami_and_a_service_account_without_rbac(lab, tmp_path):
    assert ok(lab, "auth", "can-i", "create", "deployments") == "yes\n"
    assert ok(lab, "auth", "whoami") == ("ATTRIBUTE   VALUE\nUsername    admin\n"
                                         "Groups      [system:masters system:authenticated]\n")
    ok(lab, "create", "serviceaccount", "probe")
    r = lab.kubectl("auth", "can-i", "list", "pods", "--as=system:serviceaccount:default:probe")
    assert (r.returncode, r.stdout) == (1, "no\n")
    token = ok(lab, "create", "token", "probe").strip()
    cfg = yaml.safe_load(lab.kubeconfig_path.read_text())
    cfg["users"][0]["user"] = {"token": token}           # the token only: a client certificate would win
    kc = tmp_path / "probe.kubeconfig"
    kc.write_text(yaml.safe_dump(cfg))
    err = fails(lab, "--kubeconfig", str(kc), "get", "pods")
    assert err.strip() == ('Error from server (Forbidden): pods is forbidden: User '
                           '"system:serviceaccount:default:probe" cannot list resource "pods" in API group "" in the '
                           'namespace "default"')
    who = ok(lab, "--kubeconfig", str(kc), "auth", "whoami")
    assert re.search(r"^Username +system:serviceaccount:default:probe$", who, re.M)
    groups = "system:serviceaccounts system:serviceaccounts:default system:authenticated"
    assert re.search(rf"^Groups +\[{groups}\]$", who, re.M)
    ok(lab, "create", "rolebinding", "probe-view", "--clusterrole=view", "--serviceaccount=default:probe")
    assert ok(lab, "--kubeconfig", str(kc), "auth", "can-i", "list", "pods") == "yes\n"
    ok(lab, "--kubeconfig", str(kc), "get", "pods")
    err = fails(lab, "--kubeconfig", str(kc), "delete", "configmap", "kube-root-ca.crt")
    assert 'configmaps "kube-root-ca.crt" is forbidden: User "system:serviceaccount:default:probe" cannot delete ' \
           'resource "configmaps" in API group "" in the namespace "default"' in err
    bad = dict(cfg, users=[{"name": cfg["users"][0]["name"], "user": {"token": token[:-4] + "AAAA"}}])
    kc.write_text(yaml.safe_dump(bad))
    assert "You must be logged in to the server (Unauthorized)" in fails(lab, "--kubeconfig", str(kc), "get", "pods")


def test_explain_and_openapi_v3(lab):
    out = ok(lab, "explain", "pod.spec.containers")
    assert out.startswith("KIND:       Pod\nVERSION:    v1\n\nFIELD: containers <[]Container>\n")
    assert "List of containers belonging to the pod." in out
    assert "  name\t<string> -required-\n" in out and "  resources\t<ResourceRequirements>\n" in out
    assert "FIELD: replicas <integer>" in ok(lab, "explain", "deployment.spec.replicas")
    index = json.loads(ok(lab, "get", "--raw", "/openapi/v3"))
    assert {"api/v1", "apis/apps/v1", "apis/rbac.authorization.k8s.io/v1"} <= set(index["paths"])
    doc = json.loads(ok(lab, "get", "--raw", index["paths"]["apis/apps/v1"]["serverRelativeURL"]))
    dep = doc["components"]["schemas"]["io.k8s.api.apps.v1.Deployment"]
    assert dep["x-kubernetes-group-version-kind"] == [{"group": "apps", "kind": "Deployment", "version": "v1"}]
    containers = doc["components"]["schemas"]["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert containers["x-kubernetes-list-map-keys"] == ["name"] and containers["x-kubernetes-patch-merge-key"] == "name"
    v2 = json.loads(ok(lab, "get", "--raw", "/openapi/v2"))
    assert v2["swagger"] == "2.0" and "io.k8s.api.apps.v1.Deployment" in v2["definitions"]
    assert v2["definitions"]["io.k8s.api.core.v1.Pod"]["x-kubernetes-group-version-kind"] == [
        {"group": "", "kind": "Pod", "version": "v1"}]


CRD = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            description: What the widget should be.
            properties:
              size: {type: integer, description: How big the widget is.}
"""


def test_a_crd_contributes_its_schema_to_explain_and_validation(lab):
    ok(lab, "apply", "-f", "-", input=CRD)
    lab.clock.sleep(5)
    out = ok(lab, "explain", "widget.spec")
    assert out.startswith("GROUP:      example.com\nKIND:       Widget\nVERSION:    v1\n\nFIELD: spec <Object>")
    assert "  size\t<integer>\n    How big the widget is.\n" in out
    widget = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {size: %s}\n"
    assert fails(lab, "apply", "-f", "-", input=widget % "big").strip() == (
        'The Widget "w" is invalid: spec.size: Invalid value: "string": spec.size in body must be of type integer: '
        '"string"')
    err = fails(lab, "apply", "-f", "-", input=widget % "3, bogus: 1")
    assert 'cannot be handled as a Widget: strict decoding error: unknown field "spec.bogus"' in err
    ok(lab, "apply", "-f", "-", input=widget % "3")
    # a patch's result is checked against the schema too (kubectl patch: fieldValidation unset, the server's Warn)
    r = lab.kubectl("patch", "widget", "w", "--type=merge", "-p", '{"spec": {"size": 4, "bogus": 1}}')
    assert r.returncode == 0 and 'Warning: unknown field "spec.bogus"' in r.stderr
    assert ok(lab, "get", "widget", "w", "-o", "jsonpath={.spec}") == '{"size":4}'
    assert fails(lab, "patch", "widget", "w", "--type=merge", "-p", '{"spec": {"size": "big"}}').strip() == (
        'The Widget "w" is invalid: spec.size: Invalid value: "string": spec.size in body must be of type integer: '
        '"string"')
    assert 'strict decoding error: unknown field "spec.bogus"' in fails(lab, "apply", "-f", "-",
                                                                         input=widget % "5, bogus: 1")
    err = fails(lab, "apply", "--server-side", "-f", "-", input=widget % "5, bogus: 1")
    assert err.strip() == ("Error from server: failed to create typed patch object (default/w; example.com/v1, "
                           "Kind=Widget): .spec.bogus: field not declared in schema")


def test_field_validation_strict_and_decode_errors(lab):
    bogus = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bogus}\nbogusField: 1\ndata: {a: b}\n"
    err = fails(lab, "create", "-f", "-", input=bogus)
    assert err.strip() == ('Error from server (BadRequest): error when creating "STDIN": ConfigMap in version "v1" '
                           'cannot be handled as a ConfigMap: strict decoding error: unknown field "bogusField"')
    r = lab.kubectl("create", "-f", "-", "--validate=warn", input=bogus)
    assert r.returncode == 0 and 'Warning: unknown field "bogusField"' in r.stderr
    assert "bogusField" not in ok(lab, "get", "configmap", "bogus", "-o", "yaml")
    err = fails(lab, "apply", "--server-side", "-f", "-", input=bogus.replace("bogus}", "bogus-ssa}"))
    assert err.strip() == ("Error from server: failed to create typed patch object (default/bogus-ssa; v1, "
                           "Kind=ConfigMap): .bogusField: field not declared in schema")
    r = lab.kubectl("patch", "configmap", "bogus", "-p", '{"bogusField": 2, "data": {"a": "c"}}')
    assert r.returncode == 0 and 'Warning: unknown field "bogusField"' in r.stderr
    err = fails(lab, "create", "-f", "-", input=(DEPLOY % 1).replace("replicas: 1", 'replicas: "three"'))
    assert ('Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go '
            'struct field DeploymentSpec.spec.replicas of type int32') in err


def test_server_side_apply_conflict_and_force(lab):
    assert ok(lab, "apply", "--server-side", "-f", "-", input=DEPLOY % 2) == "deployment.apps/ssa serverside-applied\n"
    err = fails(lab, "apply", "--server-side", "--field-manager=other", "-f", "-", input=DEPLOY % 3)
    assert err.startswith('error: Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas\n')
    ok(lab, "apply", "--server-side", "--field-manager=other", "--force-conflicts", "-f", "-", input=DEPLOY % 3)
    dep = json.loads(ok(lab, "get", "deployment", "ssa", "-o", "json", "--show-managed-fields"))
    assert dep["spec"]["replicas"] == 3
    owners = {m["manager"]: m["fieldsV1"] for m in dep["metadata"]["managedFields"]}
    assert "f:replicas" in owners["other"]["f:spec"] and "f:replicas" not in owners["kubectl"]["f:spec"]
    ok(lab, "scale", "deployment", "ssa", "--replicas=5")
    err = fails(lab, "apply", "--server-side", "--field-manager=other", "-f", "-", input=DEPLOY % 3)
    assert 'conflict with "kubectl" with subresource "scale" using apps/v1: .spec.replicas' in err


def test_exec_runs_a_shell_and_logs_are_the_images(lab):
    ok(lab, "run", "toolbox", "--image=busybox:1.36", "--", "sleep", "3600")
    ok(lab, "run", "web", "--image=nginx:1.27")
    lab.clock.sleep(10)
    assert ok(lab, "exec", "toolbox", "--", "sh", "-c", "echo hi; hostname; id -u") == "hi\ntoolbox\n0\n"
    assert 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"' in ok(lab, "exec", "web", "--", "cat", "/etc/os-release")
    r = lab.kubectl("exec", "toolbox", "--", "sh", "-c", "nosuch; echo rc=$?; exit 3")
    assert (r.returncode, r.stdout, r.stderr.splitlines()[0]) == (3, "rc=127\n", "sh: nosuch: not found")
    err = fails(lab, "exec", "toolbox", "--", "bash")
    assert 'exec: "bash": executable file not found in $PATH' in err
    assert ok(lab, "logs", "web").startswith("/docker-entrypoint.sh: ")


def test_exec_sleep_takes_its_time_on_the_labs_clock_and_blocks_no_one(lab):
    """`sleep 5` lets 5 s of the lab's clock pass: virtual time when nothing drives the clock (the exec moves it),
    real time (scaled) when a driver does, while other clients are answered; output before it is sent first."""
    ok(lab, "run", "sleeper", "--image=busybox:1.36", "--", "sleep", "3600")
    lab.clock.sleep(10)
    before = lab.clock.now()
    assert ok(lab, "exec", "sleeper", "--", "sleep", "5") == ""
    assert lab.clock.now() - before >= 5
    r = lab.kubectl("exec", "sleeper", "--", "sleep", "1x")
    assert (r.returncode, r.stderr.splitlines()[0]) == (1, "sleep: invalid number '1x'")
    with lab.driven(scale=6):       # the driver moves virtual time at most 6x real time
        t0, v0 = time.monotonic(), lab.clock.now()
        proc = subprocess.Popen([find_kubectl(), "exec", "sleeper", "--", "sh", "-c", "echo before; sleep 1m; echo after"],
                                env=lab.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout.readline() == "before\n"       # sent before the sleep
        assert ok(lab, "get", "pod", "sleeper", "-o", "name") == "pod/sleeper\n"
        assert proc.poll() is None          # the sleep goes on (10 real seconds); the API answered meanwhile
        out, _ = proc.communicate(timeout=60)
        assert (proc.returncode, out) == (0, "after\n")
        assert lab.clock.now() - v0 >= 60 and time.monotonic() - t0 >= 10


@pytest.fixture(scope="module")
def echo_pod(lab):
    """An echo backend as the mesh demo deploys it (hashicorp/http-echo), running."""
    ok(lab, "create", "deployment", "echo", "--image=hashicorp/http-echo:1.0", "--", "/http-echo", "-listen=:5678",
       "-text=hello from echo")
    lab.clock.sleep(10)
    return ok(lab, "get", "pods", "-l", "app=echo", "-o", "name").split()[0]


def test_port_forward_reaches_the_echo_backend(lab, echo_pod):
    pod = echo_pod
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([find_kubectl(), "port-forward", pod, f"{port}:5678"], env=lab.env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().startswith(f"Forwarding from 127.0.0.1:{port} -> 5678")
        reply = b""
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            conn.sendall(b"GET /hi HTTP/1.1\r\nHost: localhost\r\nUser-Agent: contract-test\r\n\r\n")
            deadline = time.monotonic() + 10
            while b"hello from echo\n" not in reply and time.monotonic() < deadline:
                reply += conn.recv(4096)
        assert reply.startswith(b"HTTP/1.1 200 OK\r\n") and b"X-App-Name: http-echo\r\n" in reply
        assert reply.endswith(b"\r\n\r\nhello from echo\n")
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
    logs = ok(lab, "logs", pod).splitlines()
    assert logs[0].endswith("[INFO] server is listening on :5678")
    assert '"GET /hi HTTP/1.1" 200 16 "contract-test"' in logs[-1]


def test_the_python_clients_port_forward(lab, echo_pod):
    from kubernetes import client
    from kubernetes.stream import portforward
    v1 = client.CoreV1Api(lab.api_client())
    pod = echo_pod.split("/", 1)[1]
    pf = portforward(v1.connect_get_namespaced_pod_portforward, pod, "default", ports="5678")
    sock = pf.socket(5678)
    sock.setblocking(True)
    sock.sendall(b"GET /py HTTP/1.1\r\nHost: echo\r\n\r\n")
    reply = b""
    deadline = time.monotonic() + 10
    while not reply.endswith(b"hello from echo\n") and time.monotonic() < deadline:
        reply += sock.recv(4096)
    sock.close()
    assert reply.startswith(b"HTTP/1.1 200 OK\r\n") and reply.endswith(b"\r\n\r\nhello from echo\n")
    assert pf.error(5678) is None


def test_health_checks_and_metrics(lab):
    out = ok(lab, "get", "--raw", "/readyz?verbose")
    assert out.startswith("[+]ping ok\n[+]log ok\n[+]etcd ok\n") and out.endswith("readyz check passed\n")
    assert ok(lab, "get", "--raw", "/livez/etcd") == "ok"
    metrics = ok(lab, "get", "--raw", "/metrics")
    assert "# TYPE apiserver_request_total counter" in metrics
    assert re.search(r'^apiserver_storage_objects\{resource="namespaces"\} \d+$', metrics, re.M)


def test_a_kubeconfig_is_refused_by_another_clusters_api(lab, tmp_path):
    with start_kube_lab(tmp_path / "other", workers=0, name="other") as other:
        err = fails(lab, "--server", other.server.url, "get", "nodes")
        assert "x509: certificate signed by unknown authority" in err
        cfg = yaml.safe_load(lab.kubeconfig_path.read_text())
        cfg["clusters"][0]["cluster"] = {"server": other.server.url,
                                         "certificate-authority": str(Path(other.ca.cert_path))}
        kc = tmp_path / "mixed.kubeconfig"
        kc.write_text(yaml.safe_dump(cfg))
        # the other cluster's CA is trusted now, but our client certificate is not its CA's. A real apiserver
        # completes the handshake and answers 401; Python's ssl can only check a client certificate in the
        # handshake, so the fake refuses it there (a deviation in how, not in whether)
        assert "tls: unknown certificate authority" in fails(lab, "--kubeconfig", str(kc), "get", "nodes")


def test_list_paging_and_missing_namespace(lab):
    from kubernetes import client
    v1 = client.CoreV1Api(lab.api_client())
    for i in range(3):
        v1.create_namespaced_config_map("default", {"metadata": {"name": f"page-{i}", "labels": {"page": "y"}}})
    plain = v1.list_namespaced_config_map("default", limit=1)
    assert plain.metadata.remaining_item_count is not None
    selected = v1.list_namespaced_config_map("default", limit=1, label_selector="page=y")
    assert selected.metadata._continue and selected.metadata.remaining_item_count is None
    with pytest.raises(client.ApiException) as exc:
        v1.read_namespaced_config_map("nothing", "no-such-namespace")
    assert exc.value.status == 404 and json.loads(exc.value.body)["message"] == 'configmaps "nothing" not found'


def test_one_clock_for_dates_timestamps_and_leases(lab):
    from email.utils import parsedate_to_datetime

    from kubernetes import client
    api = lab.api_client()
    v1 = client.CoreV1Api(api)
    resp = v1.create_namespaced_config_map_with_http_info("default", {"metadata": {"name": "clock"}})
    created = resp[0].metadata.creation_timestamp
    date = parsedate_to_datetime(dict(resp[2])["Date"])
    assert abs((date - created).total_seconds()) <= 1
    assert abs((date.timestamp() - time.time())) < 3600     # the epoch is the lab's start on the wall clock
    coord = client.CoordinationV1Api(api)
    before = coord.read_namespaced_lease("worker-1", "kube-node-lease").spec.renew_time
    lab.clock.sleep(30)
    after = coord.read_namespaced_lease("worker-1", "kube-node-lease").spec.renew_time
    assert (after - before).total_seconds() >= 20


def test_ciliums_operator_registers_its_crds_under_rbac(lab):
    """The chart ships no CRD: cilium-operator creates them at start as its ServiceAccount (1.18's list). Then kubectl
    knows Cilium's kinds (get crd, api-resources, auth can-i without a warning, explain, strict validation)."""
    import yaml as _yaml

    from labsim.fakes.cilium import chart, crds
    crds.install(lab.cluster)
    ok(lab, "-n", "kube-system", "create", "serviceaccount", "cilium-operator")
    ok(lab, "-n", "kube-system", "create", "deployment", "cilium-operator", "--image=quay.io/cilium/operator-generic:v1.18.5")
    ok(lab, "-n", "kube-system", "set", "serviceaccount", "deployment/cilium-operator", "cilium-operator")
    lab.clock.sleep(15)
    assert ok(lab, "get", "crd", "-o", "name").count(".cilium.io") == 0     # its account may not create CRDs yet
    pod = ok(lab, "-n", "kube-system", "get", "pods", "-l", "app=cilium-operator", "-o", "name").split()[0]
    assert 'msg="Unable to create CRDs" error="customresourcedefinitions.apiextensions.k8s.io is forbidden: User ' \
           '\\"system:serviceaccount:kube-system:cilium-operator\\" cannot get resource' in ok(lab, "-n", "kube-system",
                                                                                                "logs", pod)
    rbac = [o for o in chart.rbac(chart.DEFAULTS, "kube-system", "cilium") if o["metadata"]["name"] != "clustermesh-apiserver"]
    ok(lab, "apply", "-f", "-", input=_yaml.safe_dump_all(rbac))
    lab.clock.sleep(15)
    names = sorted(n.split("/", 1)[1] for n in ok(lab, "get", "crd", "-o", "name").split() if n.endswith(".cilium.io"))
    operator_may_update = next(r["resourceNames"] for r in chart.rbac_data()["cilium-operator"]["rules"]
                               if r.get("resourceNames") and r["resources"] == ["customresourcedefinitions"])
    assert names == sorted(operator_may_update) and len(names) == 21
    r = lab.kubectl("auth", "can-i", "list", "ciliumnetworkpolicies.cilium.io",
                    "--as=system:serviceaccount:kube-system:cilium")
    assert (r.returncode, r.stdout, r.stderr) == (0, "yes\n", "")
    r = lab.kubectl("auth", "can-i", "create", "ciliumnetworkpolicies.cilium.io",
                    "--as=system:serviceaccount:kube-system:cilium")
    assert (r.returncode, r.stdout) == (1, "no\n")
    resources = ok(lab, "api-resources", "--api-group=cilium.io")
    assert re.search(r"^ciliumnetworkpolicies +cnp,ciliumnp +cilium.io/v2 +true +CiliumNetworkPolicy$", resources, re.M)
    assert re.search(r"^ciliumendpointslices +ces +cilium.io/v2alpha1 +false +CiliumEndpointSlice$", resources, re.M)
    out = ok(lab, "explain", "cnp.spec.endpointSelector")
    assert out.startswith("GROUP:      cilium.io\nKIND:       CiliumNetworkPolicy\nVERSION:    v2\n\n"
                          "FIELD: endpointSelector <Object>")
    cnp = ("apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: allow}\n"
           "spec: {endpointSelector: {matchLabels: {app: web}}, ingress: [{fromEndpoints: [{}]}]%s}\n")
    err = fails(lab, "apply", "-f", "-", input=cnp % ", bogus: 1")
    assert 'cannot be handled as a CiliumNetworkPolicy: strict decoding error: unknown field "spec.bogus"' in err
    assert ok(lab, "apply", "-f", "-", input=cnp % "") == "ciliumnetworkpolicy.cilium.io/allow created\n"
    assert ok(lab, "get", "cnp", "allow", "-o", "jsonpath={.spec.ingress}") == '[{"fromEndpoints":[{}]}]'
    cnc = "apiVersion: cilium.io/v2\nkind: CiliumNodeConfig\nmetadata: {name: c}\nspec: {defaults: {a: b}}\n"
    assert fails(lab, "create", "-f", "-", input=cnc).strip() == (
        'The CiliumNodeConfig "c" is invalid: spec.nodeSelector: Required value')
    assert fails(lab, "create", "-f", "-", input="apiVersion: cilium.io/v2\nkind: CiliumIdentity\n"
                                                   "metadata: {name: '1234'}\n").strip() == (
        'The CiliumIdentity "1234" is invalid: security-labels: Required value')
    assert ok(lab, "get", "ccnp") == "" and ok(lab, "get", "crd", "ciliumnodes.cilium.io", "-o",
                                               "jsonpath={.metadata.labels}") == \
        '{"io.cilium.k8s.crd.schema.version":"1.32.1"}'
