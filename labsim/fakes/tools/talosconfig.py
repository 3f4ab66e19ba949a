"""Client configuration files the fake talosctl reads and writes: talosconfig and kubeconfig.

talosconfig: `--talosconfig`, else $TALOSCONFIG, else ~/.talos/config; the context from `--context`, else
the file's `context`. kubeconfig: `talosctl kubeconfig [PATH]` merges into PATH (default ~/.kube/config),
renaming a clashing cluster/user/context with a `-1` suffix unless `--force` overwrites it.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from labsim import fastyaml


class ConfigError(Exception):
    pass


def talosconfig_path(flag: str | None) -> Path:
    if flag:
        return Path(flag).expanduser()
    if os.environ.get("TALOSCONFIG"):
        return Path(os.environ["TALOSCONFIG"]).expanduser()
    return Path.home() / ".talos" / "config"


def load(path: Path) -> dict[str, Any]:
    try:
        return fastyaml.load(path.read_text()) or {}
    except FileNotFoundError:
        return {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"failed to parse config: {exc}") from None


def context(doc: dict[str, Any], name: str | None) -> dict[str, Any]:
    name = name or doc.get("context")
    ctx = (doc.get("contexts") or {}).get(name or "")
    if ctx is None:
        if name:
            raise ConfigError(f"context {name!r} is not defined in 'contexts' key in config")
        raise ConfigError("failed to determine endpoints")
    return ctx


def merge(doc: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Config.Merge (pkg/machinery/client/config/config.go): contexts of `new` join `doc`, a clashing name gets the
    first free `-N` suffix; the current context becomes `new`'s (renamed). Returns the renames, `"a" -> "a-1"`."""
    have = doc.setdefault("contexts", {})
    mapped: dict[str, str] = {}
    renames = []
    for name, ctx in (new.get("contexts") or {}).items():
        merged, i = name, 1
        while merged in have:
            merged, i = f"{name}-{i}", i + 1
        mapped[name] = merged
        if merged != name:
            renames.append(f'"{name}" -> "{merged}"')
        have[merged] = ctx
    if new.get("context"):
        doc["context"] = mapped.get(new["context"], "")
    return renames


def info(doc: dict[str, Any], name: str) -> dict[str, Any]:
    """talosconfigInfo (cmd/talosctl/cmd/talos/config.go configInfo): the context's nodes and endpoints, and from its
    client certificate the roles (its organizations) and when it expires."""
    import base64
    from datetime import UTC, datetime

    from cryptography import x509
    from cryptography.x509.oid import NameOID

    ctx = (doc.get("contexts") or {}).get(name) or {}
    roles: list[str] = []
    ttl = not_after = ""
    if ctx.get("crt"):
        try:
            crt = x509.load_pem_x509_certificate(base64.b64decode(ctx["crt"]))
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        roles = sorted(a.value for a in crt.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME))
        end = crt.not_valid_after_utc
        ttl = _rel_time(end, datetime.now(UTC))
        not_after = end.strftime("%Y-%m-%d")
    return {"context": name, "nodes": ctx.get("nodes") or None, "endpoints": ctx.get("endpoints") or None,
            "roles": roles or None, "certTTL": ttl, "certNotAfter": not_after}


def _rel_time(a, b) -> str:
    """go-humanize RelTime(a, b, "ago", "from now") with its default magnitudes."""
    secs = (a - b).total_seconds()
    label = "from now" if secs >= 0 else "ago"
    secs = abs(secs)
    for limit, div, unit in ((1, 1, "now"), (2, 1, "1 second"), (60, 1, "seconds"), (120, 1, "1 minute"),
                             (3600, 60, "minutes"), (7200, 1, "1 hour"), (86400, 3600, "hours"), (172800, 1, "1 day"),
                             (604800, 86400, "days"), (1209600, 1, "1 week"), (2592000, 604800, "weeks"),
                             (5184000, 1, "1 month"), (31536000, 2592000, "months"), (63072000, 1, "1 year")):
        if secs < limit:
            if unit == "now":
                return "now"
            return f"{int(secs // div)} {unit} {label}" if unit.endswith("s") and div > 1 or unit == "seconds" \
                else f"{unit} {label}"
    return f"{int(secs // 31536000)} years {label}"


def save(path: Path, doc: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, sort_keys=False, indent=4))
    path.chmod(0o600)


def merge_kubeconfig(path: Path, text: str, *, force: bool, merge: bool) -> None:
    """Write `text` (a kubeconfig) to `path`, merging with what is there the way talosctl does."""
    if path.is_dir():
        path = path / "kubeconfig"
    if not path.exists() or not merge:
        if path.exists() and not force:
            raise ConfigError(f"{path} already exists, use --force to overwrite")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(0o600)
        return
    have = yaml.safe_load(path.read_text()) or {}
    new = yaml.safe_load(text)
    renames: dict[str, str] = {}
    for section in ("clusters", "users", "contexts"):
        existing = {e["name"]: e for e in have.get(section) or []}
        for entry in new.get(section) or []:
            name = entry["name"]
            if name in existing and not force:
                i = 1
                while f"{name}-{i}" in existing:
                    i += 1
                renames[name] = f"{name}-{i}"
                entry = {**entry, "name": renames[name]}
            existing[entry["name"]] = entry
        have[section] = list(existing.values())
    for ctx in have.get("contexts") or []:
        c = ctx.get("context") or {}
        if ctx["name"] in renames.values():
            c["cluster"] = renames.get(c.get("cluster"), c.get("cluster"))
            c["user"] = renames.get(c.get("user"), c.get("user"))
    have["current-context"] = renames.get(new["current-context"], new["current-context"])
    have.setdefault("apiVersion", "v1")
    have.setdefault("kind", "Config")
    path.write_text(yaml.safe_dump(have, sort_keys=False))
    path.chmod(0o600)
