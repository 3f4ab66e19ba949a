"""labsim as a user gets it: `pip install <checkout>` into a clean venv ships every file of the package; then in an
empty folder `labsim init && labsim verify` runs the features labsim ships against a simulated lab and ends ACCEPTED
with the bundle path; and a folder with only features/ and a lab file (no conftest.py) runs with plain `pytest`.

The checkout is installed from a copy without its git metadata (as a tarball or a CI cache would have it), so the
version falls back to pyproject's `fallback_version`. Installing the dependencies into a fresh venv takes 13 s from
the wheelhouse without byte-compiling, on an idle 2-core machine; the install happens once per session, in one
module, so xdist keeps these tests on one worker.

What the installed package must hold is checked file by file against the checkout (`test_the_install_ships_every_
file_of_the_package`), so the verify run does not need every feature to reach every data file: it runs the one-node
lab (Talos, Cilium, helm and talosctl through the installed fake tools, 26 scenarios, about 20 s of CPU) rather than
the full Aggrik8s lab, which `make verify` already runs from the checkout (it was 116 s of CPU, an eighth of
`make test`).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# labsim's dependencies as wheels (the Makefile's $(WHEELS) target), for an install without the registry
WHEELHOUSE = Path(sys.prefix) / "wheelhouse"
VERDICT = re.compile(r"^Sign-off: (ACCEPTED|REJECTED) — (.+)/ \(report\.html, summary\.md\)$")


def _checkout_copy(dest: Path) -> Path:
    """The checkout's files (tracked and new, not ignored), without .git: what `pip install <checkout>` builds."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, capture_output=True,
                           check=True).stdout.decode().split("\0")
    for rel in filter(None, files):
        src, out = REPO / rel, dest / rel
        if not src.exists() and not src.is_symlink():
            continue   # deleted in the work tree, not yet committed
        out.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():   # labsim/features -> ../features: the build copies the files in
            os.symlink(os.readlink(src), out)
        else:
            shutil.copy2(src, out)
    return dest


def _env(venv: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "LABSIM_", "VIRTUAL_ENV"))}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env.pop("PYTHONPATH", None)
    if (WHEELHOUSE / ".complete").exists():   # make test fetched them: the suite runs in a network namespace with no registry
        env.update(PIP_NO_INDEX="1", PIP_FIND_LINKS=str(WHEELHOUSE))
    return env


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("install")
    src = _checkout_copy(root / "checkout")
    venv = root / "venv"
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    # --no-compile: byte-compiling every dependency's modules (botocore, ansible) was two thirds of pip's CPU (24 of
    # 36 s) and checks nothing about labsim; the modules a run imports are compiled when it first imports them
    pip = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                          "--no-compile", str(src)], capture_output=True, text=True, timeout=1800, env=_env(venv), check=False)
    assert pip.returncode == 0, (pip.stdout[-3000:] + pip.stderr[-3000:] + ("" if (WHEELHOUSE / ".complete").exists() else
                                 f"\n(no {WHEELHOUSE}: `make test` fetches the wheels before it isolates the run)"))
    print(f"\npip install <checkout> into a clean venv: {time.monotonic() - t0:.0f} s")
    return venv


def _package_files(root: Path) -> set[str]:
    """Every file under a labsim/ folder (the links to features/ and labs/ followed), bytecode caches left out."""
    return {p.relative_to(root).as_posix() for p in root.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and not p.name.endswith(".pyc")} | \
        {f"{link}/{p.name}" for link in ("features", "labs") for p in (root / link).iterdir() if p.is_file()}


def _site_packages(venv: Path) -> Path:
    return next((venv / "lib").glob("python3*/site-packages"))


def test_the_install_ships_every_file_of_the_package(venv: Path) -> None:
    """A module, a data file or a fake tool left out of pyproject's package-data is missing here by name, not found
    only by the one scenario that reads it."""
    checkout = _package_files(REPO / "labsim")
    installed = _package_files(_site_packages(venv) / "labsim")
    assert checkout - installed == set(), f"in the checkout but not installed: {sorted(checkout - installed)}"
    assert installed - checkout == set(), f"installed but not in the checkout: {sorted(installed - checkout)}"
    # the fake tools stay runnable: the install keeps their mode
    for tool in ("cilium", "helm", "talosctl"):
        assert os.access(_site_packages(venv) / "labsim" / "fakes" / "bin" / tool, os.X_OK), tool


