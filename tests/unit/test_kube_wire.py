"""Unit tests of the Kubernetes fake's codecs and rules: the protobuf envelope, Go's JSON decoding, managed
field sets and conflicts, RBAC attributes and texts, the exec shell, the SPDY dictionary."""
from __future__ import annotations

import hashlib

import pytest

from labsim.fakes.clock import VirtualClock
from labsim.fakes.kube import errors as E
from labsim.fakes.kube import gotypes as G
from labsim.fakes.kube import managed as M
from labsim.fakes.kube import protobuf as P
from labsim.fakes.kube import rbac, shell
from labsim.fakes.kube.auth import UserInfo
from labsim.fakes.kube.cluster import KubeCluster
from labsim.fakes.kube.images import lookup
from labsim.fakes.kube.portforward import DICTIONARY


def test_protobuf_envelope_and_special_types():
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "n1"},
             "spec": {"holderIdentity": "n1", "leaseDurationSeconds": -1,
                      "renewTime": "2026-01-01T00:00:01.250000Z"}}
    body = P.encode(lease)
    assert body[:4] == b"k8s\x00"
    back, api_version, kind = P.decode(body)
    assert (api_version, kind) == ("coordination.k8s.io/v1", "Lease")
    assert back["spec"] == {"holderIdentity": "n1", "leaseDurationSeconds": -1,       # a negative int32
                            "renewTime": "2026-01-01T00:00:01.250000Z"}               # MicroTime keeps micros
    with pytest.raises(P.ProtobufError, match="expected prefix"):
        P.decode(b'{"kind":"Lease"}')
    assert P._go_duration(90 * 10 ** 9) == "1m30s" and P._go_duration(3600 * 10 ** 9) == "1h0m0s"
    assert P._go_duration(1_500_000_000) == "1.5s" and P._go_duration(100_000_000) == "100ms"


def test_go_json_decoding_texts():
    with pytest.raises(G.DecodeError) as exc:
        G.decode_json("apps/v1.Deployment", {"spec": {"replicas": "three"}})
    assert str(exc.value) == ("json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of "
                              "type int32")
    with pytest.raises(G.DecodeError) as exc:
        G.decode_json("core/v1.Pod", {"spec": {"containers": [{"name": "c", "ports": [{"containerPort": 1.5}]}]}})
    assert str(exc.value) == ("json: cannot unmarshal number 1.5 into Go struct field ContainerPort.spec.containers."
                              "ports.containerPort of type int32")
    out, unknown = G.decode_json("core/v1.Pod", {"metadata": {"name": "p"}, "spec": {
        "containers": [{"name": "c", "image": "i", "stdin": False, "bogus": 1}], "nope": {}}})
    assert unknown == ["spec.containers[0].bogus", "spec.nope"]
    assert out["spec"]["containers"] == [{"name": "c", "image": "i", "resources": {}}]   # zero bool dropped
    assert out["metadata"]["creationTimestamp"] is None and out["status"] == {}


def test_managed_fields_and_conflict_texts():
    schema = M.Schema("apps/v1.Deployment")
    cfg = {"spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "web", "image": "nginx",
                                                                         "ports": [{"containerPort": 80}]}]}}}}
    paths = M.field_set(cfg, schema)
    assert M.path_string(sorted(paths, key=M.path_string)[0]) == ".spec.replicas"
    assert '.spec.template.spec.containers[name="web"].image' in {M.path_string(p) for p in paths}
    fv1 = M.to_fields_v1(paths)
    assert 'k:{"name":"web"}' in fv1["f:spec"]["f:template"]["f:spec"]["f:containers"]
    assert M.from_fields_v1(fv1) == paths | {p[:7] for p in paths if len(p) > 7 and p[6][0] == "k"}
    e1 = {"manager": "a", "operation": "Apply"}
    e2 = {"manager": "b", "operation": "Update", "apiVersion": "apps/v1"}
    err = M.conflict_error([(e1, (("f", "spec"), ("f", "replicas"))), (e2, (("f", "spec"), ("f", "paused")))])
    assert (err.code, err.reason) == (409, "Conflict")
    assert err.message == ('Apply failed with 2 conflicts: conflicts with "a":\n- .spec.replicas\n'
                           'conflicts with "b" using apps/v1:\n- .spec.paused')


