"""report.html in a real headless browser (Debian's chromium): verdict, counts, the working filter, and a
screenshot kept as a test artifact under tests/artifacts/."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from .conftest import (
    ARTIFACTS,
    BARE_FEATURE,
    LAB_FEATURE,
    REPO,
    bundle_of,
    run_signoff,
    write_suite,
)

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_browser() -> str | None:
    env = os.environ.get("SIGNOFF_CHROMIUM")
    if env and Path(env).is_file():
        return env
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None


BROWSER = find_browser()
pytestmark = pytest.mark.skipif(
    BROWSER is None,
    reason="no headless browser: install Debian's chromium (apt-get install -y chromium chromium-driver) "
           "or set SIGNOFF_CHROMIUM to a Chromium/Chrome binary")

TIMELINE_STEPS = '''
@then("the mesh fails over")
def mesh_fails_over(evidence):
    evidence.timeline("talos-west stopped: echo traffic", [
        {"t": 0, "cluster": "talos-east", "ok": True}, {"t": 0, "cluster": "talos-west", "ok": True},
        {"t": 12.0, "cluster": "talos-west", "ok": False}, {"t": 14.5, "cluster": "talos-east", "ok": True},
        {"t": 95, "cluster": "talos-west", "ok": True}], kind="failover")
    evidence.timeline("ceph health while an OSD host is down", [
        {"t": 0, "status": "HEALTH_OK"}, {"t": 30, "status": "HEALTH_WARN", "checks": ["OSD_DOWN", "PG_DEGRADED"]},
        {"t": 610, "status": "HEALTH_OK", "checks": []}], kind="health")
    evidence.attach("probe results", {"requests": 1000, "ok": 1000, "by_cluster": {"talos-east": 1000}})
    evidence.finding("no request lost", True, "1000/1000 answered during failover")
'''

MESH_FEATURE = """\
@mesh
Feature: Cluster mesh
  Scenario: Traffic fails over when a cluster stops
    When it works
    Then the mesh fails over
"""


class Dom(HTMLParser):
    """Just enough of the dumped DOM: attributes and text by id, and the scenario articles."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.attrs_by_id: dict[str, dict] = {}
        self.text_by_id: dict[str, str] = {}
        self.articles: list[dict] = []
        self._open: list[tuple[str, str | None]] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "article":
            self.articles.append(a)
        if a.get("id"):
            self.attrs_by_id[a["id"]] = a
            self.text_by_id.setdefault(a["id"], "")
        if tag not in ("br", "img", "meta", "input", "rect", "line", "path"):
            self._open.append((tag, a.get("id")))

    def handle_endtag(self, tag):
        while self._open:
            t, _ = self._open.pop()
            if t == tag:
                break

    def handle_data(self, data):
        for _, i in self._open:
            if i:
                self.text_by_id[i] += data

    def visible(self) -> list[dict]:
        return [a for a in self.articles if "hidden" not in a]

    def count(self, key: str) -> int:
        return int(re.match(r"\s*(\d+)", self.text_by_id[f"count-{key}"]).group(1))


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    cmd = [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--disable-dev-shm-usage", "--hide-scrollbars", f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, check=False)


def dump(url: str, profile: Path) -> Dom:
    r = chromium("--dump-dom", url, profile=profile)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "<article" in r.stdout, r.stderr[-2000:]
    return Dom(r.stdout)


def test_report_in_headless_chromium(pytester, tmp_path):
    """One REJECTED bundle with every kind of result, on the real Aggrik8s lab file."""
    write_suite(pytester, {"lab.feature": LAB_FEATURE, "bare.feature": BARE_FEATURE, "mesh.feature": MESH_FEATURE},
                extra_steps=TIMELINE_STEPS)
    (pytester.path / "waivers.yaml").write_text(
        '- scenario: "Ping talos-west"\n  justification: "west probe flaps (ISSUE-7)"\n  expires: 2999-12-31\n'
        '  run: false\n')
    lab = REPO / "labs" / "aggrik8s.yaml"
    out = run_signoff(pytester, f"--lab={lab}", "--target=sim", "--waivers=waivers.yaml",
                      "--deviation", "lab_only=needs real hardware")
    html_path = out.bundle / "report.html"
    text = html_path.read_text()
    # self-contained: nothing is fetched from anywhere
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", text)
    assert "@import" not in text and "url(" not in text
    url = html_path.as_uri()
    profile = tmp_path / "profile"

    dom = dump(url, profile)
    assert dom.text_by_id["verdict-text"] == "REJECTED"
    assert "rejected" in dom.attrs_by_id["verdict"]["class"]
    assert dom.text_by_id["lab-name"] == "aggrik8s"
    assert (dom.count("total"), dom.count("passed"), dom.count("failed"), dom.count("skipped"),
            dom.count("waived")) == (8, 3, 3, 1, 1)
    assert len(dom.articles) == 8 and len(dom.visible()) == 8
    assert dom.text_by_id["visible-count"] == "8"
    assert "Steps:" in dom.text_by_id["step-counts"]
    # the topology: every RouterOS device, the Proxmox node, the clusters, the mesh
    for name in ("rb5009-01", "rb5009-02", "crs305-01", "crs328-01", "pve", "talos-east", "talos-west",
                 "piCluster", "pi-master-01"):
        assert f'data-name="{name}"' in text, name
    assert "ClusterMesh: talos-east ↔ talos-west" in text
    assert "topology-svg" in dom.attrs_by_id
    # the timelines are charts
    assert any(k.startswith("tl-") and k.endswith("-svg") for k in dom.attrs_by_id)

    dom = dump(url + "#result=failed", profile)
    vis = dom.visible()
    assert {a["data-result"] for a in vis} == {"failed"} and len(vis) == 3
    assert dom.text_by_id["visible-count"] == "3"

    dom = dump(url + "?tag=lab_only", profile)
    vis = dom.visible()
    assert [a["data-nodeid"] for a in vis] == ["test_suite.py::test_real_hardware"]

    dom = dump(url + "#feature=Bare&result=failed", profile)
    assert [a["data-feature"] for a in dom.visible()] == ["Bare"]

    assert [a["data-nodeid"] for a in Dom(text).articles if a["data-result"] == "waived"] == [
        "test_suite.py::test_ping_cluster[talos-west]"]

    # a screenshot for people: kept under tests/artifacts/ (gitignored)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name, suffix, size in (("signoff-report.png", "", "1280,3600"),
                               ("signoff-report-failed.png", "#result=failed", "1280,1000")):
        shot = ARTIFACTS / name
        shot.unlink(missing_ok=True)
        r = chromium(f"--window-size={size}", f"--screenshot={shot}", url + suffix, profile=profile)
        assert r.returncode == 0, r.stderr[-2000:]
        data = shot.read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 20_000
    shutil.rmtree(ARTIFACTS / "signoff-report-bundle", ignore_errors=True)
    shutil.copytree(out.bundle, ARTIFACTS / "signoff-report-bundle")


