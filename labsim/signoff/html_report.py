"""report.html: one self-contained page (inline CSS, JS and SVG; no external resources, no network).

Stable hooks for tools and tests:
- ``#verdict`` (class ``accepted``/``rejected``), ``#verdict-text``; ``#reasons li``
- ``#count-total``, ``#count-passed``, ``#count-failed``, ``#count-skipped``, ``#count-waived``,
  ``#count-waived-failed``, ``#count-not-run`` (each holds the number in a ``<b>``), ``#step-counts``
- filters ``#filter-feature``, ``#filter-tag``, ``#filter-result``, ``#filter-reset``; ``#visible-count``
- scenarios ``article.scenario`` with ``data-feature``, ``data-tags`` (space separated), ``data-result``;
  filtered-out ones get the ``hidden`` attribute
- URL state: ``report.html#result=failed&tag=lab_only&feature=Fabric`` (or the same as a ``?query``)
"""

from __future__ import annotations

import base64
import json
from html import escape

from .charts import timeline_svg, transitions
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
    rfc3339,
)
from .render import steps_line
from .topology import topology_svg

PREVIEW_CHARS = 4000
IMAGE_INLINE_LIMIT = 512 * 1024
RESULTS = [(PASSED, "passed"), (FAILED, "failed"), (SKIPPED, "skipped"), (WAIVED, "waived"),
           (WAIVED_FAILED, "waived-failed"), (NOT_RUN, "not run")]

CSS = """
:root{--ok:#15803d;--bad:#b91c1c;--warn:#b45309;--mute:#64748b;--line:#e2e8f0;--bg:#f8fafc}
*{box-sizing:border-box}
[hidden]{display:none!important}
summary{cursor:pointer}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#0f172a;background:var(--bg)}
main{max-width:1200px;margin:0 auto;padding:0 20px 40px}
h1{margin:0;font-size:30px}h2{font-size:20px;margin:28px 0 10px;border-bottom:2px solid var(--line);padding-bottom:4px}
.verdict{padding:22px 20px;color:#fff}.verdict .inner{max-width:1200px;margin:0 auto}
.verdict.accepted{background:var(--ok)}.verdict.rejected{background:var(--bad)}
.verdict p{margin:6px 0 0;opacity:.95}
#reasons{background:#fef2f2;border:1px solid #fecaca;border-radius:8px;padding:10px 18px;margin-top:16px}
#reasons li{margin:3px 0}
#counts{display:flex;flex-wrap:wrap;gap:10px;margin:18px 0 6px}
.tile{display:block;min-width:110px;padding:10px 14px;border-radius:8px;background:#fff;border:1px solid var(--line);color:inherit;text-decoration:none}
.tile b{display:block;font-size:26px}.tile span{color:var(--mute)}
.tile.st-passed b{color:var(--ok)}.tile.st-failed b{color:var(--bad)}.tile.st-skipped b,.tile.st-not-run b{color:var(--mute)}
.tile.st-waived b,.tile.st-waived-failed b{color:var(--warn)}
.muted{color:var(--mute)}
table{border-collapse:collapse;width:100%;background:#fff}
td,th{border-bottom:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f1f5f9;font-weight:600}
.ctx td:first-child{width:190px;color:var(--mute)}
.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:12px 14px;margin:10px 0}
svg.topology{background:#fff;border:1px solid var(--line);border-radius:8px}
svg text{font-family:system-ui,"DejaVu Sans",sans-serif}
svg .nm{font-size:13px;font-weight:600;fill:#0f172a}svg .sub{font-size:11px;fill:#334155}
svg .lbl{font-size:11px;fill:#334155;font-weight:600}svg .lbl.mesh{fill:#0f766e}
svg .tick{font-size:11px;fill:#475569}svg .lane{font-size:12px;fill:#0f172a}
#filters{position:sticky;top:0;z-index:2;display:flex;flex-wrap:wrap;gap:10px;align-items:center;background:var(--bg);padding:8px 0;border-bottom:1px solid var(--line)}
#filters label{font-size:13px;color:var(--mute)}
select,button{font:inherit;padding:4px 8px;border:1px solid #cbd5e1;border-radius:6px;background:#fff}
.scenario{background:#fff;border:1px solid var(--line);border-left:6px solid var(--mute);border-radius:6px;margin:8px 0}
.scenario.st-passed{border-left-color:var(--ok)}.scenario.st-failed{border-left-color:var(--bad)}
.scenario.st-waived,.scenario.st-waived-failed{border-left-color:var(--warn)}
.scenario>details>summary{cursor:pointer;padding:8px 12px;display:flex;flex-wrap:wrap;gap:8px;align-items:baseline}
.scenario .body{padding:4px 14px 12px}
.badge{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:600;color:#fff;background:var(--mute)}
.badge.st-passed{background:var(--ok)}.badge.st-failed,.badge.st-undefined{background:var(--bad)}
.badge.st-waived,.badge.st-waived-failed{background:var(--warn)}
.sc-name{font-weight:600}.feat{color:var(--mute);font-size:13px}.tag{font-size:12px;color:#1d4ed8;background:#eff6ff;border-radius:4px;padding:0 5px;margin-right:3px}
.dur{margin-left:auto;color:var(--mute);font-size:13px}
.failure{background:#fef2f2;border:1px solid #fecaca;border-radius:6px;padding:8px 10px;margin:8px 0}
.note{background:#fffbeb;border:1px solid #fde68a;border-radius:6px;padding:6px 10px;margin:8px 0}
pre{background:#0f172a;color:#e2e8f0;padding:10px;border-radius:6px;overflow:auto;max-height:360px;font-size:12.5px;white-space:pre-wrap;word-break:break-word}
.steps td.st{width:90px}.steps td.d{width:80px;text-align:right;color:var(--mute)}
.steps .bg{color:var(--mute);font-size:12px}
img.preview{max-width:100%;border:1px solid var(--line)}
.ev{margin:6px 0}
ul.transitions{margin:4px 0 10px;font-size:13px}
footer{margin-top:30px;color:var(--mute);font-size:13px}
"""

