"""The Cloudflare API v4 for the official `cloudflare` client: token verification, zones, and DNS records (list with
filters and pagination, create, patch, overwrite, delete), answering in Cloudflare's envelope
`{"success", "errors": [{"code", "message"}], "messages", "result", "result_info"}`.

Sources: developers.cloudflare.com/api (zones, dns records: parameters, per_page limits, record fields), and the
error bodies real clients report (cloudflare-ddns, ddns-go, cert-manager issues): 81058 "An identical record already
exists.", 81044 "Record does not exist.", 81053/81054 (A/AAAA/CNAME with the same name), 9106/9107 (no credentials),
6003 with error_chain 6111 (a malformed Authorization header), 10000 "Authentication error" (a token that may not do
this), 1000 "Invalid API Token" (token verification), 7003 (an unknown zone id), 7000 "No route for that URI".
Codes marked (inferred) are not confirmed by a source.
"""
from __future__ import annotations

import hashlib
import ipaddress
import re
from typing import Any

from labsim.fakes.cloud.http import Request, Response
from labsim.fakes.cloud.zone import NAME_SERVERS, Zone

SAME_NAME_DOC = "https://developers.cloudflare.com/dns/manage-dns-records/troubleshooting/records-with-same-name/"
TYPES = ("A", "AAAA", "CNAME", "TXT", "MX", "NS", "CAA", "SRV")
_TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")
_ID = re.compile(r"^[0-9a-f]{32}$")
NOT_PROXIABLE = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
                                                    "127.0.0.0/8", "169.254.0.0/16")]


def envelope(result: Any = None, *, errors: list[dict] | None = None, info: dict | None = None,
             messages: list | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"result": result, "success": not errors, "errors": errors or [], "messages": messages or []}
    if info is not None:
        out["result_info"] = info
    return out


def fail(status: int, *errors: tuple[int, str], chain: list[tuple[int, str]] | None = None) -> Response:
    errs = [{"code": c, "message": m} for c, m in errors]
    if chain:
        errs[0]["error_chain"] = [{"code": c, "message": m} for c, m in chain]
    return Response(status, envelope(None, errors=errs))