class Text(HTMLParser):
    """The page's text as a reader gets it (scripts and styles left out), whitespace collapsed."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("script", "style", "title")

    def handle_endtag(self, tag):
        self._skip -= tag in ("script", "style", "title") and self._skip > 0

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.parts).split())


def test_rejected_run_marks_the_breaking_hop_and_shows_the_failure_once(tmp_path):
    """A real REJECTED run: VLAN1500 removed by hand from a trunk of the simulated Aggrik8s fabric. In Chromium the
    topology marks the hop the verifier names in red, and the assertion's text is on the page once, whole."""
    lab = REPO / "labs" / "aggrik8s.yaml"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", str(REPO / "features" / "fabric.feature"), "-k", "carried",
         "--lab", str(lab), "--sim-break", "trunk-vlan-removed", "--signoff", str(tmp_path / "reports"),
         "-p", "no:cacheprovider", "--show-capture=no"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL, check=False)
    last = run.stdout.strip().splitlines()[-1]
    assert run.returncode == 1 and last.startswith("Sign-off: REJECTED — "), run.stdout[-3000:]
    bundle = bundle_of(last, tmp_path)
    failed = [s for s in json.loads((bundle / "manifest.json").read_text())["scenarios"] if s["status"] == "failed"]
    assert len(failed) == 1
    message = failed[0]["failure"]["message"]
    hop = re.search(r"stops at (\S+) (\S+):", message)
    assert hop and "\nassert " not in message, message
    node, port = hop.groups()

    profile = tmp_path / "profile"
    url = (bundle / "report.html").as_uri()
    r = chromium("--dump-dom", url, profile=profile)
    assert r.returncode == 0, r.stderr[-2000:]
    dom = Dom(r.stdout)
    assert dom.text_by_id["verdict-text"] == "REJECTED"
    # the topology is the first section after the verdict, drawn from what the devices reported
    assert r.stdout.index('id="topology"') < r.stdout.index('id="failures"') < r.stdout.index('id="scenarios-title"')
    assert "As the devices reported it" in dom.text_by_id["topology-source"]
    links = re.findall(r"<path ([^>]*class=\"link [^\"]*\"[^>]*)>", r.stdout)
    broken = [a for a in links if 'class="link broken"' in a]
    assert len(links) > 10 and len(broken) == 1, broken
    ends = dict(re.findall(r'data-(a|b|a-port|b-port)="([^"]*)"', broken[0]))
    assert (node, port) in ((ends["a"], ends["a-port"]), (ends["b"], ends["b-port"])), (node, port, ends)
    assert 'stroke="#dc2626"' in broken[0]
    assert f"stops at {node} {port}" in dom.text_by_id["topology-breaks"]
    # the failure: on the page once, whole, in its block
    page = Text(r.stdout).text
    whole = " ".join(message.split())
    assert page.count(whole) == 1, page[:3000]
    assert whole in " ".join(Text(r.stdout[r.stdout.index('id="failures"'):r.stdout.index('id="charts"')]).text.split())

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "signoff-report-rejected.png"
    shot.unlink(missing_ok=True)
    r = chromium("--window-size=1300,1500", f"--screenshot={shot}", url, profile=profile)
    assert r.returncode == 0, r.stderr[-2000:]
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 20_000
