"""Lab file loading benchmark: read, check and validate a lab file of N VLANs (`load_lab`, the whole load: the
YAML limits pass, the parse, line numbers, the model and every field path). One size per process:
    python -m tests.bench.labload 3000
Prints the best of RUNS loads (wall and CPU seconds): one load of a small file is too short to trust alone.
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import yaml

from tests.bench.fabric import lab_with_vlans

RUNS = 3


def run(n: int) -> dict:
    from labsim.provisioners.lab import load_lab

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.yaml"
        path.write_text(yaml.safe_dump(lab_with_vlans(n), sort_keys=False))
        walls, cpus = [], []
        for _ in range(RUNS):
            w, c = time.perf_counter(), time.process_time()
            lab = load_lab(path)
            walls.append(time.perf_counter() - w)
            cpus.append(time.process_time() - c)
        assert len(lab.vlans) == n
        size = path.stat().st_size
    return {"vlans": n, "bytes": size, "load_s": round(min(walls), 4), "load_cpu_s": round(min(cpus), 4),
            "runs": RUNS}


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]))))
