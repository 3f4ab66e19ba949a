"""The Hetzner Cloud API (https://api.hetzner.cloud/v1) for `hcloud` (hcloud-python) and any HTTP client.

- auth: `Authorization: Bearer <project token>`; anything else is 401 `unauthorized` "unable to authenticate";
- every answer carries `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (3600 requests an hour,
  replenished one per second); a spent budget is 429 `rate_limit_exceeded`;
- errors: `{"error": {"code", "message", "details"}}` with the documented codes (`invalid_input` with
  `details.fields`, `not_found`, `uniqueness_error`, `locked`, `resource_unavailable`, ...); an `X-Correlation-Id`;
- lists: `page`/`per_page` (default 25, at most 50) with `meta.pagination`, filters `name` and `label_selector`
  (`k=v`, `k!=v`, `k`, `!k`, `k in (a,b)`, `k notin (a,b)`), images also `type` and `architecture`;
- servers, server types, locations, datacenters, images, firewalls (with their actions), and actions.
"""
from __future__ import annotations

import re
import uuid
from typing import Any

from labsim.fakes.cloud.hetzner_project import DATACENTERS, ApiError, HetznerProject, invalid
from labsim.fakes.cloud.http import Request, Response

PER_PAGE, MAX_PER_PAGE = 25, 50


