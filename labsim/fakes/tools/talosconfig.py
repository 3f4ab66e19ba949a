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


class ConfigError(Exception):
    pass


LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)     # libyaml's parser when there is one


def talosconfig_path(flag: str | None) -> Path:
    if flag:
        return Path(flag).expanduser()
    if os.environ.get("TALOSCONFIG"):
        return Path(os.environ["TALOSCONFIG"]).expanduser()
    return Path.home() / ".talos" / "config"


def load(path: Path) -> dict[str, Any]:
    try:
        return yaml.load(path.read_text(), Loader=LOADER) or {}
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
