"""The Ceph releases the simulator can be, as data: what really differs between them, and nothing else.

A cluster takes its release from the lab (Rook's `cephVersion.image`, `quay.io/ceph/ceph:v19.2.3`) or from the
caller (`testing.build(version="16.2.15")`, the differential tier against Debian's packages). Each entry names
its source; the differences modelled:

- the version line, release name and `min_mon_release_name` (`ceph --version`, `ceph versions`, `mon stat`);
- the pool the mgr creates for itself: `device_health_metrics` (application `mgr_devicehealth`) up to Pacific,
  `.mgr` (application `mgr`) from Quincy on (src/pybind/mgr/devicehealth/module.py, src/mon/MgrMonitor.cc);
- what a fresh BlueStore OSD reports used: 290 MiB of BlueFS on a 10 GiB device on Debian's 16.2.15 (2.83 %,
  BlueFS takes a share of the device up front), 27 MiB on Squid (ours: what fresh Rook OSDs show);
- the recovery throttle: Pacific's `osd_op_queue` is `wpq` with `osd_recovery_sleep_hdd` 0.1 s between recovery
  ops (at most ~10 objects/s per PG; 6-8 measured on Debian's 16.2.15), Quincy on schedule with mClock (ours:
  25 objects/s per PG, the profile's share of a disk).
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Release:
    version: str                    # 19.2.3
    sha: str
    name: str                       # squid
    mgr_pool: str                   # the pool the mgr creates on its first start with OSDs
    mgr_pool_app: str
    recovery_objects_per_sec: float  # per PG in recovery
    overhead_ratio: float = 0.0       # a fresh OSD's used bytes: a share of the device ...
    overhead_bytes: int = 0           # ... or a constant

    def osd_overhead(self, size: int) -> int:
        return int(size * self.overhead_ratio) if self.overhead_ratio else self.overhead_bytes

    @property
    def line(self) -> str:
        return f"ceph version {self.version} ({self.sha}) {self.name} (stable)"

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])


RELEASES: dict[str, Release] = {r.version: r for r in (
    Release("16.2.15", "618f440892089921c3e944a991122ddc44e60516", "pacific", "device_health_metrics",
            "mgr_devicehealth", 8.0, overhead_ratio=297088 / (10 * 1024 ** 2)),
    Release("19.2.3", "c92aebb279828e9c3c1f5d24613efca272649e62", "squid", ".mgr", "mgr", 25.0,
            overhead_bytes=27 * 1024 ** 2),
)}
DEFAULT = "19.2.3"
# Other point releases of a modelled series behave as the modelled one (their version line says theirs).
SERIES = {"16": "16.2.15", "17": "19.2.3", "18": "19.2.3", "19": "19.2.3"}
NAMES = {"16": "pacific", "17": "quincy", "18": "reef", "19": "squid"}


def release(version: str | None = None) -> Release:
    """The release a version string names: `16.2`, `16.2.15`, `v19.2.3`, `19.2.3-0`; unknown series are refused."""
    v = (version or DEFAULT).strip().lstrip("v").split("-")[0]
    if v in RELEASES:
        return RELEASES[v]
    parts = v.split(".")
    base = SERIES.get(parts[0])
    if base is None or not all(p.isdigit() for p in parts):
        raise ValueError(f"unsupported Ceph version {version!r}: the simulator models "
                         f"{', '.join(sorted(RELEASES))} (series {', '.join(sorted(SERIES))})")
    model = RELEASES[base]
    if len(parts) < 3 or v == base:
        return model
    return dataclasses.replace(model, version=v, name=NAMES[parts[0]])


def from_image(image: str | None) -> Release:
    """Rook's `cephVersion.image` (`quay.io/ceph/ceph:v19.2.3`, `...:v16.2.15-20240131`): its tag's version."""
    m = re.search(r":v?(\d+(?:\.\d+){1,2})", image or "")
    return release(m.group(1) if m else None)