JS = r"""
(function () {
  var keys = ["feature", "tag", "result"];
  var sel = {};
  keys.forEach(function (k) { sel[k] = document.getElementById("filter-" + k); });
  var items = Array.prototype.slice.call(document.querySelectorAll("article.scenario"));
  function params() {
    var p = new URLSearchParams(location.search);
    var h = new URLSearchParams(location.hash.replace(/^#/, ""));
    h.forEach(function (v, k) { p.set(k, v); });
    return p;
  }
  function ensureOption(s, v) {
    for (var i = 0; i < s.options.length; i++) { if (s.options[i].value === v) return; }
    var o = document.createElement("option"); o.value = v; o.textContent = v + " (none)"; s.appendChild(o);
  }
  function apply() {
    var f = sel.feature.value, t = sel.tag.value, r = sel.result.value, n = 0;
    items.forEach(function (el) {
      var ok = (!f || el.getAttribute("data-feature") === f) &&
               (!t || (" " + el.getAttribute("data-tags") + " ").indexOf(" " + t + " ") >= 0) &&
               (!r || el.getAttribute("data-result") === r);
      if (ok) { el.removeAttribute("hidden"); n++; } else { el.setAttribute("hidden", ""); }
    });
    document.getElementById("visible-count").textContent = String(n);
    document.body.setAttribute("data-filter", keys.map(function (k) { return k + "=" + sel[k].value; }).join("&"));
  }
  function fromUrl() {
    var h = location.hash.replace(/^#/, "");
    if (h && h.indexOf("=") < 0) return;  // a plain anchor (#timelines), not a filter
    var p = params();
    keys.forEach(function (k) {
      var v = p.get(k);
      if (v === null) v = "";
      if (v) ensureOption(sel[k], v);
      sel[k].value = v;
    });
    apply();
  }
  function toUrl() {
    var p = new URLSearchParams();
    keys.forEach(function (k) { if (sel[k].value) p.set(k, sel[k].value); });
    try { history.replaceState(null, "", location.pathname + location.search + "#" + p.toString()); } catch (e) {}
  }
  keys.forEach(function (k) { sel[k].addEventListener("change", function () { apply(); toUrl(); }); });
  document.getElementById("filter-reset").addEventListener("click", function () {
    keys.forEach(function (k) { sel[k].value = ""; }); apply(); toUrl();
  });
  window.addEventListener("hashchange", fromUrl);
  fromUrl();
})();
"""


def _e(v: object) -> str:
    return escape("" if v is None else str(v), quote=True)


def _dur(s: float) -> str:
    return f"{s * 1000:.0f} ms" if s < 1 else f"{s:.2f} s"


