"""The fake talosctl as a program: argv as cobra takes it, outputs and errors as the real talosctl prints them,
exit codes. Runs the real executable (labsim/fakes/bin/talosctl) against a simulated lab with one cluster up."""
from __future__ import annotations

import json
import os
import re
import subprocess

import pytest
import yaml

from labsim.fakes.control import BIN
from labsim.fakes.talos import genconfig
from labsim.provisioners.talos.apply import json_stream as stream
from tests.unit.talos_world import TalosLab


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = TalosLab().for_talosctl(tmp_path_factory.mktemp("talosctl"))
    yield lab
    lab.stop()


def talosctl(lab, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["talosctl", *args], env=env or lab.env, cwd=lab.dir, capture_output=True, text=True, check=False)


def cp1(lab, *args: str) -> subprocess.CompletedProcess:
    ip = lab.ip("cp-e-1")
    return talosctl(lab, "--talosconfig", "talosconfig", "-n", ip, "-e", ip, *args)


def columns(line: str) -> list[str]:
    return re.split(r" {3,}", line.strip())


def test_client_version(lab):
    p = talosctl(lab, "version", "--client", "--short")
    assert (p.returncode, p.stdout) == (0, "Client:\nTalos v1.11.3\n")


def test_version_json_is_the_protojson_response(lab):
    p = cp1(lab, "version", "--json")
    msg = json.loads(p.stdout)["messages"][0]
    assert msg["metadata"] == {"hostname": lab.ip("cp-e-1")}
    assert msg["version"]["tag"] == "v1.11.3" and {"sha", "goVersion", "os", "arch"} <= set(msg["version"])
    assert msg["platform"] == {"name": "metal", "mode": "metal"} and msg["features"] == {"rbac": True}


def test_get_members_json_is_a_stream_of_indented_objects(lab):
    p = cp1(lab, "get", "members", "-o", "json")
    assert p.returncode == 0
    with pytest.raises(ValueError):
        json.loads(p.stdout)                          # not an array: objects one after the other
    objs = stream(p.stdout)
    assert len(objs) == 6 and p.stdout.startswith('{\n    "metadata": {')
    assert list(objs[0]) == ["metadata", "node", "spec"]                      # Go map keys, sorted
    assert objs[0]["metadata"]["type"] == "Members.cluster.talos.dev" and objs[0]["metadata"]["namespace"] == "cluster"
    assert set(objs[0]["spec"]) == {"addresses", "hostname", "machineType", "nodeId", "operatingSystem"}
    assert {o["spec"]["hostname"]: o["spec"]["machineType"] for o in objs}["cp-e-2"] == "controlplane"


def test_get_table(lab):
    lines = cp1(lab, "get", "members").stdout.splitlines()
    assert columns(lines[0]) == ["NODE", "NAMESPACE", "TYPE", "ID", "VERSION", "HOSTNAME", "MACHINE TYPE", "OS",
                                 "ADDRESSES"]
    assert columns(lines[1])[:4] == [lab.ip("cp-e-1"), "cluster", "Member", "cp-e-1"]
    assert columns(lines[1])[-1] == f'["{lab.ip("cp-e-1")}"]'


def test_service_table(lab):
    lines = cp1(lab, "service").stdout.splitlines()
    assert columns(lines[0]) == ["NODE", "SERVICE", "STATE", "HEALTH", "LAST CHANGE", "LAST EVENT"]
    etcd = next(columns(l) for l in lines if " etcd " in l)
    assert etcd[2:4] == ["Running", "OK"] and etcd[4].endswith(" ago") and etcd[5] == "Health check successful"


def test_etcd_members_table_and_the_worker_error(lab):
    lines = cp1(lab, "etcd", "members").stdout.splitlines()
    assert columns(lines[0]) == ["NODE", "ID", "HOSTNAME", "PEER URLS", "CLIENT URLS", "LEARNER"]
    assert [columns(l)[2] for l in lines[1:]] == ["cp-e-1", "cp-e-2", "cp-e-3"]
    assert re.fullmatch(r"[0-9a-f]{16}", columns(lines[1])[1]) and columns(lines[1])[-1] == "false"
    ip = lab.ip("wrk-e-1")
    p = talosctl(lab, "--talosconfig", "talosconfig", "-e", lab.ip("cp-e-1"), "-n", ip, "etcd", "members")
    assert (p.returncode, p.stderr) == (1, ("error getting members: rpc error: code = Unknown desc = member list is "
                                           "only available on control plane nodes\n"))


