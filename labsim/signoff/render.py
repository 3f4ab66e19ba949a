"""Renderers for the text formats of the bundle: summary.md, junit.xml, cucumber.json."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from collections import OrderedDict

from .model import (
    FAILED,
    NOT_RUN,
    PASSED,
    SKIPPED,
    UNDEFINED,
    WAIVED,
    WAIVED_FAILED,
    Run,
    ScenarioRecord,
    first_line,
    rfc3339,
)

EMBED_LIMIT = 256 * 1024  # attachments up to this size are embedded in cucumber.json as well


def by_feature(records: list[ScenarioRecord]) -> OrderedDict[str, list[ScenarioRecord]]:
    groups: OrderedDict[str, list[ScenarioRecord]] = OrderedDict()
    for r in records:
        groups.setdefault(r.feature_file if r.kind == "scenario" else "tests", []).append(r)
    return groups


def _md(text: str | None) -> str:
    """Inline text safe for a Markdown line."""
    if not text:
        return ""
    return " ".join(str(text).split()).replace("|", "\\|")


def counts_line(run: Run, kind: str = "scenario") -> str:
    c = run.counts(kind)
    parts = [f"{c[PASSED]} passed", f"{c[FAILED]} failed", f"{c[SKIPPED]} skipped",
             f"{c[WAIVED] + c[WAIVED_FAILED]} waived"]
    if c[WAIVED_FAILED]:
        parts[-1] += f" ({c[WAIVED_FAILED]} waived-failed)"
    if c[NOT_RUN]:
        parts.append(f"{c[NOT_RUN]} not run")
    return f"{c['total']} total: " + ", ".join(parts)


def steps_line(run: Run) -> str:
    c = run.step_counts()
    parts = [f"{c[PASSED]} passed", f"{c[FAILED]} failed", f"{c[SKIPPED]} skipped", f"{c[UNDEFINED]} undefined",
             f"{c[NOT_RUN]} not run"]
    return f"{c['total']} total: " + ", ".join(parts)


def span_text(seconds: float) -> str:
    """A span of time as a person reads it: "0.4 s", "12 s", "4 min 05 s", "2 h 41 min"."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


CLOCK_WORDS = {"virtual": "virtual time on the simulated lab's clock",
               "wall": "a real lab: its lab time is wall time",
               "mixed": "virtual and wall time: some scenarios ran on a real lab"}


def lab_time_line(run: Run) -> str:
    """The lab time the run covered, or why there is none ("no scenario used a lab")."""
    seconds, n, clock = run.lab_time()
    if not n:
        return "none measured (no scenario used a lab)"
    return f"{span_text(seconds)} over {n} scenario{'s' if n != 1 else ''} ({CLOCK_WORDS[clock]})"


def closing_line(run: Run) -> str:
    """The console's line before the verdict: "52 scenarios, 2 h 41 min of lab time in 58 s"; empty when no scenario
    ran (a lab file refused before any: pytest's own last line says so)."""
    ran = [r for r in run.scenarios if r.outcome in (PASSED, FAILED)]
    seconds, n, clock = run.lab_time()
    if not ran and not n:
        return ""
    wall = (run.finished - run.started).total_seconds() if run.finished else 0.0
    lab = f"{span_text(seconds)} of lab time" if n else "no lab time measured"
    note = " (a real lab: lab time is wall time)" if clock == "wall" else \
        " (some on a real lab: lab time is wall time there)" if clock == "mixed" else ""
    return f"{len(ran)} scenario{'s' if len(ran) != 1 else ''}, {lab} in {span_text(wall)}{note}"