def render_html(run: Run, manifest: dict) -> str:
    recs = list(run.records.values())
    ok = run.verdict == "ACCEPTED"
    lab = run.lab_name or "(no lab file)"
    P: list[str] = []
    a = P.append
    a("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">")
    a("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
      "script-src 'unsafe-inline'; img-src data:\">")
    a('<meta name="viewport" content="width=device-width, initial-scale=1">')
    a(f"<title>Sign-off {run.verdict} — {_e(lab)} — {_e(run.run_id)}</title><style>{CSS}</style></head>")
    a(f'<body data-verdict="{run.verdict}">')
    # ---- verdict first
    a(f'<header id="verdict" class="verdict {"accepted" if ok else "rejected"}"><div class="inner">')
    a(f'<h1>Sign-off: <span id="verdict-text">{run.verdict}</span></h1>')
    a(f"<p>Lab <b id=\"lab-name\">{_e(lab)}</b> · target <b>{_e(run.target or 'unknown')}</b> · operator "
      f"<b>{_e(run.operator)}</b> · {_e(rfc3339(run.started))} → {_e(rfc3339(run.finished))} · run "
      f"<code>{_e(run.run_id)}</code></p></div></header><main>")
    if run.reasons:
        a('<section id="reasons"><b>Why REJECTED</b><ul>')
        a("".join(f"<li>{_e(r)}</li>" for r in run.reasons))
        a("</ul></section>")
    # ---- counts
    c = run.counts()
    a('<section id="counts">')
    a(f'<a class="tile" id="count-total" href="#"><b>{c["total"]}</b><span>scenarios</span></a>')
    for key, label in RESULTS:
        cls = key.replace(" ", "-")
        a(f'<a class="tile st-{cls}" id="count-{cls}" href="#result={_e(key)}"><b>{c[key]}</b>'
          f"<span>{label}</span></a>")
    a("</section>")
    a(f'<p id="step-counts" class="muted">Steps: {_e(steps_line(run))}</p>')
    if run.tests:
        t = run.counts("test")
        a(f'<p id="test-counts" class="muted">Plain tests (outside features): {t["total"]} total, {t[PASSED]} '
          f"passed, {t[FAILED]} failed, {t[SKIPPED]} skipped, {t[WAIVED] + t[WAIVED_FAILED]} waived</p>")
    a('<nav id="nav" class="muted">Jump to: <a href="#scenarios-title">Scenarios</a> · '
      '<a href="#timelines">Timelines</a> · <a href="#topology">Topology</a> · <a href="#run">Run</a> · '
      '<a href="#waivers">Waivers</a> · <a href="#deviations">Deviations</a> · <a href="#versions">Versions</a></nav>')
    # ---- scenarios
    a('<h2 id="scenarios-title">Scenarios</h2>')
    features = list(dict.fromkeys(r.feature for r in recs))
    tags = sorted({t for r in recs for t in r.tags})
    a('<div id="filters">')
    a('<label for="filter-feature">Feature</label><select id="filter-feature"><option value="">all</option>'
      + "".join(f'<option value="{_e(f)}">{_e(f)}</option>' for f in features) + "</select>")
    a('<label for="filter-tag">Tag</label><select id="filter-tag"><option value="">all</option>'
      + "".join(f'<option value="{_e(t)}">@{_e(t)}</option>' for t in tags) + "</select>")
    a('<label for="filter-result">Result</label><select id="filter-result"><option value="">all</option>'
      + "".join(f'<option value="{_e(k)}">{_e(lbl)}</option>' for k, lbl in RESULTS) + "</select>")
    a('<button type="button" id="filter-reset">Reset</button>')
    a(f'<span class="muted"><span id="visible-count">{len(recs)}</span> of {len(recs)} shown</span></div>')
    a('<div id="scenarios">')
    for r in recs:
        a(_scenario_html(r))
    a("</div>")
    # ---- timelines
    tls = [(r, i, tl) for r in recs for i, tl in enumerate(r.timelines)]
    a('<h2 id="timelines">Timelines</h2>')
    if not tls:
        a('<p class="muted">No timelines were recorded.</p>')
    if tls:
        for r, i, tl in tls:
            tid = f"tl-{r.slug}-{i + 1}"
            a(f'<div class="card timeline-card" id="{_e(tid)}" data-kind="{_e(tl.kind)}">'
              f"<b>{_e(tl.name)}</b> <span class=\"muted\">({_e(tl.kind)}) — "
              f'<a href="#sc-{_e(r.slug)}">{_e(r.full_name)}</a>'
              + (f' · <a href="{_e(tl.path)}">data</a>' if tl.path else "") + "</span>")
            a(timeline_svg(tl.name, tl.kind, tl.points, svg_id=f"{tid}-svg"))
            tr = transitions(tl.points, tl.kind)
            if tr:
                a('<ul class="transitions">' + "".join(f"<li>{_e(x)}</li>" for x in tr[:40]) + "</ul>")
            a("</div>")
    # ---- topology
    svg = topology_svg(run.lab_data)
    a('<h2 id="topology">Lab topology</h2>')
    a(svg if svg else '<p class="muted">No lab file, or it describes no devices.</p>')
    # ---- context
    a('<h2 id="run">Run</h2><table class="ctx" id="context">')
    rows = [("Lab", lab), ("Lab file", manifest.get("lab", {}).get("path")),
            ("Lab file sha256", run.lab_sha256), ("Target", run.target), ("Operator", run.operator),
            ("Started (UTC)", rfc3339(run.started)), ("Finished (UTC)", rfc3339(run.finished)),
            ("Run id", run.run_id)]
    git = manifest.get("git")
    if git:
        rows.append(("Git commit", f"{git.get('commit') or 'none'}{' (dirty)' if git.get('dirty') else ''}"))
    if run.sim_seed is not None:
        rows.append(("Simulator seed", run.sim_seed))
    a("".join(f"<tr><td>{_e(k)}</td><td>{_e(v if v is not None else '—')}</td></tr>" for k, v in rows))
    a("</table>")
    # ---- waivers and deviations
    a('<h2 id="waivers">Waivers</h2>')
    if not run.waivers:
        a('<p class="muted">No waivers.</p>')
    else:
        a("<table><tr><th>Waiver</th><th>Justification</th><th>Expires</th><th>Run</th><th>State</th>"
          "<th>Applied to</th></tr>")
        for w in run.waivers:
            expired = w.expired(run.today)
            state = "expired (not applied)" if expired else ("applied" if w.matched else "matched nothing")
            applied = ", ".join(run.records[n].full_name for n in w.matched if n in run.records)
            if expired:
                applied = ", ".join(r.full_name for r in recs if w in r.expired_waivers)
            a(f"<tr class=\"waiver {'expired' if expired else 'active'}\"><td>{_e(w.target)}</td>"
              f"<td>{_e(w.justification)}</td><td>{_e(w.expires.isoformat())}</td><td>{_e(w.run)}</td>"
              f"<td>{_e(state)}</td><td>{_e(applied)}</td></tr>")
        a("</table>")
    a('<h2 id="deviations">Deviations</h2>')
    if not run.deviations:
        a('<p class="muted">None declared.</p>')
    else:
        a("<table><tr><th>Tag</th><th>Reason</th><th>Accounts for</th></tr>")
        for tag, reason in sorted(run.deviations.items()):
            n = sum(1 for r in recs if r.deviation and r.deviation[0] == tag)
            a(f"<tr><td>@{_e(tag)}</td><td>{_e(reason)}</td><td>{n} skipped scenario(s)</td></tr>")
        a("</table>")
    # ---- versions
    a('<h2 id="versions">Versions</h2><table>')
    if run.lab_versions:
        a("".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in sorted(run.lab_versions.items())))
    for k, v in (manifest.get("versions") or {}).items():
        a(f'<tr><td class="muted">{_e(k)}</td><td class="muted">{_e(v if v is not None else "not installed")}</td></tr>')
    a("</table>")
    if run.collection_errors:
        a('<h2 id="collection-errors">Collection errors</h2>')
        for p, m in run.collection_errors:
            a(f"<div class=\"card\"><b>{_e(p)}</b><pre>{_e(m[:PREVIEW_CHARS])}</pre></div>")
    a("<footer>Files: summary.md, junit.xml, cucumber.json, manifest.json, evidence/, SHA256SUMS. Check this bundle "
      "with <code>python -m labsim.signoff verify &lt;bundle&gt;</code>.</footer>")
    a(f"</main><script>{JS}</script></body></html>\n")
    return "".join(P)