def test_labsim_init_then_verify_in_an_empty_folder_is_accepted(venv: Path, tmp_path: Path) -> None:
    env = _env(venv)
    labsim = str(venv / "bin" / "labsim")
    version = subprocess.run([labsim, "--version"], capture_output=True, text=True, env=env, check=True).stdout
    assert version.strip() == "labsim 0.1.0"   # no git metadata in the copy: pyproject's fallback_version
    init = subprocess.run([labsim, "init"], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120)
    assert init.returncode == 0, init.stderr
    assert (tmp_path / "lab.yaml").read_text().startswith("# yaml-language-server: $schema=./lab.schema.json\n")
    assert sorted(p.name for p in (tmp_path / "features").glob("*.feature")) == \
        sorted(p.name for p in (REPO / "features").glob("*.feature"))
    assert not (tmp_path / "conftest.py").exists()
    # the starter's lab file in place, the one-node lab beside it, named with --lab
    shutil.copy(REPO / "labs" / "one-node.yaml", tmp_path / "one-node.yaml")
    t0 = time.monotonic()
    run = subprocess.run([labsim, "verify", "--lab", "one-node.yaml"], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=1800,
                         stdin=subprocess.DEVNULL)
    print(f"labsim verify (every feature, the one-node lab): {time.monotonic() - t0:.0f} s")
    lines = run.stdout.strip().splitlines()
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    verdict = VERDICT.match(lines[-1])
    assert verdict and verdict.group(1) == "ACCEPTED", lines[-5:]
    bundle = tmp_path / verdict.group(2)
    assert (bundle / "report.html").is_file() and (bundle / "summary.md").is_file()
    assert bundle.parent == tmp_path / "reports"
    # the console named the lab file it found, and each scenario as it finished
    assert any(line.startswith("labsim 0.1.0 · lab one-node.yaml (one-node, from --lab)") for line in lines), lines[:5]
    assert sum(1 for line in lines if "✓ passed" in line) >= 20
    check = subprocess.run([labsim, "signoff", "verify", str(bundle)], capture_output=True, text=True, env=env)
    assert check.returncode == 0 and check.stdout.strip().splitlines()[-1].startswith("VERIFIED:"), check.stdout


def test_plain_pytest_runs_a_folder_with_only_features_and_a_lab_file(venv: Path, tmp_path: Path) -> None:
    (tmp_path / "features").mkdir()
    shutil.copy(REPO / "features" / "fabric.feature", tmp_path / "features")
    # the Aggrik8s lab under another name: the run must use this file, found by its name, not the built-in one
    lab = (REPO / "labs" / "aggrik8s.yaml").read_text().replace("name: aggrik8s", "name: my-own-lab", 1)
    (tmp_path / "lab.yaml").write_text(lab)
    run = subprocess.run([str(venv / "bin" / "pytest"), "-p", "no:cacheprovider", "-rA"], cwd=tmp_path,
                         capture_output=True, text=True, env=_env(venv), timeout=900, stdin=subprocess.DEVNULL)
    tail = run.stdout.strip().splitlines()[-1]
    assert run.returncode == 0 and re.search(r"\b9 passed\b", tail), run.stdout[-3000:]
    assert sorted(os.listdir(tmp_path)) == ["features", "lab.yaml"]   # no conftest, nothing written
    # the same folder with a broken lab.yaml fails: the file in the folder is the one the run reads
    (tmp_path / "lab.yaml").write_text(lab.replace("model: RB5009UG+S+IN", "model: RB5009", 1))
    broken = subprocess.run([str(venv / "bin" / "pytest"), "-p", "no:cacheprovider", "-x", "-q"], cwd=tmp_path,
                            capture_output=True, text=True, env=_env(venv), timeout=900, stdin=subprocess.DEVNULL)
    assert broken.returncode == 2, broken.stdout[-3000:]   # refused once, before any scenario (lab_run.refuse_run)
    assert "routeros.devices[rb5009-01].model" in broken.stdout and "RB5009 is not in" in broken.stdout, \
        broken.stdout[-3000:]
