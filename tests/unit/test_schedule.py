"""labsim/schedule.py: a run spread by file hands out the files that took longest last time first, and records what
each file took for the next run."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from labsim.schedule import RECORD, longest_first, recorded, weights


def test_a_file_never_timed_is_weighed_by_its_tests_at_the_median_rate():
    files = {"a.feature": 4, "b.feature": 10, "c.feature": 2, "new.feature": 6}
    seconds = {"a.feature": 8.0, "b.feature": 10.0, "c.feature": 6.0}     # 2, 1 and 3 s per test: median 2
    assert weights(files, seconds)["new.feature"] == 12.0
    assert longest_first(files, seconds) == ["new.feature", "b.feature", "a.feature", "c.feature"]
    # nothing recorded: by number of tests, as xdist's loadfile does; ties keep the collection order
    assert longest_first({"x": 1, "y": 3, "z": 1}, {}) == ["y", "x", "z"]


def test_an_unreadable_record_is_no_record(tmp_path: Path):
    path = tmp_path / "file-seconds.json"
    assert recorded(path) == {}
    for text in ("{not json", "[1, 2]", '{"a": "slow", "b": -1}'):
        path.write_text(text)
        assert recorded(path) == {}
    path.write_text('{"a": 2, "b": 0.5}')
    assert recorded(path) == {"a": 2.0, "b": 0.5}


def test_the_longest_files_are_handed_out_first_and_the_run_is_recorded(tmp_path: Path):
    for name in "abc":
        (tmp_path / f"test_{name}.py").write_text(
            "import os\n"
            f"def test_{name}():\n"
            "    with open(f\"order-{os.environ['PYTEST_XDIST_WORKER']}\", 'a') as f:\n"
            f"        f.write('{name}\\n')\n")
    record = tmp_path / RECORD
    record.parent.mkdir()
    # last time, b and c took longest: they start first, one on each worker (by number of tests and collection
    # order it would be a and b)
    record.write_text(json.dumps({"test_a.py": 1.0, "test_b.py": 10.0, "test_c.py": 5.0}))
    run = subprocess.run([sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadfile", "-q", "-p", "no:randomly",
                          "-p", "no:cacheprovider"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:]
    firsts = {(tmp_path / f"order-gw{i}").read_text().split()[0] for i in (0, 1)}
    assert firsts == {"b", "c"}
    took = recorded(record)
    assert set(took) == {"test_a.py", "test_b.py", "test_c.py"} and took["test_b.py"] < 10.0   # this run's times