def summary_md(run: Run, manifest: dict) -> str:
    L: list[str] = []
    L.append(f"# Lab sign-off: {run.verdict}")
    L.append("")
    lab = run.lab_name or "(no lab file)"
    L += [
        "| | |",
        "|---|---|",
        f"| Verdict | **{run.verdict}** |",
        f"| Lab | {_md(lab)}" + (f" (`{_md(manifest['lab']['path'])}`, sha256 `{run.lab_sha256}`)" if run.lab_path else "") + " |",
        f"| Target | {_md(run.target or 'unknown')} |",
        f"| Operator | {_md(run.operator)} |",
        f"| Started (UTC) | {rfc3339(run.started)} |",
        f"| Finished (UTC) | {rfc3339(run.finished)} |",
        f"| Run id | `{run.run_id}` |",
    ]
    git = manifest.get("git")
    if git:
        L.append(f"| Git commit | `{git.get('commit') or 'none'}`" + (" (dirty)" if git.get("dirty") else "") + " |")
    if run.sim_seed is not None:
        L.append(f"| Simulator seed | {_md(str(run.sim_seed))} |")
    L.append("")
    L.append("## Counts")
    L.append("")
    L.append(f"- Scenarios: {counts_line(run)}")
    L.append(f"- Steps: {steps_line(run)}")
    if run.tests:
        L.append(f"- Tests (outside features): {counts_line(run, 'test')}")
    L.append(f"- Lab time: {lab_time_line(run)}")
    L.append("")
    if run.verdict != "ACCEPTED":
        L.append(f"## Reasons for {run.verdict}")
        L.append("")
        L += [f"- {_md(r)}" for r in run.reasons] or ["- (none)"]
        L.append("")
    if run.unselected:
        L.append("## Not run in this run")
        L.append("")
        L += [f"- {_md(name)}: {_md(why)}" for name, why in run.unselected]
        L.append("")
    recs = list(run.records.values())
    failed = [r for r in recs if r.status == FAILED]
    L.append("## Failures")
    L.append("")
    if not failed:
        L.append("None.")
    for r in failed:
        L += _failure_md(r)
    L.append("")
    wf = [r for r in recs if r.status == WAIVED_FAILED]
    if wf:
        L.append("## Waived failures")
        L.append("")
        for r in wf:
            L += _failure_md(r)
            L.append(f"  - Waived: {_md(r.waiver.justification)} (expires {r.waiver.expires.isoformat()})")
        L.append("")
    L.append("## Waivers applied")
    L.append("")
    applied = [w for w in run.active_waivers if w.matched]
    if not applied:
        L.append("None.")
    for w in applied:
        names = [run.records[n].full_name for n in w.matched if n in run.records]
        L.append(f"- {_md(w.target)}{' (run: false)' if not w.run else ''}, expires {w.expires.isoformat()}: "
                 f"{_md(w.justification)}")
        for n in names:
            rec = next(r for r in recs if r.full_name == n)
            L.append(f"  - {_md(n)}: {rec.status}")
    unused = [w for w in run.active_waivers if not w.matched]
    if unused:
        L.append("")
        L.append("Waivers that matched nothing:")
        L += [f"- {_md(w.target)} (line {w.line}), expires {w.expires.isoformat()}" for w in unused]
    L.append("")
    L.append("## Expired waivers (not applied)")
    L.append("")
    expired = run.expired_waivers
    if not expired:
        L.append("None.")
    for w in expired:
        hit = [r.full_name for r in recs if w in r.expired_waivers]
        L.append(f"- {_md(w.target)}, expired {w.expires.isoformat()}: {_md(w.justification)}"
                 + (f" — would have applied to: {', '.join(_md(h) for h in hit)}" if hit else ""))
    L.append("")
    L.append("## Deviations")
    L.append("")
    if not run.deviations:
        L.append("None declared.")
    for tag, reason in sorted(run.deviations.items()):
        acc = [r.full_name for r in recs if r.deviation and r.deviation[0] == tag]
        L.append(f"- @{_md(tag)}: {_md(reason)} — accounts for {len(acc)} skipped scenario(s)")
        L += [f"  - {_md(a)}" for a in acc]
    L.append("")
    skipped = [r for r in recs if r.status in (SKIPPED, WAIVED)]
    if skipped:
        L.append("## Skipped")
        L.append("")
        for r in skipped:
            if r.status == WAIVED:
                why = f"waiver: {r.waiver.justification}" if r.waiver else "waived"
            elif r.deviation:
                why = f"deviation @{r.deviation[0]}: {r.deviation[1]}"
            else:
                why = "NOT ACCOUNTED FOR"
            L.append(f"- {_md(r.full_name)} — {_md(r.skip_reason or 'skipped')} — {_md(why)}")
        L.append("")
    timed = [r for r in recs if r.lab_time is not None]
    if timed:
        L.append("## Lab time per scenario")
        L.append("")
        L.append("| Scenario | Lab time | Clock | Wall time |")
        L.append("|---|---|---|---|")
        L += [f"| {_md(r.full_title)} | {span_text(r.lab_time)} | {r.lab_clock} | {span_text(r.duration)} |"
              for r in timed]
        L.append("")
    if run.lab_versions:
        L.append("## Versions the lab reported")
        L.append("")
        L += [f"- {_md(k)}: {_md(v)}" for k, v in sorted(run.lab_versions.items())]
        L.append("")
    if run.collection_errors:
        L.append("## Collection errors")
        L.append("")
        L += [f"- {_md(p)}: {_md(first_line(m))}" for p, m in run.collection_errors]
        L.append("")
    L.append("See `report.html` for every scenario with its steps and evidence; verify this bundle with "
             "`python -m labsim.signoff verify <this directory>`.")
    L.append("")
    return "\n".join(L)


