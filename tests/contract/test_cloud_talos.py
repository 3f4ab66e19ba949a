"""Talos on a simulated cloud server, through hcloud and the fake talosctl, as an engineer meets it: the image boots
into maintenance mode without user data (and the Talos API answers only where the firewall lets the dial through),
`apply-config --insecure` installs it, and the tailscale extension joins the tailnet; with the machine config as
user data it comes up configured on its own; an image without the extension never joins."""
from __future__ import annotations

import os
import subprocess

import pytest
import requests
import yaml
from hcloud.firewalls import FirewallRule
from hcloud.images import Image
from hcloud.locations import Location
from hcloud.server_types import ServerType

from labsim.fakes.lab import SimulatedLab

LAB = """
lab: {name: cloudy}
cloud:
  providers: [{name: hetzner, kind: hetzner-cloud, token: env:HCLOUD_TOKEN}]
  servers:
    - {name: n1, provider: hetzner, location: fsn1, type: cax11, architecture: arm64, role: controlplane,
       image: {snapshot: talos-ts, talos_version: 1.10.0, extensions: [siderolabs/tailscale]}}
    - {name: n2, provider: hetzner, location: fsn1, type: cax11, architecture: arm64, role: worker,
       image: {snapshot: talos-plain, talos_version: 1.10.0}}
tailnet: {name: "-", api_key: env:TS_API_KEY, auth_key: env:TS_AUTHKEY, tags: [tag:servers]}
clusters:
  - {name: c1, distribution: talos, version: 1.10.0, endpoint: "https://100.64.0.1:6443", cni: none,
     kube_proxy: false, hosts: {control_plane: [n1], workers: [n2]}}
"""


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    path = tmp_path_factory.mktemp("lab") / "cloudy.yaml"
    path.write_text(LAB)
    lab = SimulatedLab(path).start()
    yield lab
    lab.stop()


def hcloud(sim):
    from hcloud import Client
    ep = sim.endpoints()["cloud"]
    c = Client(token=sim.secret("env:HCLOUD_TOKEN"), api_endpoint=ep["hetzner"]["url"])
    s = requests.Session()
    s.verify, s.trust_env = ep["ca"], False
    c._client._session = s
    return c


def talosctl(sim, *args, check=False):
    return subprocess.run(["talosctl", *args], env={**os.environ, **sim.talos.tool_env()}, capture_output=True,
                          text=True, timeout=120, check=check)


def create(sim, name: str, snapshot: str, **kw):
    h = hcloud(sim)
    img = next(i for i in h.images.get_all(type="snapshot") if i.description == snapshot)
    resp = h.servers.create(name=name, server_type=ServerType(name="cax11"), image=Image(id=img.id),
                            location=Location(name="fsn1"), **kw)
    sim.clock.sleep(30)
    return h.servers.get_by_id(resp.server.id)


def config_with_tailscale(tmp_path, sim, hostname: str) -> str:
    talosctl(sim, "gen", "config", "c1", "https://100.64.0.1:6443", "-o", str(tmp_path), "--force",
             "--install-disk", "/dev/sda", check=True)
    docs = [yaml.safe_load((tmp_path / "controlplane.yaml").read_text())]
    docs[0]["machine"]["network"] = {"hostname": hostname}
    docs.append({"apiVersion": "v1alpha1", "kind": "ExtensionServiceConfig", "name": "tailscale", "environment": [
        f"TS_AUTHKEY={sim.secret('env:TS_AUTHKEY')}", f"TS_HOSTNAME={hostname}", "TS_AUTH_ONCE=true"]})
    return yaml.safe_dump_all(docs, sort_keys=False)


def test_maintenance_mode_from_the_image_then_apply(sim, tmp_path) -> None:
    h = hcloud(sim)
    fw = h.firewalls.create(name="only-me", rules=[FirewallRule(
        direction="in", protocol="tcp", port="50000", source_ips=["198.51.100.23/32"])]).firewall
    srv = create(sim, "n1", "talos-ts", firewalls=[fw])
    ip = srv.public_net.ipv4.ip
    r = talosctl(sim, "get", "machinestatus", "--insecure", "-n", ip, "-e", ip, "-o", "json")
    assert r.returncode == 0 and '"stage": "maintenance"' in r.stdout, r.stderr
    path = tmp_path / "n1.yaml"
    path.write_text(config_with_tailscale(tmp_path, sim, "n1"))
    r = talosctl(sim, "apply-config", "--insecure", "-n", ip, "-e", ip, "--file", str(path))
    assert r.returncode == 0, r.stderr
    sim.clock.sleep(120)
    machine = sim.cloud.machine_named("n1")
    assert sim.cloud.tailnet.online(machine)
    ts = sim.cloud.tailnet.address_of(machine)
    r = talosctl(sim, "--talosconfig", str(tmp_path / "talosconfig"), "-n", ts, "-e", ts, "version", "--short")
    assert r.returncode == 0 and "v1.10.0" in r.stdout, r.stderr
    node = sim.talos.talos.node_at(ts)
    assert node.stage in ("booting", "running") and node.events["ext-tailscale"][2] == "OK"
    # the firewall: only the workstation's address may dial 50000; close it and the dial times out
    h.firewalls.set_rules(fw, [])
    sim.clock.sleep(5)
    r = talosctl(sim, "--talosconfig", str(tmp_path / "talosconfig"), "-n", ip, "-e", ip, "version")
    assert r.returncode != 0 and f"dial tcp {ip}:50000: i/o timeout" in r.stderr
    # over the tailnet it still answers; with its tailscale service down it does not
    sim.cloud.tailnet.stop_service(machine)
    r = talosctl(sim, "--talosconfig", str(tmp_path / "talosconfig"), "-n", ts, "-e", ts, "version")
    assert r.returncode != 0 and f"dial tcp {ts}:50000: i/o timeout" in r.stderr


def test_user_data_without_the_extension_in_the_image_never_joins(sim, tmp_path) -> None:
    srv = create(sim, "n2", "talos-plain", user_data=config_with_tailscale(tmp_path, sim, "n2"))
    sim.clock.sleep(120)
    machine = sim.cloud.machine_named("n2")
    assert not sim.cloud.tailnet.online(machine)
    node = sim.talos.talos.node_at(srv.public_net.ipv4.ip)
    assert node is not None and node.stage != "maintenance"              # configured from its user data
    assert node.events["ext-tailscale"][1] == "Failed"
    assert "not installed" in node.events["ext-tailscale"][3]
