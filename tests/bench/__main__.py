"""`make bench`: every benchmark, one size per subprocess, printed as a table with its goal.

Every goal is a figure with a ratio against it (figure / goal: at most 1.0 meets it). Noise must not fail a goal:
a size that runs in seconds is run several times and the fastest run counts, and a "linear" ratio between two sizes
is taken from CPU time where the benchmark measures it. The figures, their ratios and every run's row are written
to `reports/bench-<date>.json` (`BENCH_JSON=path` to put it elsewhere), so a trend can be read across days.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

FIGURES: list[dict] = []   # every goal's figure, in the order the benchmarks ran
ROWS: dict[str, list[dict]] = {}


def measure(module: str, size: int, runs: int = 1, key: str = "total_s") -> dict:
    """The row of the fastest of `runs` runs (by `key`), with every run's `key` kept as `runs_<key>`."""
    rows = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-m", module, str(size)], capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    best = dict(min(rows, key=lambda r: r[key]))
    if runs > 1:
        best[f"runs_{key}"] = [r[key] for r in rows]
    ROWS.setdefault(module.rsplit(".", 1)[-1], []).append(best)
    return best


def figure(bench: str, name: str, value: float, goal: float, unit: str = "s", basis: str = "") -> bool:
    """Record one figure against its goal (lower is better); True when met (ratio at most 1)."""
    ratio = value / goal if goal else float("inf")
    FIGURES.append({"bench": bench, "figure": name, "value": round(value, 4), "goal": goal, "unit": unit,
                    "ratio": round(ratio, 3), "met": ratio <= 1.0, "basis": basis})
    return ratio <= 1.0


def print_ratios(bench: str) -> None:
    for f in (f for f in FIGURES if f["bench"] == bench):
        print(f"    ratio {f['ratio']:>6.2f}  {f['figure']}: {f['value']:g} {f['unit']} against {f['goal']:g} {f['unit']}"
              f"{' (' + f['basis'] + ')' if f['basis'] else ''}: {'met' if f['met'] else 'MISSED'}")


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def write_record(path: Path | None = None) -> Path:
    now = dt.datetime.now(dt.timezone.utc)
    path = path or Path(os.environ.get("BENCH_JSON") or f"reports/bench-{now.date().isoformat()}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"format": "labsim-bench/1", "when": now.isoformat(timespec="seconds"), "git": _git_commit(),
              "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": sys.version.split()[0],
                          "load_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None},
              "met": all(f["met"] for f in FIGURES), "figures": FIGURES, "rows": ROWS}
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


def fabric() -> bool:
    rows = [measure("tests.bench.fabric", n, runs=2) for n in (100, 1000)]
    print("fabric: provision + verify N VLANs on 4 RouterOS devices through librouteros")
    print(f"  {'VLANs':>6} {'writes':>7} {'load s':>7} {'provision s':>12} {'verify s':>9} {'total s':>8} {'peak MiB':>9}")
    for r in rows:
        print(f"  {r['vlans']:>6} {r['writes']:>7} {r['load_s']:>7} {r['provision_s']:>12} {r['verify_s']:>9} "
              f"{r['total_s']:>8} {r['peak_rss_mib']:>9}")
    small, big = rows
    ok = figure("fabric", "1000 VLANs, load to verified", big["total_s"], 10.0, basis="best of 2")
    ok &= figure("fabric", "1000 / 100 VLANs, CPU time", big["cpu_s"] / max(small["cpu_s"], 1e-9), 12.0, "x",
                 "best of 2; 10x the VLANs")
    print_ratios("fabric")
    return ok


def labload() -> bool:
    rows = [measure("tests.bench.labload", n, key="load_s") for n in (100, 1000, 3000)]
    print("lab file: load_lab of N VLANs on 4 devices (YAML limits, parse, line numbers, model, field paths), "
          "best of 3")
    print(f"  {'VLANs':>6} {'KiB':>6} {'load s':>7} {'CPU s':>7}")
    for r in rows:
        print(f"  {r['vlans']:>6} {r['bytes'] // 1024:>6} {r['load_s']:>7} {r['load_cpu_s']:>7}")
    mid, big = rows[1], rows[2]
    ratio = big["load_cpu_s"] / max(mid["load_cpu_s"], 1e-9)
    ok = figure("labload", "3000 VLANs loaded", big["load_s"], 2.0, basis="best of 3")
    ok &= figure("labload", "3000 / 1000 VLANs, CPU time", ratio, 4.5, "x", "3x the VLANs: linear is 3x")
    print_ratios("labload")
    return ok