def test_rbac_attributes_and_forbidden_texts():
    a = rbac.attributes("GET", "/api/v1/namespaces/team/pods", {})
    assert (a.verb, a.resource, a.namespace) == ("list", "pods", "team")
    a = rbac.attributes("GET", "/api/v1/namespaces/team", {})
    assert (a.verb, a.resource, a.name, a.namespace) == ("get", "namespaces", "team", "team")
    a = rbac.attributes("GET", "/api/v1/namespaces/x/pods/p/exec", {})
    assert (a.verb, a.subresource) == ("create", "exec")
    assert rbac.attributes("DELETE", "/apis/apps/v1/namespaces/x/deployments", {}).verb == "deletecollection"
    user = UserInfo.of("system:serviceaccount:x:probe", ("system:serviceaccounts",))
    err = rbac.forbidden(user, rbac.attributes("GET", "/api/v1/nodes", {}))
    assert err.message == ('nodes is forbidden: User "system:serviceaccount:x:probe" cannot list resource "nodes" '
                           'in API group "" at the cluster scope')
    err = rbac.forbidden(user, rbac.attributes("GET", "/metrics", {}))
    assert err.message == 'forbidden: User "system:serviceaccount:x:probe" cannot get path "/metrics"'


def test_rbac_evaluates_bindings_and_aggregation():
    c = KubeCluster("r", VirtualClock(), controllers=False)
    user = UserInfo.of("system:serviceaccount:default:probe", ("system:serviceaccounts",))
    list_pods = rbac.attributes("GET", "/api/v1/namespaces/default/pods", {})
    assert rbac.authorize(c, user, list_pods) == (False, "")
    c.create("rolebindings", {"metadata": {"name": "v"}, "roleRef": {"apiGroup": rbac.RBAC, "kind": "ClusterRole",
                                                                     "name": "view"},
                              "subjects": [{"kind": "ServiceAccount", "name": "probe", "namespace": "default"}]},
             "default")
    assert rbac.authorize(c, user, list_pods) == (True, 'RBAC: allowed by RoleBinding "v/default" of ClusterRole '
                                                        '"view" to ServiceAccount "probe/default"')
    assert not rbac.authorize(c, user, rbac.attributes("DELETE", "/api/v1/namespaces/default/pods/x", {}))[0]
    c.create("rolebindings", {"metadata": {"name": "gone"}, "roleRef": {"apiGroup": rbac.RBAC, "kind": "Role",
                                                                        "name": "missing"},
                              "subjects": [{"kind": "ServiceAccount", "name": "probe"}]}, "default")
    assert rbac.authorize(c, user, rbac.attributes("DELETE", "/api/v1/namespaces/default/pods/x", {})) == \
        (False, 'RBAC: role.rbac.authorization.k8s.io "missing" not found')
    assert rbac.authorize(c, UserInfo.of("admin", ("system:masters",)), list_pods)[0]


def test_rbac_answers_follow_every_change_of_roles_and_bindings():
    """authorize keeps its answers per user and request until a role or binding changes: each change below must
    show in the very next answer."""
    c = KubeCluster("r", VirtualClock(), controllers=False)
    user = UserInfo.of("system:serviceaccount:default:probe", ("system:serviceaccounts",))
    get_cm = rbac.attributes("GET", "/api/v1/namespaces/default/configmaps/x", {})
    c.create("roles", {"metadata": {"name": "reader"}, "rules": [{"apiGroups": [""], "resources": ["pods"],
                                                                  "verbs": ["get"]}]}, "default")
    c.create("rolebindings", {"metadata": {"name": "b"}, "roleRef": {"apiGroup": rbac.RBAC, "kind": "Role",
                                                                     "name": "reader"},
                              "subjects": [{"kind": "ServiceAccount", "name": "probe"}]}, "default")
    assert not rbac.authorize(c, user, get_cm)[0]
    role = c.get("roles", "reader", "default")
    role["rules"][0]["resources"].append("configmaps")
    c.update("roles", role, "default")
    assert rbac.authorize(c, user, get_cm)[0]
    c.delete("rolebindings", "b", "default")
    assert rbac.authorize(c, user, get_cm) == (False, "")
    c.create("clusterrolebindings", {"metadata": {"name": "all"}, "roleRef": {"apiGroup": rbac.RBAC,
                                                                              "kind": "ClusterRole", "name": "view"},
                                     "subjects": [{"kind": "Group", "name": "system:serviceaccounts"}]})
    assert rbac.authorize(c, user, get_cm)[0]


