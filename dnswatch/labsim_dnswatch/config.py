"""The watcher's settings: a YAML file (the ConfigMap), the Cloudflare token from the environment (the Secret), and
command-line flags over both.

    record: lb.example.dev          # the round-robin name it keeps (an A record per healthy worker)
    zone: example.dev               # the Cloudflare zone (its id is looked up by name, or give zone_id)
    host: lb.example.dev            # the Ingress host probed (SNI and Host); default: record
    ttl: 60                         # TTL of the records it creates (1: Cloudflare's automatic)
    proxied: false
    owner: labsim-dnswatch          # comment prefix of the records it owns ("labsim-dnswatch: lily")
    node_selector: "!node-role.kubernetes.io/control-plane"   # which Nodes are candidates
    addresses: {}                   # node -> public IPv4, for Nodes without an ExternalIP address
    probe: {scheme: https, port: 443, path: /, expect: 200-499, interval: 10, timeout: 3,
            tls_verify: true, ca_file: null}
    unstable_after: 3               # N failed probes in a row within `window` seconds: unstable
    window: 60
    recover_after: 3                # M good probes in a row (Node Ready) to come back
    metrics_port: 9090              # Prometheus metrics and /healthz
"""
from __future__ import annotations

import argparse
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

TOKEN_ENV = "CLOUDFLARE_API_TOKEN"
BASE_URL_ENV = "CLOUDFLARE_BASE_URL"      # the official client's own variable


class ConfigError(ValueError):
    """A setting that cannot work: the message names it and its value."""


def seconds(value: Any, name: str) -> float:
    if isinstance(value, bool):
        raise ConfigError(f"{name}: {value!r} is not a duration")
    if isinstance(value, (int, float)):
        out = float(value)
    else:
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*", str(value))
        if not m:
            raise ConfigError(f"{name}: {value!r} is not a duration like 10s or 1m")
        out = float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[m.group(2)]
    if out <= 0:
        raise ConfigError(f"{name}: {value!r} must be more than zero")
    return out


@dataclass
class Probe:
    scheme: str = "https"
    port: int | None = None
    path: str = "/"
    expect: tuple[int, int] = (200, 499)
    interval: float = 10.0
    timeout: float = 3.0
    tls_verify: bool = True
    ca_file: str | None = None

    @property
    def target_port(self) -> int:
        return self.port or (443 if self.scheme == "https" else 80)


@dataclass
class Settings:
    record: str
    zone: str
    zone_id: str | None = None
    host: str | None = None
    ttl: int = 60
    proxied: bool = False
    owner: str = "labsim-dnswatch"
    node_selector: str = "!node-role.kubernetes.io/control-plane"
    addresses: dict[str, str] = field(default_factory=dict)
    probe: Probe = field(default_factory=Probe)
    unstable_after: int = 3
    window: float = 60.0
    recover_after: int = 3
    metrics_port: int | None = 9090
    dry_run: bool = False
    watch: bool = True
    connect_to: dict[tuple[str, int], tuple[str, int]] = field(default_factory=dict)

    @property
    def probe_host(self) -> str:
        return self.host or self.record

    def comment(self, node: str) -> str:
        return f"{self.owner}: {node}"

    def node_of(self, comment: str | None) -> str | None:
        """The node a record belongs to, if the watcher owns it (its comment is `<owner>: <node>`)."""
        prefix = f"{self.owner}: "
        if comment and comment.startswith(prefix) and comment[len(prefix):].strip():
            return comment[len(prefix):].strip()
        return None


def _expect(value: Any) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d{3})\s*(?:-\s*(\d{3}))?\s*", str(value))
    if not m:
        raise ConfigError(f"probe.expect: {value!r} is not a status or range like 200-499")
    lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
    if lo > hi:
        raise ConfigError(f"probe.expect: {value!r} runs backwards")
    return lo, hi


def _connect_to(spec: str) -> tuple[tuple[str, int], tuple[str, int]]:
    """curl's --connect-to HOST:PORT:CONNECT-HOST:CONNECT-PORT: probe HOST:PORT by connecting elsewhere."""
    parts = spec.rsplit(":", 3)
    if len(parts) != 4 or not all(parts):
        raise ConfigError(f"--connect-to: {spec!r} is not HOST:PORT:CONNECT-HOST:CONNECT-PORT")
    try:
        return (parts[0], int(parts[1])), (parts[2], int(parts[3]))
    except ValueError:
        raise ConfigError(f"--connect-to: {spec!r} has a port that is not a number") from None


