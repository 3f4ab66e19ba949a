"""`make bench`: every benchmark, one size per subprocess, printed as a table with its goal."""
from __future__ import annotations

import json
import subprocess
import sys


def measure(module: str, size: int) -> dict:
    out = subprocess.run([sys.executable, "-m", module, str(size)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def fabric() -> bool:
    rows = [measure("tests.bench.fabric", n) for n in (100, 1000)]
    print("fabric: provision + verify N VLANs on 4 RouterOS devices through librouteros")
    print(f"  {'VLANs':>6} {'writes':>7} {'provision s':>12} {'verify s':>9} {'total s':>8} {'peak MiB':>9}")
    for r in rows:
        print(f"  {r['vlans']:>6} {r['writes']:>7} {r['provision_s']:>12} {r['verify_s']:>9} {r['total_s']:>8} "
              f"{r['peak_rss_mib']:>9}")
    small, big = rows
    ratio = big["total_s"] / max(small["total_s"], 1e-9)
    ok = big["total_s"] < 10 and ratio <= 12
    print(f"  goal: 1000 VLANs under 10 s ({big['total_s']} s) and at most 12x the 100-VLAN run "
          f"({ratio:.1f}x): {'MET' if ok else 'MISSED'}")
    return ok


def main() -> int:
    results = [fabric()]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
