"""Machine configs: what `gen config` writes, how patches merge, and how machined validates a config (the
errors in its own words, joined as go-multierror joins them)."""
from __future__ import annotations

import pytest

from labsim.fakes.talos import genconfig
from labsim.fakes.talos import machineconfig as MC
from labsim.fakes.talos import texts as T


@pytest.fixture(scope="module")
def bundle():
    return genconfig.gen_secrets()


def cp(bundle, **patch):
    doc = genconfig.machine_config("controlplane", "talos-east", "https://192.168.15.10:6443", bundle,
                                   install_disk="/dev/vda")
    return genconfig.apply_patch(doc, patch) if patch else doc


def test_generated_configs_are_valid_and_shaped_like_talos(bundle):
    for kind in ("controlplane", "worker"):
        doc = genconfig.machine_config(kind, "talos-east", "https://192.168.15.10:6443", bundle)
        assert MC.validate(doc, ["/dev/sda"]) == []
        assert doc["version"] == "v1alpha1" and doc["machine"]["type"] == kind
        assert doc["machine"]["install"] == {"disk": "/dev/sda", "image": "ghcr.io/siderolabs/installer:v1.11.3",
                                             "wipe": False}
        assert doc["machine"]["features"]["kubePrism"] == {"enabled": True, "port": 7445}
        assert doc["cluster"]["controlPlane"]["endpoint"] == "https://192.168.15.10:6443"
    worker = genconfig.machine_config("worker", "talos-east", "https://192.168.15.10:6443", bundle)
    assert worker["machine"]["ca"]["key"] == "" and "etcd" not in worker["cluster"]   # no secrets on workers


def test_same_secrets_same_patches_same_bytes(bundle):
    a = genconfig.dump(cp(bundle, cluster={"network": {"cni": {"name": "none"}}}))
    b = genconfig.dump(cp(bundle, cluster={"network": {"cni": {"name": "none"}}}))
    assert a == b


def test_the_settings_the_node_acts_on(bundle):
    doc = cp(bundle, cluster={"network": {"cni": {"name": "none"}, "podSubnets": ["10.245.0.0/16"]},
                              "proxy": {"disabled": True}},
             machine={"network": {"hostname": "cp-e-1", "interfaces": [{"deviceSelector": {"physical": True},
                                                                      "vip": {"ip": "192.168.15.10"}}]}})
    cfg = MC.MachineConfig.from_text(genconfig.dump(doc))
    assert (cfg.type, cfg.cluster_name, cfg.cni, cfg.proxy_disabled) == ("controlplane", "talos-east", "none", True)
    assert cfg.pod_subnets == ("10.245.0.0/16",) and cfg.service_subnets == ("10.96.0.0/12",)
    assert (cfg.vip, cfg.hostname, cfg.install_disk, cfg.kubeprism, cfg.kubeprism_port) == \
        ("192.168.15.10", "cp-e-1", "/dev/vda", True, 7445)
    assert cfg.kubernetes_version == "1.34.1" and cfg.control_plane


@pytest.mark.parametrize("patch,error", [
    ({"machine": {"type": "master"}}, ["etcd config is only allowed on control plane machines",   # cluster first
                                       'unknown machine type "master"']),
    ({"cluster": {"controlPlane": {"endpoint": None}}}, "cluster controlplane endpoint is required"),
    ({"cluster": {"controlPlane": {"endpoint": "192.168.15.10:6443"}}},
     'invalid controlplane endpoint: "192.168.15.10:6443" is not a valid URL'),
    ({"cluster": {"network": {"cni": {"name": "cilium"}}}}, 'cni name should be one of ["flannel", "custom", "none"]'),
    ({"cluster": {"network": {"podSubnets": ["10.244.0.0/33"]}}}, "invalid CIDR address: 10.244.0.0/33"),
    ({"machine": {"install": {"disk": None}}}, "either install disk or diskSelector should be defined"),
])
def test_validation_errors_in_machineds_words(bundle, patch, error):
    assert MC.validate(cp(bundle, **patch), ["/dev/vda"]) == (error if isinstance(error, list) else [error])