def proxmox() -> bool:
    # Best of two runs per size: one run of the 60-VM size lasts half a second, too short to trust alone.
    rows = [measure("tests.bench.proxmox", n, runs=2) for n in (6, 60, 600, 1800)]
    print("proxmox: create, start and verify N VMs through proxmoxer (tasks in virtual time), leases cross-checked")
    print(f"  {'VMs':>6} {'writes':>7} {'provision s':>12} {'verify s':>9} {'total s':>8} {'virtual s':>10} "
          f"{'peak MiB':>9}")
    for r in rows:
        print(f"  {r['vms']:>6} {r['writes']:>7} {r['provision_s']:>12} {r['verify_s']:>9} {r['total_s']:>8} "
              f"{r['virtual_s']:>10} {r['peak_rss_mib']:>9}")
    mid, big, huge = rows[1], rows[2], rows[3]
    ok = figure("proxmox", "600 VMs, provisioned and verified", big["total_s"], 20.0, basis="best of 2")
    ok &= figure("proxmox", "600 / 60 VMs, CPU time", big["cpu_s"] / max(mid["cpu_s"], 1e-9), 12.0, "x",
                 "best of 2; 10x the VMs")
    ok &= figure("proxmox", "1800 VMs, provisioned and verified", huge["total_s"], 60.0, basis="best of 2")
    ok &= figure("proxmox", "1800 / 600 VMs, CPU time", huge["cpu_s"] / max(big["cpu_s"], 1e-9), 4.0, "x",
                 "best of 2; 3x the VMs: linear is 3x, 4.5x before issue 21")
    print_ratios("proxmox")
    return ok


def ceph() -> bool:
    r = measure("tests.bench.ceph", 100, key="wall_s")
    print("ceph: 100 OSDs (10 hosts) and 4,096 PGs through a host failure, down-out, backfill away and back, "
          "to HEALTH_OK (virtual time)")
    print(f"  {'OSDs':>5} {'PGs':>6} {'detect s':>9} {'refilled s':>11} {'back clean s':>13} {'virtual s':>10} "
          f"{'wall s':>7} {'peak MiB':>9}")
    print(f"  {r['osds']:>5} {r['pgs']:>6} {r['detect_s']:>9} {r['refilled_elsewhere_s']:>11} {r['back_clean_s']:>13} "
          f"{r['virtual_s']:>10} {r['wall_s']:>7} {r['peak_rss_mib']:>9}")
    print(f"  one host, 3 OSDs: kill -9 osd.1 -> OSD_DOWN {r['one_host_kill_down_s']} s, PG_DEGRADED "
          f"{r['one_host_kill_degraded_s']} s (the mgr's reports lag)")
    print(f"  goal: under {r['goal_s']:g} s ({r['wall_s']} s), and OSD_DOWN within {r['kill_goal_s']:g} s of a kill "
          f"on one host ({r['one_host_kill_down_s']} s): {'MET' if r['met'] else 'MISSED'}")
    ok = figure("ceph", "100 OSDs through a host failure to HEALTH_OK", r["wall_s"], r["goal_s"])
    ok &= figure("ceph", "OSD_DOWN after a kill on one host", r["one_host_kill_down_s"], r["kill_goal_s"],
                 basis="virtual time")
    print_ratios("ceph")
    return ok and r["met"]