def _scenario_html(r: ScenarioRecord) -> str:
    st = r.status.replace(" ", "-")
    P: list[str] = []
    a = P.append
    a(f'<article class="scenario st-{st}" id="sc-{_e(r.slug)}" data-feature="{_e(r.feature)}" '
      f'data-tags="{_e(" ".join(r.tags))}" data-result="{_e(r.status)}" data-nodeid="{_e(r.nodeid)}">')
    a(f"<details{' open' if r.status in (FAILED, WAIVED_FAILED) else ''}><summary>")
    a(f'<span class="badge st-{st}">{_e(r.status)}</span><span class="sc-name">{_e(r.name)}</span>'
      f'<span class="feat">{_e(r.feature)}</span>')
    if r.tags:
        a('<span class="tags">' + "".join(f'<span class="tag">@{_e(t)}</span>' for t in r.tags) + "</span>")
    a(f'<span class="dur">{_dur(r.duration)}</span></summary><div class="body">')
    a(f'<p class="muted">{_e(r.feature_file)}:{r.line}' + (f" · rule {_e(r.rule)}" if r.rule else "")
      + (f" · example {_e(json.dumps(r.example, ensure_ascii=False))}" if r.example else "") + "</p>")
    if r.status in (SKIPPED, WAIVED, NOT_RUN):
        why = r.skip_reason or ("not run" if r.status == NOT_RUN else "skipped")
        acc = ""
        if r.waiver is not None:
            acc = f"Waived until {r.waiver.expires.isoformat()}: {r.waiver.justification}"
        elif r.deviation:
            acc = f"Deviation @{r.deviation[0]}: {r.deviation[1]}"
        elif r.status != NOT_RUN:
            acc = "Not accounted for by any deviation or waiver."
        a(f'<div class="note skip"><b>{_e(why)}</b>' + (f"<br>{_e(acc)}" if acc else "") + "</div>")
    for w in r.expired_waivers:
        a(f'<div class="note">Expired waiver (not applied, expired {_e(w.expires.isoformat())}): '
          f"{_e(w.justification)}</div>")
    if r.status in (FAILED, WAIVED_FAILED):
        a('<div class="failure">')
        if r.status == WAIVED_FAILED and r.waiver:
            a(f"<b>Waived failure</b> (until {_e(r.waiver.expires.isoformat())}: {_e(r.waiver.justification)})<br>")
        if r.failure_step:
            a(f"<b>Failed step:</b> {_e(r.failure_step)}<br>")
        a(f"<b>Message:</b> {_e(r.failure_message or '(none)')}")
        if r.failure_details:
            a(f"<details><summary>Traceback</summary><pre>{_e(r.failure_details[:20000])}</pre></details>")
        a("</div>")
    if r.steps:
        a('<table class="steps"><tr><th>Result</th><th>Step</th><th>Time</th></tr>')
        for s in r.steps:
            sst = s.status.replace(" ", "-")
            err = f'<div class="failure">{_e(s.error)}</div>' if s.error and s.status in (FAILED, UNDEFINED) else ""
            bg = ' <span class="bg">(background)</span>' if s.background else ""
            a(f'<tr class="step st-{sst}"><td class="st"><span class="badge st-{sst}">{_e(s.status)}</span></td>'
              f"<td><b>{_e(s.keyword)}</b> {_e(s.name)}{bg}{err}</td><td class=\"d\">"
              f"{_dur(s.duration) if s.status not in (NOT_RUN, UNDEFINED) else ''}</td></tr>")
        a("</table>")
    if r.findings:
        a('<table class="findings"><tr><th>Finding</th><th>Result</th><th>Message</th></tr>')
        for f in r.findings:
            det = ""
            if f.details:
                det = f"<details><summary>details</summary><pre>{_e(json.dumps(f.details, indent=2, default=str, ensure_ascii=False))}</pre></details>"
            a(f"<tr class=\"finding {'ok' if f.passed else 'bad'}\"><td>{_e(f.name)}</td><td>"
              f"<span class=\"badge st-{'passed' if f.passed else 'failed'}\">{'pass' if f.passed else 'FAIL'}</span>"
              f"</td><td>{_e(f.message)}{det}</td></tr>")
        a("</table>")
    for i, tl in enumerate(r.timelines):
        a(f'<p class="ev">Timeline <a href="#tl-{_e(r.slug)}-{i + 1}">{_e(tl.name)}</a> ({_e(tl.kind)})</p>')
    for att in r.attachments:
        a(_attachment_html(att))
    a("</div></details></article>")
    return "".join(P)


def _attachment_html(att) -> str:
    link = f'<a href="{_e(att.path)}">{_e(att.path)}</a>'
    head = f"<b>{_e(att.name)}</b> <span class=\"muted\">{_e(att.media_type)}, {len(att.data)} bytes</span> · {link}"
    if att.media_type in ("image/png", "image/jpeg", "image/svg+xml") and len(att.data) <= IMAGE_INLINE_LIMIT:
        uri = f"data:{att.media_type};base64,{base64.b64encode(att.data).decode('ascii')}"
        return f'<div class="ev attachment">{head}<br><img class="preview" alt="{_e(att.name)}" src="{uri}"></div>'
    if att.is_text:
        text = att.data.decode("utf-8", errors="replace")
        more = len(text) > PREVIEW_CHARS
        body = _e(text[:PREVIEW_CHARS]) + ("\n… (truncated; open the file)" if more else "")
        return f'<div class="ev attachment"><details><summary>{head}</summary><pre>{body}</pre></details></div>'
    return f'<div class="ev attachment">{head}</div>'
