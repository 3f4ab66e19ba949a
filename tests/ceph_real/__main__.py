"""`make ceph-real`: the simulator against a real Ceph micro cluster, through the same timeline.

    python -m tests.ceph_real                       # run both, compare, print every fact; exit 1 on a difference
    python -m tests.ceph_real --record FILE         # ... and keep the real run's observations in FILE
    python -m tests.ceph_real --against FILE        # compare the simulator with a recorded real run (no Ceph needed)
    python -m tests.ceph_real --sim-version 19.2.3  # the simulator as another release (expect named differences)

Needs Debian's `ceph` packages (the Makefile installs them); without them it says so in one line, runs nothing
and exits 0 with SKIPPED (it is never reported as passed). A cluster that does not come up healthy is one FAILED line
(exit 1; its folder and logs are kept), a phase of the timeline that does not complete a named difference.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from tests.ceph_real import facts
from tests.ceph_real.drivers import RealDriver, SimDriver
from tests.ceph_real.micro import missing_binaries
from tests.ceph_real.timeline import Timeline


def simulate(real: dict, version: str = "16.2.15") -> dict:
    """The simulator through the timeline, shaped like the real run: its host name, and the node its crash
    reports describe (the real run's own report when there is one)."""
    report = (real.get("E_crash_ls") or [{}])[0]
    node = {k: v for k, v in report.items() if k.startswith(("os_", "utsname_")) and k != "utsname_hostname"}
    sim = Timeline(SimDriver(hostname=real["hostname"], version=version, node=node or None),
                   log=lambda *_: None).run()
    sim.pop("B_started", None)
    return sim


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.ceph_real")
    ap.add_argument("--record", help="write the real cluster's observations to this file")
    ap.add_argument("--against", help="compare the simulator with this recorded real run instead of a live one")
    ap.add_argument("--sim-version", default="16.2.15")
    ap.add_argument("--keep", action="store_true", help="keep the real cluster's folder (logs) after the run")
    args = ap.parse_args(argv)
    t0 = time.monotonic()
    if args.against:
        real = json.load(open(args.against))
    else:
        missing = missing_binaries()
        if missing:
            print(f"ceph-real: SKIPPED (not run, not passed): Debian's ceph packages are not installed "
                  f"(missing {', '.join(missing)})")
            return 0
        driver = RealDriver(keep=args.keep)
        try:
            real = Timeline(driver).run()
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:   # the cluster never got to the timeline
            driver.keep = True
            print(f"ceph-real: FAILED (nothing compared): the real micro cluster did not come up healthy: {exc}; "
                  f"its folder and logs are kept in {driver.cluster.dir}")
            return 1
        finally:
            driver.stop()
        real.pop("B_started", None)
        if args.record:
            with open(args.record, "w") as f:
                json.dump(real, f, indent=1, sort_keys=True)
    results = facts.compare(real, simulate(real, args.sim_version))
    print(facts.report(results))
    bad = [r for r in results if not r.ok]
    took = time.monotonic() - t0
    print(f"ceph-real: {len(results) - len(bad)} of {len(results)} facts agree, {len(bad)} differ "
          f"({'recorded' if args.against else 'live'} Ceph {real.get('version', '?').split()[2:3]}, "
          f"simulator {args.sim_version}; {took:.0f} s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
