"""The Tailscale face with plain HTTP as the API documentation shows it (Bearer and Basic auth), and with the
`tailscale` Python package (aiohttp), whose base URL is fixed: its session resolves api.tailscale.com to the face."""
from __future__ import annotations

import asyncio
import ssl

import aiohttp
import pytest
from aiohttp.abc import AbstractResolver

from labsim.fakes.cloud.machine import CloudMachine
from labsim.fakes.cloud.testing import start_clouds

CONFIG = """version: v1alpha1
machine: {type: worker}
---
apiVersion: v1alpha1
kind: ExtensionServiceConfig
name: tailscale
environment: [TS_AUTHKEY=%s, TS_HOSTNAME=%s, TS_ROUTES=10.96.0.0/12, TS_AUTH_ONCE=true]
"""


class Node:
    """The part of a Talos node the tailscale extension uses."""

    def __init__(self, vm: CloudMachine):
        self.vm, self.boot_id, self.stage, self.hostname, self.events = vm, 1, "booting", vm.name, []

    def service(self, *args) -> None:
        self.events.append(args)


def join(clouds, name: str, key: str, ip: str = "49.12.0.10") -> tuple[CloudMachine, Node]:
    vm = CloudMachine(clouds.world, vmid=clouds.world.new_vmid(), name=name, provider="hetzner", location="fsn1",
                      cores=2, memory_mib=4096, disk_gib=40, architecture="arm64", public_ipv4=ip,
                      image={"extensions": ["siderolabs/tailscale"]}, user_data=None)
    vm.world["installed"] = {"config": CONFIG % (key, name)}
    node = Node(vm)
    clouds.world.tailnet.node_booted(node)
    clouds.clock.sleep(10)
    return vm, node


@pytest.fixture
def clouds():
    with start_clouds() as c:
        yield c


def test_devices_routes_keys_over_plain_http(clouds) -> None:
    s = clouds.session()
    base = clouds.endpoints["tailscale"]["url"] + "/api/v2"
    api_key = clouds.secrets["env:TAILSCALE_API_KEY"]
    bearer = {"Authorization": f"Bearer {api_key}"}
    assert s.get(f"{base}/tailnet/-/devices", headers=bearer).json() == {"devices": []}
    assert s.get(f"{base}/tailnet/-/devices", auth=(api_key, "")).status_code == 200      # curl -u "key:"
    assert s.get(f"{base}/tailnet/-/devices", headers={"Authorization": "Bearer nope"}).status_code == 401
    vm, node = join(clouds, "rose", clouds.secrets["env:TS_AUTHKEY"])
    (dev,) = s.get(f"{base}/tailnet/-/devices?fields=all", headers=bearer).json()["devices"]
    assert dev["hostname"] == "rose" and dev["tags"] == ["tag:k8s-operator", "tag:servers"]
    assert dev["addresses"][0].startswith("100.") and dev["connectedToControl"] is True
    assert dev["advertisedRoutes"] == ["10.96.0.0/12"] and dev["enabledRoutes"] == []
    assert "advertisedRoutes" not in s.get(f"{base}/device/{dev['id']}", headers=bearer).json()
    routes = s.post(f"{base}/device/{dev['id']}/routes", json={"routes": ["10.96.0.0/12"]}, headers=bearer).json()
    assert routes == {"advertisedRoutes": ["10.96.0.0/12"], "enabledRoutes": ["10.96.0.0/12"]}
    assert clouds.world.tailnet.address_of(vm) == dev["addresses"][0]
    clouds.world.tailnet.stop_service(vm)
    assert clouds.world.tailnet.address_of(vm) is None
    assert s.get(f"{base}/device/{dev['id']}", headers=bearer).json()["connectedToControl"] is False
    # a second machine called rose (the server was re-created) gets rose-1, as Tailscale names it
    join(clouds, "rose", clouds.secrets["env:TS_AUTHKEY"], ip="49.12.0.11")
    names = sorted(d["name"].split(".")[0] for d in s.get(f"{base}/tailnet/-/devices", headers=bearer).json()["devices"])
    assert names == ["rose", "rose-1"]
    made = s.post(f"{base}/tailnet/-/keys", headers=bearer, json={
        "capabilities": {"devices": {"create": {"reusable": False, "preauthorized": True, "tags": ["tag:servers"]}}},
        "expirySeconds": 3600, "description": "one-off"}).json()
    assert made["key"].startswith(f"tskey-auth-{made['id']}-") and made["capabilities"]["devices"]["create"]["tags"]
    assert "key" not in s.get(f"{base}/tailnet/-/keys/{made['id']}", headers=bearer).json()
    join(clouds, "lily", made["key"], ip="49.12.0.12")
    vm2, node2 = join(clouds, "tulip", made["key"], ip="49.12.0.13")        # one-off key, used: refused
    assert clouds.world.tailnet.address_of(vm2) is None
    assert node2.events[-1][2] == "Fail" and "invalid key" in node2.events[-1][3]
    assert s.delete(f"{base}/tailnet/-/keys/{made['id']}", headers=bearer).status_code == 200
    assert made["id"] not in [k["id"] for k in s.get(f"{base}/tailnet/-/keys", headers=bearer).json()["keys"]]


class ToFace(AbstractResolver):
    def __init__(self, port: int):
        self.port = port

    async def resolve(self, host, port=0, family=0):
        return [{"hostname": host, "host": "127.0.0.1", "port": self.port, "family": 2, "proto": 0, "flags": 0}]

    async def close(self) -> None:
        pass


def test_the_tailscale_package_reads_devices(clouds) -> None:
    from tailscale import Tailscale
    join(clouds, "lily", clouds.secrets["env:TS_AUTHKEY"])
    port = int(clouds.endpoints["tailscale"]["url"].rsplit(":", 1)[1])

    async def main():
        ctx = ssl.create_default_context(cafile=clouds.ca.cert_path)
        conn = aiohttp.TCPConnector(resolver=ToFace(port), ssl=ctx)
        async with aiohttp.ClientSession(connector=conn) as session:
            ts = Tailscale(tailnet="-", api_key=clouds.secrets["env:TAILSCALE_API_KEY"], session=session)
            return await ts.devices()
    devices = asyncio.run(main())
    (d,) = devices.values()
    assert d.hostname == "lily" and d.addresses[0].startswith("100.") and d.tags == ["tag:k8s-operator", "tag:servers"]