def from_mapping(data: Mapping[str, Any]) -> Settings:
    known = {f.name for f in fields(Settings)} - {"connect_to", "dry_run", "probe"}
    unknown = set(data) - known - {"probe"}
    if unknown:
        raise ConfigError(f"unknown setting{'s' if len(unknown) > 1 else ''}: {', '.join(sorted(unknown))}")
    for key in ("record", "zone"):
        if not data.get(key):
            raise ConfigError(f"{key}: missing (the round-robin record's name and its Cloudflare zone)")
    raw_probe = dict(data.get("probe") or {})
    unknown = set(raw_probe) - {f.name for f in fields(Probe)}
    if unknown:
        raise ConfigError(f"unknown probe setting{'s' if len(unknown) > 1 else ''}: {', '.join(sorted(unknown))}")
    probe = Probe(
        scheme=str(raw_probe.get("scheme", "https")), port=raw_probe.get("port"), path=str(raw_probe.get("path", "/")),
        expect=_expect(raw_probe.get("expect", "200-499")),
        interval=seconds(raw_probe.get("interval", 10), "probe.interval"),
        timeout=seconds(raw_probe.get("timeout", 3), "probe.timeout"),
        tls_verify=bool(raw_probe.get("tls_verify", True)), ca_file=raw_probe.get("ca_file"))
    if probe.scheme not in ("http", "https"):
        raise ConfigError(f"probe.scheme: {probe.scheme!r} is neither http nor https")
    if not probe.path.startswith("/"):
        raise ConfigError(f"probe.path: {probe.path!r} must start with /")
    s = Settings(record=str(data["record"]).rstrip("."), zone=str(data["zone"]).rstrip("."), probe=probe)
    for key in ("zone_id", "host", "owner", "node_selector"):
        if data.get(key) is not None:
            setattr(s, key, str(data[key]))
    if "ttl" in data:
        s.ttl = int(data["ttl"])
        if s.ttl != 1 and not 60 <= s.ttl <= 86400:
            raise ConfigError(f"ttl: {s.ttl} is neither 1 (automatic) nor within 60-86400")
    s.proxied = bool(data.get("proxied", False))
    s.addresses = {str(k): str(v) for k, v in (data.get("addresses") or {}).items()}
    for key in ("unstable_after", "recover_after"):
        if key in data:
            setattr(s, key, int(data[key]))
            if getattr(s, key) < 1:
                raise ConfigError(f"{key}: {data[key]!r} must be at least 1")
    if "window" in data:
        s.window = seconds(data["window"], "window")
    if s.unstable_after > 1 and (s.unstable_after - 1) * probe.interval > s.window:
        raise ConfigError(f"window: {s.window:g}s cannot hold {s.unstable_after} probes {probe.interval:g}s apart")
    if "metrics_port" in data:
        s.metrics_port = None if data["metrics_port"] in (None, 0) else int(data["metrics_port"])
    if "watch" in data:
        s.watch = bool(data["watch"])
    if not (s.record == s.zone or s.record.endswith("." + s.zone)):
        s.record = f"{s.record}.{s.zone}"
    return s


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="labsim-dnswatch", description=(
        "Keep a round-robin DNS name at Cloudflare equal to the Kubernetes workers whose ingress answers."))
    p.add_argument("--config", default="/etc/dnswatch/config.yaml", help="settings file (the ConfigMap)")
    p.add_argument("--kubeconfig", help="a kubeconfig instead of the in-cluster service account")
    p.add_argument("--dry-run", action="store_true", help="decide and log, but change no record and write no Event")
    p.add_argument("--once", action="store_true", help="one cycle, then exit (0: nothing to change or changed)")
    p.add_argument("--connect-to", action="append", default=[], metavar="HOST:PORT:CONNECT-HOST:CONNECT-PORT",
                   help="probe HOST:PORT by connecting to CONNECT-HOST:CONNECT-PORT (as curl's --connect-to)")
    p.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return p


def load(args: argparse.Namespace, environ: Mapping[str, str]) -> Settings:
    path = Path(args.config)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the settings are a mapping (record, zone, probe, ...)")
    s = from_mapping(data)
    s.dry_run = bool(args.dry_run)
    s.connect_to = dict(_connect_to(c) for c in args.connect_to)
    if not environ.get(TOKEN_ENV):
        raise ConfigError(f"{TOKEN_ENV} is not set (the Secret with the Cloudflare API token)")
    return s