def mesh() -> bool:
    def run(*args: str) -> dict:
        out = subprocess.run([sys.executable, "-m", "tests.bench.mesh", *args], capture_output=True, text=True,
                             check=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        ROWS.setdefault("mesh", []).append(row)
        return row
    p, f = run("probes", "10000"), run("fullmesh", "16")
    print("mesh: probe requests through the mesh datapath, and a full mesh connected then failed over "
          "(meshes built directly: no Talos, no provisioning)")
    print(f"  {p['requests']} requests from c00 over 1+3 backends: {p['probe_s']} s wall, c00 answered "
          f"{p['share_c00']:.1%}, peak {p['peak_rss_mib']} MiB")
    print(f"  {f['clusters']} clusters, {f['pairs']} pairs: build {f['build_s']} s, connect {f['connect_s']} s, "
          f"lose one and fail over {f['failover_s']} s, total {f['total_s']} s ({f['virtual_s']} s virtual), "
          f"peak {f['peak_rss_mib']} MiB")
    ok = figure("mesh", "10,000 probe requests", p["probe_s"], 10.0)
    ok &= figure("mesh", "16-cluster full mesh, built, connected, failed over", f["total_s"], 60.0)
    print_ratios("mesh")
    return ok


def talos() -> bool:
    rows = [measure("tests.bench.talos", n) for n in (2, 8, 32)]
    print("talos: bring up and verify N clusters of 3 control planes + 3 workers (each its own VLAN) through the "
          "Talos provisioner, fake talosctl/helm")
    print(f"  {'clusters':>8} {'tool runs':>9} {'provision s':>12} {'verify s':>9} {'total s':>8} {'virtual s':>10} "
          f"{'CPU s':>6} {'peak MiB':>9}")
    for r in rows:
        cpu = round(r["lab_cpu_s"] + r["tools_cpu_s"], 1)
        print(f"  {r['clusters']:>8} {r['provision_calls'] + r['verify_calls']:>9} {r['provision_s']:>12} "
              f"{r['verify_s']:>9} {r['total_s']:>8} {r['virtual_s']:>10} {cpu:>6} "
              f"{r['peak_rss_mib'] + r['zygote_peak_rss_mib']:>9.1f}")
    mid, big = rows[1], rows[2]
    mib = big["peak_rss_mib"] + big["zygote_peak_rss_mib"]
    cpu = {id(r): r["lab_cpu_s"] + r["tools_cpu_s"] for r in rows}
    ok = figure("talos", "32 clusters up and verified", big["total_s"], 60.0)
    ok &= figure("talos", "32 clusters, peak memory (lab + tools' fork server)", mib, 2048.0, "MiB")
    ok &= figure("talos", "32 / 8 clusters, CPU time", cpu[id(big)] / max(cpu[id(mid)], 1e-9), 5.0, "x",
                 "4x the clusters")
    print_ratios("talos")
    return ok


def checkpoint() -> bool:
    r = measure("tests.bench.checkpoint", 0)
    print("checkpoint: the default lab's mesh built once, checkpointed, restored (faces listening again)")
    print(f"  build {r['build_cpu_s']} s CPU, take {r['take_cpu_s']} s, restore {r['restore_cpu_s']} s "
          f"(best of {r['runs_restore_cpu_s']}), {r['frozen_bytes'] // 1024} KiB frozen, {r['files']} files")
    ok = figure("checkpoint", "restore / build, CPU time", r["restore_cpu_s"] / max(r["build_cpu_s"], 1e-9), 0.05, "x",
                "best of 3 restores; a restore must cost at most 5 % of building the same lab")
    ok &= figure("checkpoint", "take, CPU time", r["take_cpu_s"], 0.5, basis="once, the mesh lab")
    print_ratios("checkpoint")
    return ok


BENCHES = {"labload": labload, "fabric": fabric, "proxmox": proxmox, "ceph": ceph, "mesh": mesh, "talos": talos, "checkpoint": checkpoint}


def main(argv: list[str]) -> int:
    """`python -m tests.bench [NAME ...]`: all benchmarks, or the named ones."""
    unknown = [a for a in argv if a not in BENCHES]
    if unknown:
        print(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(BENCHES)}", file=sys.stderr)
        return 2
    results = [BENCHES[name]() for name in (argv or BENCHES)]
    path = write_record()
    worst = max(FIGURES, key=lambda f: f["ratio"])
    print(f"{len(FIGURES)} figures, {sum(not f['met'] for f in FIGURES)} missed; highest ratio {worst['ratio']:.2f} "
          f"({worst['bench']}: {worst['figure']}); recorded in {path}")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