def test_a_vip_on_a_worker_is_refused(bundle):
    doc = genconfig.machine_config("worker", "talos-east", "https://192.168.15.10:6443", bundle)
    doc["machine"]["network"] = {"interfaces": [{"interface": "ens18", "vip": {"ip": "192.168.15.10"}}]}
    assert MC.validate(doc, None) == [T.V_VIP_ON_WORKER]


def test_the_install_disk_must_exist_on_the_machine(bundle):
    """The Talos getting-started guide's example, word for word."""
    doc = genconfig.machine_config("controlplane", "c", "https://10.0.0.1:6443", bundle)    # /dev/sda
    errors = MC.validate(doc, ["/dev/vda", "/dev/vdb"])
    assert T.CONFIG_INVALID.format(errors=T.multierror(errors)) == (
        'configuration validation failed: 1 error occurred:\n\t* specified install disk does not exist: "/dev/sda"\n\n')
    assert MC.validate(doc, None) == []    # a configured node does not install again


def test_parse_errors():
    with pytest.raises(MC.ConfigParseError, match="missing"):
        MC.parse("machine: {}\n")
    with pytest.raises(MC.ConfigParseError, match="error decoding document"):
        MC.parse("version: v1alpha1\nmachine: [\n")


# --- patches ----------------------------------------------------------------------------------------------------
def test_strategic_merge(bundle):
    doc = cp(bundle, cluster={"network": {"podSubnets": ["10.245.0.0/16"]}, "apiServer": {"certSANs": ["vip"]}},
             machine={"certSANs": ["a"], "network": {"interfaces": [{"interface": "ens18", "dhcp": True}]}})
    doc = genconfig.apply_patch(doc, {"machine": {"certSANs": ["b"],
                                                  "network": {"interfaces": [{"interface": "ens18", "mtu": 9000},
                                                                             {"interface": "ens19"}]}}})
    assert doc["cluster"]["network"]["podSubnets"] == ["10.245.0.0/16"]          # replaced, not appended
    assert doc["machine"]["certSANs"] == ["b"]                                    # merge:"replace" in Talos
    assert doc["machine"]["network"]["interfaces"] == [{"interface": "ens18", "dhcp": True, "mtu": 9000},
                                                       {"interface": "ens19"}]  # merged by name
    doc = genconfig.apply_patch(doc, {"cluster": {"proxy": {"$patch": "delete"}}})
    assert "proxy" not in doc["cluster"]


def test_json6902_patches(bundle):
    doc = genconfig.apply_patch(cp(bundle), [
        {"op": "add", "path": "/machine/network/hostname", "value": "cp-e-1"},
        {"op": "replace", "path": "/cluster/network/cni", "value": {"name": "none"}},
        {"op": "remove", "path": "/machine/certSANs"},
    ])
    assert doc["machine"]["network"]["hostname"] == "cp-e-1" and doc["cluster"]["network"]["cni"] == {"name": "none"}
    assert "certSANs" not in doc["machine"]
    with pytest.raises(genconfig.PatchError, match="missing"):
        genconfig.apply_patch(doc, [{"op": "remove", "path": "/machine/nothing"}])


# --- texts ---------------------------------------------------------------------------------------------------------
def test_go_formats():
    assert T.multierror(["a"]) == "1 error occurred:\n\t* a\n\n"
    assert T.multierror(["a", "b"]) == "2 errors occurred:\n\t* a\n\t* b\n\n"
    assert T.ibytes(4744 * 1024 ** 2) == "4.6 GiB" and T.ibytes(23 * 1024 ** 3) == "23 GiB" and T.ibytes(512) == "512 B"
    assert T.go_quote_list(["10.5.0.2", "10.5.0.3"]) == '["10.5.0.2" "10.5.0.3"]'
    assert T.go_list(["n1", "n2"]) == "[n1 n2]"