@pytest.mark.parametrize("image, script, out, err, code", [
    ("busybox:1.36", "echo a; false && echo b || echo c", "a\nc\n", "", 0),
    ("busybox:1.36", "nosuch", "", "sh: nosuch: not found\n", 127),
    ("nginx:1.27", "nosuch", "", "sh: 1: nosuch: not found\n", 127),
    ("quay.io/cilium/cilium:v1.16.5", "nosuch", "", "sh: line 1: nosuch: command not found\n", 127),
    ("busybox:1.36", "cat /nope", "", "cat: can't open '/nope': No such file or directory\n", 1),
    ("nginx:1.27", "cat /nope", "", "cat: /nope: No such file or directory\n", 1),
    ("curlimages/curl:8.10.1", "id; echo $HOME", "uid=100(curl_user) gid=101(curl_group) groups=101(curl_group)\n"
                                                  "/home/curl_user\n", "", 0),
    ("busybox:1.36", "exit 4; echo no", "", "", 4),
    ("busybox:1.36", "echo 'a;b' \"$HOSTNAME\"", "a;b p\n", "", 0),
])
def test_shell(image, script, out, err, code):
    pod = {"metadata": {"name": "p", "namespace": "default"}, "spec": {"containers": [{"name": "c", "image": image}]}}
    img = lookup(image)
    ctx = shell.Context(pod, "c", img, shell.environment(pod, pod["spec"]["containers"][0], img))
    r = shell.run(ctx, ["sh", "-c", script])
    assert (r.stdout.decode(), r.stderr.decode(), r.exit_code) == (out, err, code)


def test_images_without_a_shell_fail_in_the_runtime():
    pod = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "hashicorp/http-echo:1.0"}]}}
    img = lookup("hashicorp/http-echo:1.0")
    ctx = shell.Context(pod, "c", img, shell.environment(pod, pod["spec"]["containers"][0], img))
    with pytest.raises(shell.RuntimeError_, match=r'exec: "sh": executable file not found in \$PATH'):
        shell.run(ctx, ["sh", "-c", "echo"])


def test_spdy_dictionary_is_the_drafts():
    assert len(DICTIONARY) == 1423
    assert hashlib.sha256(DICTIONARY).hexdigest() == "51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02"


def test_status_texts_unchanged():
    assert E.not_found("configmaps", "x").message == 'configmaps "x" not found'


def test_a_talos_clusters_api_uses_its_own_ca_and_service_account_key(request):
    import base64

    from labsim.fakes.talos import genconfig
    from labsim.fakes.talos.kubelink import KubeLink
    from labsim.fakes.talos.machineconfig import MachineConfig

    def config(name: str, bundle: dict) -> MachineConfig:
        doc = genconfig.machine_config("controlplane", name, "https://10.0.0.1:6443", bundle)
        return MachineConfig.from_doc(doc, genconfig.dump(doc))
    east, west = genconfig.gen_secrets(), genconfig.gen_secrets()
    ca_east = KubeLink.cluster_ca(config("east", east), "east")
    ca_west = KubeLink.cluster_ca(config("west", west), "west")
    for ca in (ca_east, ca_west):   # each made its own folder: leave none behind in the temp dir
        request.addfinalizer(ca.cleanup)
    assert ca_east.cert_pem == base64.b64decode(east["certs"]["k8s"]["crt"])          # cluster.ca, as Talos
    assert ca_west.cert_pem != ca_east.cert_pem
    link = KubeLink("east", VirtualClock(), version="1.34.1", seed=0, pod_subnet="10.244.0.0/16",
                    service_subnet="10.96.0.0/12", ca=ca_east, cni_ready=lambda n: True,
                    sa_key=config("east", east).service_account_key)
    from cryptography.hazmat.primitives import serialization
    want = serialization.load_pem_private_key(base64.b64decode(east["certs"]["k8sserviceaccount"]["key"]), None)
    assert link.cluster.sa_keys.key.private_numbers() == want.private_numbers()