class CloudflareApi:
    name = "cloudflare"
    BASE = "/client/v4"

    def __init__(self, zone: Zone):
        self.zone = zone
        self.lock = zone.cloud.clock.lock

    # --- entry --------------------------------------------------------------------------------------------------------
    def handle(self, req: Request) -> Response:
        if not req.path.startswith(self.BASE + "/"):
            return fail(400, (7000, "No route for that URI"))
        path = req.path[len(self.BASE):].rstrip("/")
        auth = req.headers.get("Authorization")
        if auth is None and req.headers.get("X-Auth-Key") is None:
            return fail(400, (9106, "Missing X-Auth-Email header"), (9107, "Missing X-Auth-Key header"))
        if auth is None:
            return fail(400, (6003, "Invalid request headers"), chain=[(6103, "Invalid format for X-Auth-Key header")])
        scheme, _, token = auth.partition(" ")
        if scheme != "Bearer" or not _TOKEN.match(token.strip()):
            return fail(400, (6003, "Invalid request headers"),
                        chain=[(6111, "Invalid format for Authorization header")])
        token = token.strip()
        with self.lock:
            grant = self.zone.tokens.get(token)
            if path == "/user/tokens/verify":
                if grant is None:
                    return fail(401, (1000, "Invalid API Token"))
                return Response(200, envelope({"id": hashlib.md5(token.encode()).hexdigest(), "status": "active"},
                                              messages=[{"code": 10000, "message": "This API Token is valid and "
                                                                                    "active", "type": None}]))
            if grant is None:
                return fail(403, (10000, "Authentication error"))
            return self._route(req, path, grant)

    def _route(self, req: Request, path: str, grant: str) -> Response:
        parts = path.strip("/").split("/")
        if parts == ["zones"]:
            return self._zones(req) if req.method == "GET" else fail(405, (10000, "Method not allowed"))  # (inferred)
        if len(parts) >= 2 and parts[0] == "zones":
            if not _ID.match(parts[1]) or parts[1] != self.zone.id:
                return fail(400 if len(parts) > 2 else 404, (7003, f"Could not route to {req.path[len(self.BASE):]}, "
                                                                   f"perhaps your object identifier is invalid?"))
            if len(parts) == 2:
                return Response(200, envelope(self._zone_obj())) if req.method == "GET" else \
                    fail(405, (10000, "Method not allowed"))
            if parts[2] == "dns_records":
                if req.method != "GET" and grant != "edit":
                    return fail(403, (10000, "Authentication error"))
                if len(parts) == 3:
                    if req.method == "GET":
                        return self._list(req)
                    if req.method == "POST":
                        return self._create(req)
                    return fail(405, (10000, "Method not allowed"))
                if len(parts) == 4:
                    return self._one(req, parts[3])
        return fail(400, (7000, "No route for that URI"))

    # --- zones ----------------------------------------------------------------------------------------------------------
    def _zone_obj(self) -> dict[str, Any]:
        z = self.zone
        return {"id": z.id, "name": z.name, "status": "active", "paused": False, "type": "full",
                "development_mode": 0, "name_servers": list(NAME_SERVERS),
                "original_name_servers": ["ns1.example-registrar.net", "ns2.example-registrar.net"],
                "original_registrar": None, "original_dnshost": None, "modified_on": z.created,
                "created_on": z.created, "activated_on": z.created, "vanity_name_servers": [],
                "meta": {"step": 2, "custom_certificate_quota": 0, "page_rule_quota": 3, "phishing_detected": False},
                "owner": {"id": None, "type": "user", "email": None},
                "account": {"id": z.account_id, "name": "Lab owner's account"},
                "permissions": ["#dns_records:edit", "#dns_records:read", "#zone:read"],
                "plan": {"id": "0feeeeeeeeeeeeeeeeeeeeeeeeeeeeee", "name": "Free Website", "price": 0,
                         "currency": "USD", "frequency": "", "is_subscribed": False, "can_subscribe": False,
                         "legacy_id": "free", "legacy_discount": False, "externally_managed": False}}

    def _zones(self, req: Request) -> Response:
        zones = [self._zone_obj()]
        name = req.arg("name")
        if name is not None:
            zones = [z for z in zones if z["name"] == name.lower()]
        status = req.arg("status")
        if status is not None:
            zones = [z for z in zones if z["status"] == status]
        return self._page(req, zones, default=20, maximum=50)

    # --- dns records ----------------------------------------------------------------------------------------------------
    def _list(self, req: Request) -> Response:
        rows = list(self.zone.records.values())
        filters = []
        for field in ("name", "content", "comment"):
            for op in ("exact", "contains", "startswith", "endswith", "present", "absent"):
                key = field if op == "exact" and req.arg(field) is not None else f"{field}.{op}"
                value = req.arg(key)
                if value is None:
                    continue
                if field == "name" and op in ("exact",):
                    value = self.zone.fqdn(value)
                filters.append((field, op, value))
        typ = req.arg("type")
        if typ is not None:
            filters.append(("type", "exact", typ))
        proxied = req.arg("proxied")
        if proxied is not None:
            filters.append(("proxied", "exact", proxied))
        any_match = req.arg("match") == "any"
        if filters:
            rows = [r for r in rows if (any if any_match else all)(_matches(r, f, op, v) for f, op, v in filters)]
        order = req.arg("order") or "type"
        reverse = req.arg("direction") == "desc"
        if order not in ("type", "name", "content", "ttl", "proxied"):
            return fail(400, (9000, f"Invalid order: {order}"))   # (inferred)
        rows.sort(key=lambda r: (str(r.get(order)), r["name"], r["id"]), reverse=reverse)
        return self._page(req, [_public(r) for r in rows], default=100, maximum=5_000_000)

    def _page(self, req: Request, items: list[dict], *, default: int, maximum: int) -> Response:
        try:
            page = int(float(req.arg("page") or 1))
            per_page = int(float(req.arg("per_page") or default))
        except ValueError:
            return fail(400, (1004, "DNS Validation Error"))   # (inferred)
        page = max(page, 1)
        per_page = min(max(per_page, 5), maximum)
        total = len(items)
        chunk = items[(page - 1) * per_page: page * per_page]
        pages = (total + per_page - 1) // per_page
        return Response(200, envelope(chunk, info={"page": page, "per_page": per_page, "count": len(chunk),
                                                   "total_count": total, "total_pages": pages}))

    def _validate(self, body: dict[str, Any], current: dict[str, Any] | None = None) -> tuple[dict, Response | None]:
        rec = {**(current or {}), **{k: v for k, v in body.items() if k in ("name", "type", "content", "ttl",
                                                                            "proxied", "comment", "tags")}}
        for key in ("name", "type", "content"):
            if not rec.get(key):
                return rec, fail(400, (9000 + {"name": 7, "type": 4, "content": 5}[key],
                                       f"DNS record {key} is required"))   # codes (inferred)
        rec["name"] = self.zone.fqdn(str(rec["name"]))
        rec["type"] = str(rec["type"]).upper()
        if rec["type"] not in TYPES:
            return rec, fail(400, (9004, "DNS record type is invalid."))
        if rec["type"] == "A":
            try:
                ipaddress.IPv4Address(str(rec["content"]))
            except ValueError:
                return rec, fail(400, (9005, "Content for A record must be a valid IPv4 address."))
        ttl = rec.get("ttl", 1)
        # the API's schema says `number` and the official client models TTL as a float: a record read back and
        # sent again carries 3600.0, which Cloudflare takes as 3600 (a fractional TTL is refused here: inferred)
        if isinstance(ttl, float) and ttl.is_integer():
            ttl = rec["ttl"] = int(ttl)
        if not isinstance(ttl, int) or isinstance(ttl, bool) or (ttl != 1 and not 60 <= ttl <= 86400):
            return rec, fail(400, (9021, "Invalid TTL. Must be between 60 and 86400 seconds, or 1 for Automatic."))
        if rec.get("proxied") and rec["type"] == "A" and any(ipaddress.IPv4Address(rec["content"]) in n
                                                             for n in NOT_PROXIABLE):
            return rec, fail(400, (9003, f"Target {rec['content']} is not allowed for a proxied record."))  # (inferred)
        comment = rec.get("comment")
        if comment is not None and len(str(comment)) > 100:
            return rec, fail(400, (9101, f"DNS record has {len(str(comment))} characters in comment, exceeds the "
                                         f"limit of 100."))   # the Free plan's limit (inferred wording)
        others = [r for r in self.zone.records.values() if r["name"] == rec["name"] and r["id"] != rec.get("id")]
        if any(r["type"] == rec["type"] and r["content"] == rec["content"] for r in others):
            return rec, fail(400, (81058, "An identical record already exists."))
        if rec["type"] == "CNAME" and any(r["type"] in ("A", "AAAA", "CNAME") for r in others):
            return rec, fail(400, (81053, f"An A, AAAA, or CNAME record with that host already exists. For more "
                                          f"details, refer to <{SAME_NAME_DOC}>."))
        if rec["type"] in ("A", "AAAA") and any(r["type"] == "CNAME" for r in others):
            return rec, fail(400, (81054, f"A CNAME record with that host already exists. For more details, refer to "
                                          f"<{SAME_NAME_DOC}>."))
        return rec, None

    def _body(self, req: Request) -> tuple[dict[str, Any] | None, Response | None]:
        try:
            body = req.json()
        except ValueError:
            return None, fail(400, (9207, "Request body is invalid."))   # (inferred)
        if not isinstance(body, dict):
            return None, fail(400, (9207, "Request body is invalid."))
        return body, None

    def _create(self, req: Request) -> Response:
        body, err = self._body(req)
        if err:
            return err
        assert body is not None
        rec, err = self._validate(body)
        if err:
            return err
        new = self.zone.add(rec)
        return Response(200, envelope(_public(new)))

    def _one(self, req: Request, rid: str) -> Response:
        rec = self.zone.records.get(rid)
        if rec is None:
            return fail(404, (81044, "Record does not exist."))
        if req.method == "GET":
            return Response(200, envelope(_public(rec)))
        if req.method == "DELETE":
            del self.zone.records[rid]
            return Response(200, envelope({"id": rid}))
        if req.method in ("PATCH", "PUT"):
            body, err = self._body(req)
            if err:
                return err
            assert body is not None
            base = rec if req.method == "PATCH" else {"id": rid, "ttl": 1, "proxied": False, "comment": None}
            new, err = self._validate(body, base)
            if err:
                return err
            now = self.zone.now()
            if new.get("comment") != rec.get("comment"):
                new["comment_modified_on"] = now
            new.update({"id": rid, "created_on": rec["created_on"], "modified_on": now,
                        "proxiable": new["type"] in ("A", "AAAA", "CNAME"), "settings": rec.get("settings", {}),
                        "meta": rec.get("meta", {})})
            self.zone.records[rid] = new
            return Response(200, envelope(_public(new)))
        return fail(405, (10000, "Method not allowed"))   # (inferred)


def _public(rec: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rec.items() if v is not None or k == "comment"}


def _matches(rec: dict[str, Any], field: str, op: str, value: str) -> bool:
    have = rec.get(field)
    if field == "proxied":
        return str(bool(have)).lower() == value.lower()
    if op == "present":
        return bool(have)
    if op == "absent":
        return not have
    if have is None:
        return False
    have, value = str(have).lower(), value.lower()
    return {"exact": have == value, "contains": value in have, "startswith": have.startswith(value),
            "endswith": have.endswith(value)}[op]
