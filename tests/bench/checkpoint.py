"""Lab checkpoint benchmark: build the lab file's whole mesh (fabric, VMs, the Talos clusters with Cilium,
ClusterMesh) as the feature steps do, checkpoint it, stop it, and restore it RUNS times (each restore revived:
its faces listening again), in CPU seconds of this process. One lab per process:
    python -m tests.bench.checkpoint 0
(the size argument is unused: one lab, the default one).
"""
from __future__ import annotations

import json
import sys
import time

RUNS = 3


def run(_: int) -> dict:
    from labsim.fakes.checkpoint import remove_files
    from labsim.steps.targets import SimTarget
    from tests.contract.test_lab_checkpoints import LAB, build

    c = time.process_time()
    target = SimTarget(LAB)
    talos, mesh = build(target)
    built = time.process_time() - c
    c = time.process_time()
    cp = target.checkpoint({"talos": talos, "mesh": mesh})
    taken = time.process_time() - c
    target.close()
    restores = []
    for _ in range(RUNS):
        c = time.process_time()
        again, _records = SimTarget.restored(cp)
        restores.append(time.process_time() - c)
        again.close()
    remove_files(cp)
    return {"build_cpu_s": round(built, 3), "take_cpu_s": round(taken, 4), "restore_cpu_s": round(min(restores), 4),
            "runs_restore_cpu_s": [round(r, 4) for r in restores], "frozen_bytes": len(cp.frozen),
            "files": len(cp.files), "total_s": round(built + taken + sum(restores), 3)}


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 0)))
