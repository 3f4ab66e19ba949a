"""report.html: one self-contained page (inline CSS, JS and SVG; no external resources, no network), rendered from
the Jinja2 templates in templates/ with autoescaping on: every value from a run is escaped by the template.

Order: the verdict and why, the counts, the lab topology (as observed), one block per failure with the assertion's
whole text and a traceback trimmed to project code, the charts, then every scenario, the run, waivers, deviations,
versions.

Stable hooks for tools and tests:
- ``#verdict`` (class ``accepted``/``partial``/``rejected``), ``#verdict-text``; ``#reasons li``; ``#not-run li``
- ``#count-total``, ``#count-passed``, ``#count-failed``, ``#count-skipped``, ``#count-waived``,
  ``#count-waived-failed``, ``#count-not-run`` (each holds the number in a ``<b>``), ``#step-counts``
- ``#topology-svg`` with ``path.link`` (``data-a``, ``data-a-port``, ``data-b``, ``data-b-port``; class ``broken`` where
  a VLAN stops, ``differs`` where it differs from the lab file), ``#topology-breaks li``
- ``#failures section.failure-block`` (``id="fail-<slug>"``, ``data-nodeid``) with ``pre.failure-text``
- ``#charts .chart-card`` (``data-kind``) with its ``svg``
- filters ``#filter-feature``, ``#filter-tag``, ``#filter-result``, ``#filter-reset``; ``#visible-count``
- scenarios ``article.scenario`` with ``data-feature``, ``data-tags`` (space separated), ``data-result``;
  filtered-out ones get the ``hidden`` attribute
- URL state: ``report.html#result=failed&tag=lab_only&feature=Fabric`` (or the same as a ``?query``)
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined

from .model import FAILED, PASSED, SKIPPED, WAIVED, WAIVED_FAILED, Attachment, Run, ScenarioRecord, rfc3339
from .plots import Colours, Svg, chart, transitions
from .render import steps_line
from .topology import topology_for

PREVIEW_CHARS = 4000
IMAGE_INLINE_LIMIT = 512 * 1024
RESULTS = [(PASSED, "passed"), (FAILED, "failed"), (SKIPPED, "skipped"), (WAIVED, "waived"),
           (WAIVED_FAILED, "waived-failed"), ("not run", "not run")]


def _dur(s: float) -> str:
    return f"{s * 1000:.0f} ms" if s < 1 else f"{s:.2f} s"


def _size(n: int) -> str:
    return f"{n} bytes" if n < 10_000 else f"{n / 1024:.0f} KB" if n < 10_000_000 else f"{n / 1048576:.1f} MB"


@cache
def environment() -> Environment:
    env = Environment(loader=PackageLoader("labsim.signoff", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=False, lstrip_blocks=False, keep_trailing_newline=True)
    env.filters["dur"] = _dur
    env.filters["size"] = _size
    env.filters["tojson_pretty"] = lambda v: json.dumps(v, indent=2, default=str, ensure_ascii=False)
    return env


@dataclass
class AttachmentView:
    """What the page shows of an attachment: always a link; a picture or a short text inline; compressed ones
    (transcripts, large text) only as a link."""

    name: str
    path: str
    media_type: str
    data: bytes
    compressed: bool
    preview_uri: str | None = None
    preview_text: str | None = None

    @classmethod
    def of(cls, att: Attachment) -> AttachmentView:
        view = cls(att.name, att.path, att.media_type, att.data, att.compressed)
        if att.compressed:
            return view
        if att.media_type in ("image/png", "image/jpeg", "image/svg+xml") and len(att.data) <= IMAGE_INLINE_LIMIT:
            view.preview_uri = f"data:{att.media_type};base64,{base64.b64encode(att.data).decode('ascii')}"
        elif att.is_text:
            text = att.data.decode("utf-8", errors="replace")
            view.preview_text = text[:PREVIEW_CHARS] + ("\n… (truncated; open the file)" if len(text) > PREVIEW_CHARS
                                                        else "")
        return view


@dataclass
class ChartView:
    id: str
    name: str
    kind: str
    scenario: str
    slug: str
    path: str | None
    svg: Svg
    transitions: list[str]


def _lab_clusters(lab: object) -> list[str]:
    if not isinstance(lab, dict):
        return []
    return [str(c["name"]) for c in lab.get("clusters") or [] if isinstance(c, dict) and c.get("name")]


def _reasons(run: Run) -> list[tuple[str, str | None]]:
    """The reasons, a failed scenario's as a link to its failure block (its text is shown once, there)."""
    out: list[tuple[str, str | None]] = []
    failed = [r for r in run.records.values() if r.status == FAILED]
    for r in failed:
        what = "scenario" if r.kind == "scenario" else "test"
        at = f" at {r.failure_step}" if r.failure_step else (f" in {r.phase}" if r.phase and r.phase != "call" else "")
        out.append((f"{what} failed: {r.full_title}{at}", f"#fail-{r.slug}"))
    prefixes = tuple(f"{w} failed: {r.full_title}" for r in failed for w in ("scenario", "test"))
    out += [(text, None) for text in run.reasons if not text.startswith(prefixes)]
    return out