class HetznerApi:
    name = "hetzner-cloud"

    def __init__(self, project: HetznerProject):
        self.p = project
        self.lock = project.clock.lock

    def handle(self, req: Request) -> Response:
        with self.lock:
            ok, limits = self.p.take_token()
            headers = [*limits.items(), ("X-Correlation-Id", uuid.UUID(int=self.p.random.getrandbits(128)).hex)]
            try:
                status, body = self._serve(req, ok)
            except ApiError as e:
                status, body = e.status, {"error": {"code": e.code, "message": e.message, "details": e.details}}
            return Response(status, body, headers=headers)

    def _serve(self, req: Request, budget: bool) -> tuple[int, Any]:
        if not req.path.startswith("/v1/"):
            raise ApiError(404, "not_found", "not found")
        scheme, _, token = (req.headers.get("Authorization") or "").partition(" ")
        if scheme != "Bearer" or token.strip() not in self.p.tokens:
            raise ApiError(401, "unauthorized", "unable to authenticate")
        if not budget:
            raise ApiError(429, "rate_limit_exceeded", f"limit of {self.p.rate_limit} requests per hour reached")
        for method, pattern, fault in list(self.p.fail_next):
            if method == req.method and re.fullmatch(pattern, req.path):
                self.p.fail_next.remove((method, pattern, fault))
                raise fault
        parts = req.path[len("/v1/"):].strip("/").split("/")
        body = None
        if req.method in ("POST", "PUT"):
            try:
                body = req.json() or {}
            except ValueError:
                raise ApiError(400, "json_error", "invalid JSON in request body") from None   # (inferred wording)
            if not isinstance(body, dict):
                raise ApiError(400, "json_error", "invalid JSON in request body")
        route = getattr(self, f"_{parts[0]}", None)
        if route is None:
            raise ApiError(404, "not_found", "not found")
        return route(req, parts[1:], body)

    # --- helpers ----------------------------------------------------------------------------------------------------
    def _list(self, req: Request, key: str, items: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
        name = req.arg("name")
        if name is not None:
            items = [i for i in items if i.get("name") == name]
        selector = req.arg("label_selector")
        if selector:
            match = _selector(selector)
            items = [i for i in items if match(i.get("labels") or {})]
        try:
            page = int(req.arg("page") or 1)
            per_page = int(req.arg("per_page") or PER_PAGE)
        except ValueError:
            raise invalid("page", "Not a valid integer.") from None
        if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
            raise invalid("per_page" if page >= 1 else "page", f"Must be between 1 and {MAX_PER_PAGE}.")
        total = len(items)
        last = max(1, (total + per_page - 1) // per_page)
        chunk = items[(page - 1) * per_page: page * per_page]
        return 200, {key: chunk, "meta": {"pagination": {
            "page": page, "per_page": per_page, "previous_page": page - 1 if page > 1 else None,
            "next_page": page + 1 if page < last else None, "last_page": last, "total_entries": total}}}

    @staticmethod
    def _id(text: str, kind: str) -> int:
        if not text.isdigit():
            raise invalid("id", "Not a valid integer.")   # (inferred)
        return int(text)

    def _actions_out(self, actions) -> list[dict[str, Any]]:
        return [a.json(self.p.clock) for a in actions]

    # --- routes ------------------------------------------------------------------------------------------------------
    def _locations(self, req, rest, body):
        if req.method != "GET":
            raise ApiError(405, "method_not_allowed", "method not allowed")   # (inferred)
        locs = [self.p.location_json(n) for n in self.p.locations]
        if rest:
            lid = self._id(rest[0], "location")
            found = [loc for loc in locs if loc["id"] == lid]
            if not found:
                raise ApiError(404, "not_found", f"location with ID '{lid}' not found")
            return 200, {"location": found[0]}
        return self._list(req, "locations", locs)

    def _datacenters(self, req, rest, body):
        out = []
        for name, (dc, desc) in DATACENTERS.items():
            loc = self.p.location_json(name)
            types = [t["id"] for t in self.p.server_types.values() if name in t["locations"]]
            out.append({"id": loc["id"], "name": dc, "description": desc, "location": loc,
                        "server_types": {"supported": types, "available": types, "available_for_migration": types}})
        if rest:
            did = self._id(rest[0], "datacenter")
            found = [d for d in out if d["id"] == did]
            if not found:
                raise ApiError(404, "not_found", f"datacenter with ID '{did}' not found")
            return 200, {"datacenter": found[0]}
        return self._list(req, "datacenters", out)

    def _server_types(self, req, rest, body):
        types = [self.p.server_type_json(t) for t in self.p.server_types.values()]
        if rest:
            tid = self._id(rest[0], "server_type")
            found = [t for t in types if t["id"] == tid]
            if not found:
                raise ApiError(404, "not_found", f"server_type with ID '{tid}' not found")
            return 200, {"server_type": found[0]}
        return self._list(req, "server_types", types)

    def _images(self, req, rest, body):
        if rest:
            iid = self._id(rest[0], "image")
            img = self.p.images.get(iid)
            if img is None:
                raise ApiError(404, "not_found", f"image with ID '{iid}' not found")
            return 200, {"image": img}
        items = sorted(self.p.images.values(), key=lambda i: i["id"])
        types = req.query.get("type")
        if types:
            items = [i for i in items if i["type"] in types]
        arch = req.arg("architecture")
        if arch:
            items = [i for i in items if i["architecture"] == arch]
        return self._list(req, "images", items)

    def _actions(self, req, rest, body):
        if rest:
            aid = self._id(rest[0], "action")
            a = self.p.actions.get(aid)
            if a is None:
                raise ApiError(404, "not_found", f"action with ID '{aid}' not found")
            return 200, {"action": a.json(self.p.clock)}
        ids = [int(x) for x in req.query.get("id", []) if x.isdigit()]
        items = [self.p.actions[i].json(self.p.clock) for i in ids if i in self.p.actions]
        return self._list(req, "actions", items)

    def _servers(self, req, rest, body):
        p = self.p
        if not rest:
            if req.method == "POST":
                s, action, nexts, password = p.create_server(body)
                return 201, {"server": p.server_json(s), "action": action.json(p.clock),
                             "next_actions": self._actions_out(nexts), "root_password": password}
            items = [p.server_json(s) for s in sorted(p.servers.values(), key=lambda s: s.id)]
            status = req.query.get("status")
            if status:
                items = [i for i in items if i["status"] in status]
            return self._list(req, "servers", items)
        s = p.server(self._id(rest[0], "server"))
        if len(rest) == 1:
            if req.method == "GET":
                return 200, {"server": p.server_json(s)}
            if req.method == "PUT":
                if "name" in body:
                    if any(o.name == body["name"] and o.id != s.id for o in p.servers.values()):
                        raise ApiError(409, "uniqueness_error", "server name is already used")
                    s.name = str(body["name"])
                if "labels" in body:
                    s.labels = {str(k): str(v) for k, v in (body["labels"] or {}).items()}
                return 200, {"server": p.server_json(s)}
            if req.method == "DELETE":
                return 200, {"action": p.delete_server(s).json(p.clock)}
        if rest[1] == "actions":
            if len(rest) == 2:
                items = [a.json(p.clock) for a in p.actions.values() if (s.id, "server") in a.resources]
                return self._list(req, "actions", items)
            if req.method == "POST" and rest[2] in ("poweroff", "poweron", "shutdown", "reboot", "reset"):
                return 201, {"action": p.power(s, rest[2]).json(p.clock)}
        raise ApiError(404, "not_found", "not found")

    def _firewalls(self, req, rest, body):
        p = self.p
        if not rest:
            if req.method == "POST":
                fw, actions = p.create_firewall(body)
                return 201, {"firewall": p.firewall_json(fw), "actions": self._actions_out(actions)}
            return self._list(req, "firewalls", [p.firewall_json(f) for f in sorted(p.firewalls.values(),
                                                                                  key=lambda f: f["id"])])
        fid = self._id(rest[0], "firewall")
        fw = p.firewalls.get(fid)
        if fw is None:
            raise ApiError(404, "not_found", f"firewall with ID '{fid}' not found")
        if len(rest) == 1:
            if req.method == "GET":
                return 200, {"firewall": p.firewall_json(fw)}
            if req.method == "PUT":
                if "name" in body:
                    fw["name"] = str(body["name"])
                if "labels" in body:
                    fw["labels"] = {str(k): str(v) for k, v in (body["labels"] or {}).items()}
                return 200, {"firewall": p.firewall_json(fw)}
            if req.method == "DELETE":
                if p._applied(fid):
                    raise ApiError(409, "resource_in_use", "firewall is still in use")   # (inferred wording)
                del p.firewalls[fid]
                return 204, None
        if rest[1] == "actions" and req.method == "POST" and len(rest) == 3:
            if rest[2] == "set_rules":
                return 201, {"actions": self._actions_out(p.set_rules(fw, body.get("rules")))}
            if rest[2] == "apply_to_resources":
                return 201, {"actions": self._actions_out(p.apply_firewall(fw, body.get("apply_to") or []))}
            if rest[2] == "remove_from_resources":
                return 201, {"actions": self._actions_out(p.remove_firewall(fw, body.get("remove_from") or []))}
        raise ApiError(404, "not_found", "not found")


def _selector(text: str):
    """A Hetzner label selector as a predicate over labels."""
    reqs = []
    for part in re.split(r",(?![^()]*\))", text):
        part = part.strip()
        m = re.fullmatch(r"(\S+)\s+(in|notin)\s+\(([^)]*)\)", part)
        if m:
            values = {v.strip() for v in m.group(3).split(",")}
            reqs.append((m.group(1), m.group(2), values))
        elif "!=" in part:
            k, v = part.split("!=", 1)
            reqs.append((k.strip(), "!=", v.strip()))
        elif "==" in part or "=" in part:
            k, v = re.split(r"==?", part, maxsplit=1)
            reqs.append((k.strip(), "=", v.strip()))
        elif part.startswith("!"):
            reqs.append((part[1:], "!", None))
        elif part:
            reqs.append((part, "exists", None))

    def match(labels: dict[str, str]) -> bool:
        for k, op, v in reqs:
            have = labels.get(k)
            if op == "=" and have != v or op == "!=" and have == v or op == "exists" and k not in labels \
                    or op == "!" and k in labels or op == "in" and have not in v or op == "notin" and have in v:
                return False
        return True
    return match
