"""Every data file the package reads ships in the wheel: a file under labsim/ that is not Python must match one of
pyproject's package-data globs (a catalogue left out fails every scenario of a pip-installed labsim, and only the
slow install test would see it)."""

from __future__ import annotations

import fnmatch
import subprocess
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_every_data_file_under_labsim_matches_a_package_data_glob():
    globs = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["labsim"]
    tracked = subprocess.run(["git", "ls-files", "labsim"], cwd=REPO, capture_output=True, text=True).stdout.split()
    if not tracked:   # a copy without .git: walk the folder instead
        tracked = [str(p.relative_to(REPO)) for p in (REPO / "labsim").rglob("*") if p.is_file()]
    data = [f[len("labsim/"):] for f in tracked
            if not f.endswith(".py") and "__pycache__" not in f and not (REPO / f).is_symlink()
            and not f.startswith(("labsim/features/", "labsim/labs/"))]   # the links the build copies in
    assert data, "no data files found under labsim/: the test would look at nothing"
    missing = [f for f in data if not any(fnmatch.fnmatch(f, g) and f.count("/") == g.count("/") for g in globs)]
    assert not missing, f"not in [tool.setuptools.package-data] labsim: {missing}"