def render_html(run: Run, manifest: dict) -> str:
    recs = list(run.records.values())
    colours = Colours(_lab_clusters(run.lab_data))
    topology = topology_for(recs, run.lab_data, colours)
    topology_record = next((r for r in recs if topology and topology.scenario == r.full_title and r.topology), None)
    charts = []
    for r in recs:
        for i, tl in enumerate(r.timelines):
            cid = f"tl-{r.slug}-{i + 1}"
            charts.append(ChartView(cid, tl.name, tl.kind, r.full_title, r.slug, tl.path,
                                    chart(f"{cid}-svg", tl.name, tl.kind, tl.points, colours),
                                    transitions(tl.points, tl.kind)[:40]))
    order = {"split": 0, "failover": 1, "health": 2}
    charts.sort(key=lambda c: order.get(c.kind, 3))   # the canary first, then failovers, then health
    waivers = []
    for w in run.waivers:
        expired = w.expired(run.today)
        applied = [r.full_title for r in recs if (w in r.expired_waivers if expired else r.nodeid in w.matched)]
        waivers.append({"target": w.target, "justification": w.justification, "expires": w.expires.isoformat(),
                        "run": w.run, "expired": expired, "applied": ", ".join(applied),
                        "state": "expired (not applied)" if expired else ("applied" if w.matched else "matched nothing")})
    git = manifest.get("git")
    context = [("Lab", run.lab_name or "(no lab file)"), ("Lab file", manifest.get("lab", {}).get("path")),
               ("Lab file sha256", run.lab_sha256), ("Target", run.target), ("Operator", run.operator),
               ("Started (UTC)", rfc3339(run.started)), ("Finished (UTC)", rfc3339(run.finished)),
               ("Run id", run.run_id)]
    if git:
        context.append(("Git commit", f"{git.get('commit') or 'none'}{' (dirty)' if git.get('dirty') else ''}"))
    if run.sim_seed is not None:
        context.append(("Simulator seed", run.sim_seed))
    tests = run.counts("test") if run.tests else None
    records = [_RecordView(r) for r in recs]
    return environment().get_template("report.html.j2").render(
        run=run, lab=run.lab_name or "(no lab file)", accepted=run.verdict == "ACCEPTED",
        verdict_class=run.verdict.lower(), unselected=run.unselected,
        started=rfc3339(run.started), finished=rfc3339(run.finished), reasons=_reasons(run),
        counts=run.counts(), results=RESULTS, steps_line=steps_line(run),
        test_counts=(f"{tests['total']} total, {tests[PASSED]} passed, {tests[FAILED]} failed, {tests[SKIPPED]} "
                     f"skipped, {tests[WAIVED] + tests[WAIVED_FAILED]} waived") if tests else None,
        topology=topology, topology_slug=topology_record.slug if topology_record else "",
        topology_record=next((v for v in records if v.rec is topology_record), None),
        failures=[v for v in records if v.status in (FAILED, WAIVED_FAILED)], charts=charts,
        features=list(dict.fromkeys(r.feature for r in recs)), tags=sorted({t for r in recs for t in r.tags}),
        records=records, context=context, waivers=waivers,
        deviations=[(tag, reason, sum(1 for r in recs if r.deviation and r.deviation[0] == tag))
                    for tag, reason in sorted(run.deviations.items())],
        lab_versions=sorted(run.lab_versions.items()), library_versions=list((manifest.get("versions") or {}).items()))


class _RecordView:
    """A ScenarioRecord for the template: its fields, its title, and its attachments as views."""

    def __init__(self, rec: ScenarioRecord) -> None:
        self.rec = rec
        self.attachments = [AttachmentView.of(a) for a in rec.attachments]

    def __getattr__(self, name: str) -> object:
        return getattr(self.rec, name)
