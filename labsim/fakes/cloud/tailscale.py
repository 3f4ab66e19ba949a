"""The Tailscale API v2 (https://api.tailscale.com/api/v2) for plain HTTP clients (as its documentation shows them:
`curl -u "tskey-api-...:"`) and the `tailscale` Python package: the tailnet's devices (with `fields=default|all`),
a device's routes, tags and authorization, and auth keys.

- auth: `Authorization: Bearer <API access token>`, or HTTP Basic with the token as user name; else 401;
- errors: `{"message": "..."}` with the HTTP status (inferred wording where marked);
- a device object carries `addresses`, `id`, `nodeId`, `name` (MagicDNS), `hostname`, `os`, `clientVersion`,
  `created`, `lastSeen`, `expires`, `keyExpiryDisabled`, `authorized`, `tags`, `connectedToControl`, ...; with
  `fields=all` also `advertisedRoutes`, `enabledRoutes` and `clientConnectivity`.
"""
from __future__ import annotations

import base64
from typing import Any

from labsim.fakes.cloud.http import Request, Response
from labsim.fakes.cloud.tailnet import AuthKey, Device, Tailnet
from labsim.fakes.tools.gofmt import rfc3339nano

ZERO_TIME = "0001-01-01T00:00:00Z"


class TailscaleApi:
    name = "tailscale"
    BASE = "/api/v2/"

    def __init__(self, tailnet: Tailnet, client_version: str):
        self.t = tailnet
        self.version = client_version
        self.lock = tailnet.cloud.clock.lock

    def _when(self, t: float) -> str:
        from datetime import timedelta
        clock = self.t.cloud.clock
        return rfc3339nano((clock.utcnow() - timedelta(seconds=clock.now() - t)).replace(microsecond=0))

    def handle(self, req: Request) -> Response:
        if not req.path.startswith(self.BASE):
            return Response(404, {"message": "not found"})
        token = self._token(req)
        with self.lock:
            if token is None or token != self.t.api_token:
                return Response(401, {"message": "API token invalid"})   # (inferred wording)
            parts = req.path[len(self.BASE):].strip("/").split("/")
            try:
                return self._route(req, parts)
            except ValueError as exc:
                return Response(400, {"message": str(exc)})

    @staticmethod
    def _token(req: Request) -> str | None:
        auth = req.headers.get("Authorization") or ""
        scheme, _, value = auth.partition(" ")
        if scheme == "Bearer":
            return value.strip()
        if scheme == "Basic":
            try:
                user, _, _ = base64.b64decode(value.strip()).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return None
            return user
        return None

    def _route(self, req: Request, parts: list[str]) -> Response:
        if parts[0] == "tailnet" and len(parts) >= 3:
            if parts[1] not in ("-", self.t.name):
                return Response(404, {"message": "tailnet not found"})   # (inferred wording)
            if parts[2] == "devices" and len(parts) == 3 and req.method == "GET":
                fields = req.arg("fields") or "default"
                return Response(200, {"devices": [self._device(d, fields) for d in self._devices()]})
            if parts[2] == "keys":
                return self._keys(req, parts[3:])
        if parts[0] == "device" and len(parts) >= 2:
            dev = self.t.devices.get(parts[1])
            if dev is None:
                return Response(404, {"message": "device not found"})    # (inferred wording)
            if len(parts) == 2:
                if req.method == "GET":
                    return Response(200, self._device(dev, req.arg("fields") or "default"))
                if req.method == "DELETE":
                    del self.t.devices[dev.id]
                    self.t.changed()
                    return Response(200, None)
            elif parts[2] == "routes":
                if req.method == "POST":
                    routes = (req.json() or {}).get("routes")
                    if not isinstance(routes, list):
                        raise ValueError("routes must be a list")
                    dev.enabled_routes = [r for r in routes if r in dev.advertised_routes]
                    self.t.changed()
                return Response(200, {"advertisedRoutes": list(dev.advertised_routes),
                                      "enabledRoutes": list(dev.enabled_routes)})
            elif parts[2] == "tags" and req.method == "POST":
                tags = (req.json() or {}).get("tags")
                if not isinstance(tags, list) or not all(isinstance(t, str) and t.startswith("tag:") for t in tags):
                    raise ValueError("tags must be a list of tag:<name>")
                dev.tags = list(tags)
                return Response(200, None)
            elif parts[2] == "authorized" and req.method == "POST":
                dev.authorized = bool((req.json() or {}).get("authorized"))
                dev.online = dev.online and dev.authorized
                self.t.changed()
                return Response(200, None)
        return Response(404, {"message": "not found"})

    def _devices(self) -> list[Device]:
        return sorted(self.t.devices.values(), key=lambda d: (d.created, d.id))

    def _device(self, d: Device, fields: str) -> dict[str, Any]:
        tagged = bool(d.tags)
        out: dict[str, Any] = {
            "addresses": list(d.addresses), "id": d.id, "nodeId": d.node_id,
            "user": "tagged-devices" if tagged else "owner@example.com", "name": d.name, "hostname": d.hostname,
            "clientVersion": self.version, "updateAvailable": False, "os": "linux",
            "created": self._when(d.created), "lastSeen": self._when(d.last_seen),
            "keyExpiryDisabled": tagged, "expires": ZERO_TIME if tagged else self._when(d.created + 180 * 86400),
            "authorized": d.authorized, "isExternal": False, "machineKey": d.machine_key, "nodeKey": d.node_key,
            "blocksIncomingConnections": False, "tags": list(d.tags), "tailnetLockError": "", "tailnetLockKey": "",
            "connectedToControl": d.online}
        if fields == "all":
            out["advertisedRoutes"] = list(d.advertised_routes)
            out["enabledRoutes"] = list(d.enabled_routes)
            out["clientConnectivity"] = {"endpoints": [], "mappingVariesByDestIP": False, "latency": {},
                                         "clientSupports": {"hairPinning": False, "ipv6": True, "pcp": False,
                                                            "pmp": False, "udp": True, "upnp": False}}
        return out

    # --- keys -----------------------------------------------------------------------------------------------------
    def _key(self, k: AuthKey, secret: bool = False) -> dict[str, Any]:
        out = {"id": k.id, "description": k.description, "created": self._when(k.created),
               "expires": self._when(k.expires), "invalid": k.problem(self.t.cloud.clock.now()) is not None,
               "capabilities": {"devices": {"create": {"reusable": k.reusable, "ephemeral": k.ephemeral,
                                                       "preauthorized": k.preauthorized, "tags": list(k.tags)}}}}
        if k.revoked is not None:
            out["revoked"] = self._when(k.revoked)
        if secret:
            out["key"] = k.secret
        return out

    def _keys(self, req: Request, rest: list[str]) -> Response:
        if not rest:
            if req.method == "GET":
                return Response(200, {"keys": [{"id": k.id, "description": k.description}
                                               for k in self.t.keys.values() if k.revoked is None]})
            if req.method == "POST":
                body = req.json() or {}
                create = ((body.get("capabilities") or {}).get("devices") or {}).get("create") or {}
                tags = list(create.get("tags") or [])
                if any(not str(t).startswith("tag:") for t in tags):
                    raise ValueError("tags must be tag:<name>")
                k = self.t.add_key(tags=tags, reusable=bool(create.get("reusable")),
                                   ephemeral=bool(create.get("ephemeral")),
                                   preauthorized=bool(create.get("preauthorized")),
                                   expiry=float(body.get("expirySeconds") or 90 * 86400),
                                   description=str(body.get("description") or ""))
                return Response(200, self._key(k, secret=True))
        k = self.t.keys.get(rest[0]) if rest else None
        if k is None:
            return Response(404, {"message": "key not found"})   # (inferred wording)
        if req.method == "GET":
            return Response(200, self._key(k))
        if req.method == "DELETE":
            k.revoked = self.t.cloud.clock.now()
            return Response(200, None)
        return Response(404, {"message": "not found"})