def _fenced(text: str, indent: str = "  ") -> list[str]:
    """Text kept whole, every line, in a fenced block (longer fence than any backtick run inside)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{indent}{fence}text"] + [f"{indent}{line}".rstrip() for line in text.splitlines()] + [f"{indent}{fence}"]


def _failure_md(r: ScenarioRecord) -> list[str]:
    out = [f"- **{_md(r.feature)}** › **{_md(r.title)}** (`{_md(r.feature_file)}:{r.line}`)"]
    if r.failure_step:
        out.append(f"  - Step: `{_md(r.failure_step)}`")
    elif r.phase and r.phase != "call":
        out.append(f"  - In: {r.phase}")
    out.append("  - Message:")
    out.append("")
    out += _fenced(r.failure_message or "(no message)", "    ")
    out.append("")
    return out


# ---- JUnit -------------------------------------------------------------------------------------------------

def _xml_safe(text: str) -> str:
    return "".join(ch if (ch in "\t\n\r" or 0x20 <= ord(ch) <= 0xD7FF or 0xE000 <= ord(ch) <= 0xFFFD
                          or 0x10000 <= ord(ch) <= 0x10FFFF) else "\ufffd" for ch in text)


def junit_xml(run: Run) -> str:
    recs = list(run.records.values())
    root = ET.Element("testsuites", name=f"labsim sign-off {run.run_id}")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0, "time": 0.0}
    for key, group in by_feature(recs).items():
        suite_name = group[0].feature if group[0].kind == "scenario" else "tests"
        suite = ET.SubElement(root, "testsuite", name=_xml_safe(suite_name))
        st = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0, "time": 0.0}
        for r in group:
            st["tests"] += 1
            st["time"] += r.duration
            tc = ET.SubElement(suite, "testcase", classname=_xml_safe(key), name=_xml_safe(r.title),
                               time=f"{r.duration:.3f}", file=_xml_safe(r.feature_file), line=str(r.line))
            if r.status in (FAILED, WAIVED_FAILED):
                tagname = "error" if r.phase in ("setup", "teardown") and not r.failure_step else "failure"
                msg = first_line(r.failure_message, 500) or "failed"
                if r.status == WAIVED_FAILED:
                    msg = f"[waived until {r.waiver.expires.isoformat()}] {msg}"
                el = ET.SubElement(tc, tagname, message=_xml_safe(msg),
                                   type="UndefinedStep" if any(s.status == UNDEFINED for s in r.steps) else "StepFailed")
                body = []
                if r.failure_step:
                    body.append(f"Step: {r.failure_step}")
                body.append(r.failure_message or "")
                if r.failure_details:
                    body += ["", r.failure_details]
                el.text = _xml_safe("\n".join(body))
                st["errors" if tagname == "error" else "failures"] += 1
            elif r.status in (SKIPPED, WAIVED, NOT_RUN):
                if r.status == NOT_RUN:
                    msg = "not run"
                elif r.status == WAIVED:
                    msg = f"waived: {r.waiver.justification}" if r.waiver else (r.skip_reason or "waived")
                else:
                    msg = r.skip_reason or "skipped"
                    if r.deviation:
                        msg += f" [deviation @{r.deviation[0]}: {r.deviation[1]}]"
                ET.SubElement(tc, "skipped", message=_xml_safe(msg))
                st["skipped"] += 1
            if r.steps:
                lines = [f"{s.status.upper():9} {s.keyword} {s.name} ({s.duration:.3f}s)" for s in r.steps]
                ET.SubElement(tc, "system-out").text = _xml_safe("\n".join(lines))
        for k, v in st.items():
            suite.set(k, f"{v:.3f}" if k == "time" else str(v))
            totals[k] += v
        suite.set("timestamp", rfc3339(run.started) or "")
    for k, v in totals.items():
        root.set(k, f"{v:.3f}" if k == "time" else str(v))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# ---- Cucumber JSON -----------------------------------------------------------------------------------------

CUKE_STATUS = {PASSED: "passed", FAILED: "failed", SKIPPED: "skipped", UNDEFINED: "undefined", NOT_RUN: "skipped"}


def _cuke_id(text: str) -> str:
    return "-".join(str(text).lower().split()).replace(";", "")


def cucumber_json(run: Run) -> list[dict]:
    features: list[dict] = []
    for group in by_feature(run.scenarios).values():
        f0 = group[0]
        fid = _cuke_id(f0.feature)
        feat = {
            "uri": f0.feature_file,
            "id": fid,
            "keyword": f0.feature_keyword,
            "name": f0.feature,
            "line": f0.feature_line,
            "description": f0.feature_description,
            "tags": [{"name": "@" + t, "line": max(f0.feature_line - 1, 1)} for t in f0.feature_tags],
            "elements": [],
        }
        outline_rows: dict[str, int] = {}
        for r in group:
            sid = f"{fid};{_cuke_id(r.template_name or r.name)}"
            if r.example is not None:
                outline_rows[sid] = outline_rows.get(sid, 1) + 1
                sid += f";;{outline_rows[sid]}"
            steps = []
            for s in r.steps:
                res: dict = {"status": CUKE_STATUS.get(s.status, "skipped"), "duration": int(s.duration * 1e9)}
                if s.status in (FAILED, UNDEFINED) and (s.error or r.failure_message):
                    res["error_message"] = s.error or r.failure_message
                if s.status == SKIPPED and r.skip_reason:
                    res["error_message"] = r.skip_reason
                step = {"keyword": s.keyword.strip() + " ", "name": s.name, "line": s.line,
                        "match": {"location": f"{r.feature_file}:{s.line}"}, "result": res}
                label = f"{s.keyword} {s.name}"
                emb = [a for a in r.attachments if a.step == label and len(a.data) <= EMBED_LIMIT and not a.compressed]
                if emb:
                    step["embeddings"] = [{"mime_type": a.media_type, "name": a.name,
                                           "data": base64.b64encode(a.data).decode("ascii")} for a in emb]
                steps.append(step)
            if r.status in (SKIPPED, WAIVED, NOT_RUN) and r.steps and all(s.status == NOT_RUN for s in r.steps):
                # make the first step carry the reason, as Cucumber reports a skipped scenario
                steps[0]["result"]["error_message"] = r.skip_reason or r.status
            el = {
                "id": sid,
                "keyword": "Scenario Outline" if r.example is not None else r.keyword,
                "name": r.name,
                "line": r.line,
                "description": r.description,
                "type": "scenario",
                "tags": [{"name": "@" + t, "line": max(r.line - 1, 1)} for t in r.tags],
                "steps": steps,
            }
            if r.status in (SKIPPED, WAIVED, WAIVED_FAILED, NOT_RUN):
                el["signoff_status"] = r.status  # extra field; Cucumber tools ignore unknown keys
            feat["elements"].append(el)
        features.append(feat)
    return features