def test_second_bootstrap(lab):
    p = cp1(lab, "bootstrap")
    assert (p.returncode, p.stdout, p.stderr) == (
        1, "", "error executing bootstrap: rpc error: code = AlreadyExists desc = etcd data directory is not empty\n")


def test_global_flags_anywhere(lab):
    ip = lab.ip("cp-e-1")
    a = talosctl(lab, "get", "nodename", f"--nodes={ip}", "--talosconfig=talosconfig", "-e", ip)
    b = talosctl(lab, "-n", ip, "get", "nodename", "--talosconfig", "talosconfig", f"-e{ip}")
    assert a.returncode == b.returncode == 0 and a.stdout == b.stdout and "cp-e-1" in a.stdout


def test_unknown_commands_and_flags_fail_as_cobra_words_them(lab):
    """talosctl's root (SilenceErrors; cmd/talosctl/cmd/root.go): the error alone, and for a usage mistake a blank line
    and the command's usage; exit 1. Helm: `Error: ...` (cobra's own printing)."""
    for args, first in ((["bogus"], 'unknown command "bogus" for "talosctl"'),
                        (["version", "--bogus"], "unknown flag: --bogus"),
                        (["version", "-x"], "unknown shorthand flag: 'x' in -x"),
                        (["get", "-o"], "flag needs an argument: 'o' in -o"),
                        (["health", "--wait-timeout"], "flag needs an argument: --wait-timeout"),
                        (["health", "--wait-tim", "10s"], "unknown flag: --wait-tim"),      # no abbreviations
                        (["health", "--wait-timeout", "x"],
                         'invalid argument "x" for "--wait-timeout" flag: time: invalid duration "x"'),
                        (["get"], "accepts between 1 and 2 arg(s), received 0")):   # get's cobra.RangeArgs(1, 2)
        p = talosctl(lab, *args)
        assert p.returncode == 1 and p.stdout == "", (args, p.stdout)
        lines = p.stderr.splitlines()
        assert lines[0] == first, (args, p.stderr)
        usage = lines.index("Usage:")
        assert lines[usage - 1] == "" and lines[usage + 1].startswith("  talosctl"), (args, p.stderr)
    bogus = talosctl(lab, "bogus").stderr.splitlines()
    assert bogus[1:5] == ["", "Did you mean this?", "\tlogs", ""]           # cobra's Levenshtein suggestion
    # a command that only groups others prints its help for a word it does not know (legacyArgs checks the root only)
    p = talosctl(lab, "etcd", "bogus")
    assert p.returncode == 0 and p.stdout.startswith("Manage etcd\n\nUsage:\n  talosctl etcd [command]\n")
    helm = subprocess.run(["helm", "list", "--bogus"], env=lab.env, capture_output=True, text=True, check=False)
    assert (helm.returncode, helm.stderr) == (1, "Error: unknown flag: --bogus\n")
    helm = subprocess.run(["helm", "bogus"], env=lab.env, capture_output=True, text=True, check=False)
    assert (helm.returncode, helm.stderr) == (1, 'Error: unknown command "bogus" for "helm"\n'
                                                 "Run 'helm --help' for usage.\n")


def test_several_nodes_at_once(lab):
    ips = [lab.ip("cp-e-1"), lab.ip("wrk-e-2")]
    p = talosctl(lab, "--talosconfig", "talosconfig", "-e", ips[0], "-n", ",".join(ips), "get", "machinestatus",
                 "-o", "json")
    assert [o["node"] for o in stream(p.stdout)] == ips


def test_health_passes_and_its_flags(lab):
    ip = lab.ip("cp-e-1")
    cps = ",".join(lab.ip(n) for n in ("cp-e-1", "cp-e-2", "cp-e-3"))
    workers = ",".join(lab.ip(n) for n in ("wrk-e-1", "wrk-e-2", "wrk-e-3"))
    p = cp1(lab, "health", "--wait-timeout", "2m", "--control-plane-nodes", cps, "--worker-nodes", workers)
    assert p.returncode == 0 and p.stdout == ""
    lines = p.stderr.splitlines()
    assert lines[0].startswith('discovered nodes: ["') and lines[-1] == "waiting for all k8s nodes to report schedulable: OK"
    bad = cp1(lab, "health", "--wait-timeout", "soon")
    assert (bad.returncode, bad.stderr.splitlines()[:3]) == (1, [
        'invalid argument "soon" for "--wait-timeout" flag: time: invalid duration "soon"', "", "Usage:"])
    many = talosctl(lab, "--talosconfig", "talosconfig", "-e", ip, "-n", f"{ip},{lab.ip('cp-e-2')}", "health")
    # root.go prints the usage after any error that mentions "command" (this one included)
    assert (many.returncode, many.stderr.splitlines()[:3]) == (1, [
        'command "health" is not supported with multiple nodes', "", "Usage:"])


