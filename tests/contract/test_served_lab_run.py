"""The real-lab code path, proven without hardware: `python -m labsim.fakes serve --lab-out` writes a lab file
whose every endpoint is on 127.0.0.1, and `pytest features/ --target lab` runs against it exactly as
`make lab-apply` / `make lab-verify` would against the lab (secrets from the environment, preflight,
TLS verified against the served CA, host keys against the served known_hosts). The served lab's counters
(`--writes-file`, snapshot on SIGUSR1) show the read-only run wrote nothing. `--loopback-only` keeps the
network guard on throughout: nothing outside 127.0.0.0/8 can be reached, whatever the code tries.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from labsim.fakes.served_lab import secret_env
from labsim.provisioners.lab.checks import errors, run_checks
from labsim.provisioners.lab.load import load_lab
from labsim.provisioners.preflight import ALL_SYSTEMS, probes
from tests.contract.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "labs" / "aggrik8s.yaml"
# The features whose endpoints exist before anything is provisioned (RouterOS, Proxmox, SSH, the piCluster's API,
# exported in $KUBECONFIG). The Talos clusters' APIs exist only once provisioned, and @kube_api needs every
# cluster's: building them on a served lab is tests/contract/test_served_clusters.py.
SERVED = "(fabric or proxmox or hosts or picluster) and not workstation and not kube_api"


def _pytest(args, env, timeout=600):
    return subprocess.run([sys.executable, "-m", "pytest", "features/", "-q", "-p", "no:cacheprovider", "-rs",
                           "--target", "lab", "--loopback-only", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    d = tmp_path_factory.mktemp("served")
    files = {k: d / f for k, f in (("endpoints", "endpoints.json"), ("lab", "lab.yaml"), ("writes", "writes.json"))}
    proc = subprocess.Popen([sys.executable, "-m", "labsim.fakes", "serve", str(LAB), "--endpoints-file", str(files["endpoints"]),
                             "--lab-out", str(files["lab"]), "--writes-file", str(files["writes"]),
                             "--time-scale", "50"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: files["lab"].exists() or proc.poll() is not None, what="the served lab file")
        assert files["lab"].exists(), proc.stdout.read()
        endpoints = json.loads(files["endpoints"].read_text())
        env = {k: v for k, v in os.environ.items() if k not in ("ROUTEROS_PASSWORD", "PVE_TOKEN_SECRET")}
        env.update(secret_env(yaml.safe_load(LAB.read_text()), endpoints))   # the served values, as an engineer exports them
        # and the clusters' kubeconfigs, as an engineer keeps them in $KUBECONFIG
        env["KUBECONFIG"] = os.pathsep.join(ep["kubeconfig"] for ep in endpoints.get("kubernetes", {}).values())
        yield {"proc": proc, "env": env, "dir": d, **files}
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _snapshot(served, n):
    served["proc"].send_signal(signal.SIGUSR1)
    wait_for(lambda: served["writes"].exists() and json.loads(served["writes"].read_text()).get("snapshot") == n,
              what=f"counters snapshot {n}")
    return json.loads(served["writes"].read_text())


def test_the_served_lab_file_reaches_only_loopback_and_keeps_its_intent(served):
    lab = load_lab(served["lab"])
    assert {p.host for p in probes(lab, ALL_SYSTEMS - {"kubernetes", "talos"})} == {"127.0.0.1"}
    assert str(lab.device("rb5009-01").management.address) == "192.168.88.2"   # the lab address stays
    assert not errors(run_checks(lab))


def test_apply_then_a_read_only_verify_that_writes_nothing(served):
    env = served["env"]
    applied = _pytest(["--lab", str(served["lab"]), "--apply", "-m", SERVED], env)
    assert applied.returncode == 0, applied.stdout[-4000:]
    assert "preflight of lab 'aggrik8s'" in applied.stdout
    before = _snapshot(served, 1)
    assert before["total_writes"] > 0   # the apply provisioned the served lab through the real clients

    bundle = served["dir"] / "bundle"
    verified = _pytest(["--lab", str(served["lab"]), "-m", SERVED, "--signoff", str(bundle),
                        "--signoff-strict"], env)
    assert verified.returncode == 0, verified.stdout[-4000:]
    assert "Sign-off: PARTIAL" in verified.stdout   # -m chose a part of the suite: never a plain ACCEPTED
    assert "@writes: provisioning refused against a real lab without --apply" in verified.stdout
    after = _snapshot(served, 2)
    assert after["writes"] == before["writes"], "the read-only run changed the served lab"
    for face in ("routeros:rb5009-01", "ssh:pi-master-01", "ssh:pve"):
        assert after["reads"][face] > before["reads"][face], f"the read-only run never read {face}"


def test_destructive_drills_need_the_labs_name(served):
    refused = _pytest(["--lab", str(served["lab"]), "-m", "destructive", "--allow-destructive"], served["env"])
    assert refused.returncode == 0, refused.stdout[-3000:]
    assert "need --allow-destructive and --confirm-lab aggrik8s" in refused.stdout
    assert " passed" not in refused.stdout and " failed" not in refused.stdout
    wrong = _pytest(["--lab", str(served["lab"]), "-m", "destructive", "--allow-destructive",
                     "--confirm-lab", "bouquet2"], served["env"])
    assert "(got --confirm-lab 'bouquet2')" in wrong.stdout


def test_lab_verify_stops_before_any_scenario_when_endpoints_are_closed(tmp_path):
    """`make lab-verify` on a lab whose endpoints are closed ports: one grouped list, exit non-zero,
    no scenario run, the sign-off REJECTED with the preflight's reasons."""
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()   # nothing listens there now
    raw = yaml.safe_load(LAB.read_text())
    for d in raw["routeros"]["devices"]:
        d["management"]["reach"] = {"host": "127.0.0.1", "port": port}
    for h in raw["hosts"] + raw["proxmox"]["nodes"]:
        h["ssh"]["reach"] = {"host": "127.0.0.1", "port": port}
    raw["proxmox"]["nodes"][0]["management"]["reach"] = {"host": "127.0.0.1", "port": port}
    lab = tmp_path / "closed.yaml"
    lab.write_text(yaml.safe_dump(raw, sort_keys=False))
    env = {k: v for k, v in os.environ.items() if k not in ("ROUTEROS_PASSWORD", "PVE_TOKEN_SECRET")}
    proc = subprocess.run(["make", "-s", "-o", ".venv/.installed-stamp", "lab-verify", f"LAB={lab}",
                           f"SIGNOFF={tmp_path / 'reports'}", f"PYTEST_ARGS=--loopback-only -m '{SERVED}'"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    assert "preflight failed for lab 'aggrik8s'" in out and "no scenario was run" in out
    assert "unreachable endpoints (11)" in out and f"routeros rb5009-01 API at 127.0.0.1:{port}" in out
    assert "missing secrets" in out and "env:ROUTEROS_PASSWORD" in out
    assert " passed" not in out and "PASSED" not in out
    summary = next((tmp_path / "reports").glob("*/summary.md")).read_text()
    assert "REJECTED" in summary and "preflight failed" in summary
