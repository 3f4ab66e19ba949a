"""Which pytest-xdist worker runs which file, when a run is spread by file (`--dist loadfile`: `labsim verify
--workers`, `make test`): the files that took longest the last time go first.

xdist's loadfile hands out whole files, the ones with the most tests first, and another to a worker whenever it is
down to its last two tests. A file's time is not its number of tests, though: a feature of ten Ceph scenarios takes
longer than one of fifteen lab-file refusals, and a heavy file handed out third ends the run on one worker while the
other waits. So each run in a folder records how long each file took (`.labsim/file-seconds.json`, the folder
`labsim verify` keeps its lab work in too), and the next one hands out the longest first: a greedy "longest first"
schedule, which evens out the workers' ends. A file never timed is estimated from its number of tests, at the median
time per test of the files that were.
"""
from __future__ import annotations

import json
import os
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

RECORD = Path(".labsim") / "file-seconds.json"


def _file(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def recorded(path: Path) -> dict[str, float]:
    """The seconds each file took in the runs recorded at `path` (nothing when there is no readable record)."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(doc, dict):
        return {}
    return {str(k): float(v) for k, v in doc.items() if isinstance(v, (int, float)) and v >= 0}


def weights(files: dict[str, int], seconds: dict[str, float]) -> dict[str, float]:
    """Each file's expected seconds: as recorded, else its number of tests at the recorded median per test."""
    per_test = [seconds[f] / n for f, n in files.items() if f in seconds and n]
    rate = statistics.median(per_test) if per_test else 1.0
    return {f: seconds[f] if f in seconds else n * rate for f, n in files.items()}


def longest_first(files: dict[str, int], seconds: dict[str, float]) -> list[str]:
    """The files in the order they are handed out: longest expected first; ties keep the given order."""
    w = weights(files, seconds)
    return sorted(files, key=lambda f: -w[f])


class FileTimes:
    """The controller's side: the scheduler for loadfile runs, and the record of what each file took."""

    def __init__(self, config: pytest.Config):
        self.path = config.rootpath / RECORD
        self.took: dict[str, float] = defaultdict(float)

    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any):
        from xdist.scheduler import LoadFileScheduling

        seconds = recorded(self.path)

        class LongestFirst(LoadFileScheduling):
            _ordered = False

            def _assign_work_unit(self, node) -> None:
                if not self._ordered:
                    self._ordered = True
                    order = longest_first({scope: len(unit) for scope, unit in self.workqueue.items()}, seconds)
                    for scope in order:
                        self.workqueue.move_to_end(scope)
                super()._assign_work_unit(node)

        return LongestFirst(config, log)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.took[_file(report.nodeid)] += report.duration

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if not self.took or exitstatus not in (0, 1):   # an interrupted run's times say little
            return
        merged = {**recorded(self.path), **{f: round(s, 3) for f, s in self.took.items()}}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}")
            tmp.write_text(json.dumps(merged, indent=1, sort_keys=True) + "\n")
            tmp.replace(self.path)
        except OSError:
            pass    # a read-only folder: the next run goes by numbers of tests


def pytest_configure(config: pytest.Config) -> None:
    # xdist's controller (its options are there when it is installed; a worker has workerinput)
    spread = getattr(config.option, "numprocesses", None) and getattr(config.option, "dist", "no") == "loadfile"
    if spread and not hasattr(config, "workerinput"):
        config.pluginmanager.register(FileTimes(config), "labsim-file-times")