def test_the_maintenance_api_on_a_configured_node(lab):
    ip = lab.ip("wrk-e-1")
    p = talosctl(lab, "apply-config", "--insecure", "-n", ip, "--file", "talosconfig")
    assert p.returncode == 1 and p.stderr == (
        'error applying new configuration: rpc error: code = Unavailable desc = connection error: desc = "error '
        'reading server preface: remote error: tls: certificate required"\n')


def test_kubeconfig_is_written_and_merged(lab):
    from kubernetes import client, config
    assert cp1(lab, "kubeconfig", "kc").returncode == 0
    doc = yaml.safe_load((lab.dir / "kc").read_text())
    assert doc["current-context"] == "admin@talos-east"
    assert doc["clusters"][0]["cluster"]["server"].startswith("https://127.0.0.1:")      # the one deviation
    assert "# cluster endpoint: https://192.168.15.10:6443" in (lab.dir / "kc").read_text()
    api = config.new_client_from_config(config_file=str(lab.dir / "kc"))
    assert len(client.CoreV1Api(api).list_node().items) == 6
    assert cp1(lab, "kubeconfig", "kc").returncode == 0                                 # merged: renamed
    merged = yaml.safe_load((lab.dir / "kc").read_text())
    assert [c["name"] for c in merged["contexts"]] == ["admin@talos-east", "admin@talos-east-1"]
    assert cp1(lab, "kubeconfig", "kc", "--force").returncode == 0                      # same names overwritten
    assert len(yaml.safe_load((lab.dir / "kc").read_text())["contexts"]) == 2
    assert cp1(lab, "kubeconfig", "kc", "--force", "--merge=false").returncode == 0     # the file replaced
    assert [c["name"] for c in yaml.safe_load((lab.dir / "kc").read_text())["contexts"]] == ["admin@talos-east"]
    no = cp1(lab, "kubeconfig", "kc", "--merge=false")
    assert no.returncode == 1 and no.stderr.endswith("kc already exists, use --force to overwrite\n")


def test_gen_config_machineconfig_patch_and_config_endpoint(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABSIM_CONTROL")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"

    def run(*args):
        return subprocess.run(["talosctl", *args], env=env, cwd=tmp_path, capture_output=True, text=True, check=False)
    p = run("gen", "config", "c1", "https://10.0.0.1:6443", "--install-disk", "/dev/vda",
            "--config-patch", '[{"op": "add", "path": "/cluster/proxy", "value": {"disabled": true}}]')
    assert p.returncode == 0 and p.stdout.splitlines() == ["generating PKI and tokens", "Created controlplane.yaml",
                                                           "Created worker.yaml", "Created talosconfig"]
    again = run("gen", "config", "c1", "https://10.0.0.1:6443")
    assert again.returncode == 1 and "already exists, use --force to overwrite" in again.stderr
    cp = yaml.safe_load((tmp_path / "controlplane.yaml").read_text())
    assert cp["cluster"]["proxy"] == {"disabled": True} and cp["machine"]["install"]["disk"] == "/dev/vda"
    assert run("machineconfig", "patch", "worker.yaml", "-p", '{"machine":{"network":{"hostname":"w1"}}}', "-o",
               "w1.yaml").returncode == 0
    assert yaml.safe_load((tmp_path / "w1.yaml").read_text())["machine"]["network"]["hostname"] == "w1"
    assert run("--talosconfig", "talosconfig", "config", "endpoint", "10.0.0.2", "10.0.0.3").returncode == 0
    tc = yaml.safe_load((tmp_path / "talosconfig").read_text())
    assert tc["contexts"]["c1"]["endpoints"] == ["10.0.0.2", "10.0.0.3"]
    p = run("--talosconfig", "talosconfig", "version")
    assert p.returncode == 1 and "LABSIM_CONTROL_URL is not set" in p.stderr     # only a simulated lab answers
    assert genconfig.load_patch("{}") == {}
