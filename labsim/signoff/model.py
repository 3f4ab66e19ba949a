"""The sign-off record: what ran, how each step went, the evidence, and the verdict rules."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from .waivers import Waiver

# step results
PASSED, FAILED, SKIPPED, UNDEFINED, NOT_RUN = "passed", "failed", "skipped", "undefined", "not run"
# scenario statuses (after waivers and deviations)
WAIVED, WAIVED_FAILED = "waived", "waived-failed"
STATUSES = (PASSED, FAILED, SKIPPED, WAIVED, WAIVED_FAILED, NOT_RUN)

# PARTIAL: nothing failed, but not every scenario of the suite ran (-k, -m, --deselect, a run of some files only)
ACCEPTED, PARTIAL, REJECTED = "ACCEPTED", "PARTIAL", "REJECTED"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def rfc3339(t: dt.datetime | None) -> str | None:
    if t is None:
        return None
    return t.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def slugify(text: str, maxlen: int = 80) -> str:
    s = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return (s[:maxlen].rstrip("-")) or "item"


@dataclass
class StepRecord:
    keyword: str
    name: str
    type: str
    line: int
    background: bool = False
    status: str = NOT_RUN
    duration: float = 0.0
    error: str | None = None
    started: float | None = None  # perf_counter at start (internal)

    def to_dict(self) -> dict:
        return {
            "keyword": self.keyword,
            "name": self.name,
            "type": self.type,
            "line": self.line,
            "background": self.background,
            "status": self.status,
            "duration": round(self.duration, 6),
            "error": self.error,
        }


@dataclass
class Attachment:
    name: str
    path: str  # bundle-relative: evidence/<slug>/<n>-<name>.<ext>
    media_type: str
    data: bytes
    step: str | None = None
    compressed: bool = False  # stored gzip-compressed in the bundle (path ends in .gz): linked, never inlined

    @property
    def is_text(self) -> bool:
        mt = self.media_type
        return mt.startswith("text/") or mt in ("application/json", "application/xml", "application/yaml",
                                                 "application/x-yaml")

    def to_dict(self) -> dict:
        return {"name": self.name, "path": self.path, "media_type": self.media_type, "size": len(self.data),
                "step": self.step, "compressed": self.compressed}


@dataclass
class Finding:
    name: str
    passed: bool
    message: str
    details: dict | None = None
    step: str | None = None

    def to_dict(self) -> dict:
        return {"name": self.name, "passed": self.passed, "message": self.message, "details": self.details,
                "step": self.step}


@dataclass
class Timeline:
    name: str
    kind: str
    points: list[dict]
    path: str | None = None
    step: str | None = None

    def to_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "points": self.points, "path": self.path, "step": self.step}


@dataclass
class ScenarioRecord:
    nodeid: str
    kind: str  # "scenario" | "test"
    name: str
    feature: str  # feature name, or "tests" for plain pytest tests
    feature_file: str  # path relative to rootdir
    line: int = 0
    keyword: str = "Scenario"
    template_name: str | None = None
    feature_abs: str | None = None
    feature_line: int = 0
    feature_keyword: str = "Feature"
    feature_description: str = ""
    feature_tags: list[str] = field(default_factory=list)
    description: str = ""
    rule: str | None = None
    tags: list[str] = field(default_factory=list)
    example: dict | None = None
    steps: list[StepRecord] = field(default_factory=list)
    slug: str = ""
    # results
    outcome: str | None = None  # passed | failed | skipped | None (never reported)
    phase: str | None = None  # where it failed / was skipped: setup | call | teardown
    skip_reason: str | None = None
    failure_step: str | None = None
    failure_message: str | None = None
    failure_details: str | None = None  # pytest's whole report (JUnit keeps it)
    failure_traceback: str | None = None  # the failure's traceback, trimmed to project code (the report shows it)
    duration: float = 0.0
    started: bool = False  # pytest-bdd began executing steps
    attachments: list[Attachment] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    timelines: list[Timeline] = field(default_factory=list)
    topology: dict | None = None  # the fabric as observed (labsim-topology/1), when a step recorded it
    topology_path: str | None = None
    # the lab time the scenario covered (seconds) and the clock it was read from: "virtual" (the simulator's) or
    # "wall" (a real lab, whose time is wall time); None when the scenario used no lab
    lab_time: float | None = None
    lab_clock: str | None = None
    # verdict bookkeeping
    status: str = NOT_RUN
    waiver: Waiver | None = None
    expired_waivers: list[Waiver] = field(default_factory=list)
    deviation: tuple[str, str] | None = None  # (tag, reason) that accounts for a skip
    waived_by_run_false: bool = False

    @property
    def title(self) -> str:
        """The name a person reads: an outline example's name, plus the parameters its name does not show, so
        the examples of one outline never share a title ("... (memory=768, disk=24)")."""
        if not self.example:
            return self.name
        template = self.template_name or self.name
        # A lab subject's derived values ("pair.a id", "trunk.port") follow from the subject itself: showing the
        # subject keeps the titles apart, and the derived ones would bury it.
        rest = [f"{k}={v}" for k, v in self.example.items()
                if f"<{k}>" not in template and not ("." in k and k.split(".", 1)[0] in self.example)]
        return f"{self.name} ({', '.join(rest)})" if rest else self.name

    @property
    def full_name(self) -> str:
        return f"{self.feature}: {self.name}"

    @property
    def full_title(self) -> str:
        return f"{self.feature}: {self.title}"

    @property
    def names(self) -> list[str]:
        """Names a waiver's ``scenario:`` may use for this record."""
        out = [self.full_name, self.name]
        if self.title != self.name:
            out += [self.full_title, self.title]
        if self.template_name and self.template_name != self.name:
            out += [f"{self.feature}: {self.template_name}", self.template_name]
        if self.kind == "test":
            out.append(self.nodeid)
        return out

    @property
    def failed_findings(self) -> list[Finding]:
        return [f for f in self.findings if not f.passed]

    def to_dict(self) -> dict:
        return {
            "nodeid": self.nodeid,
            "kind": self.kind,
            "feature": self.feature,
            "feature_file": self.feature_file,
            "name": self.name,
            "title": self.title,
            "keyword": self.keyword,
            "line": self.line,
            "rule": self.rule,
            "tags": self.tags,
            "example": self.example,
            "status": self.status,
            "outcome": self.outcome,
            "duration": round(self.duration, 6),
            "skip_reason": self.skip_reason,
            "failure": None if self.failure_message is None and self.failure_step is None else {
                "step": self.failure_step, "message": self.failure_message, "phase": self.phase},
            "waiver": self.waiver.as_dict() if self.waiver else None,
            "deviation": {"tag": self.deviation[0], "reason": self.deviation[1]} if self.deviation else None,
            "steps": [s.to_dict() for s in self.steps],
            "attachments": [a.to_dict() for a in self.attachments],
            "findings": [f.to_dict() for f in self.findings],
            "timelines": [t.to_dict() for t in self.timelines],
            "topology": self.topology_path,
            "lab_time": None if self.lab_time is None else {"seconds": round(self.lab_time, 3),
                                                            "clock": self.lab_clock},
        }


@dataclass
class Run:
    run_id: str
    started: dt.datetime
    finished: dt.datetime | None = None
    operator: str = ""
    target: str | None = None
    lab_path: str | None = None
    lab_name: str | None = None
    lab_sha256: str | None = None
    lab_data: object = None
    sim_seed: object = None
    records: dict[str, ScenarioRecord] = field(default_factory=dict)
    collection_errors: list[tuple[str, str]] = field(default_factory=list)
    deviations: dict[str, str] = field(default_factory=dict)
    waivers: list[Waiver] = field(default_factory=list)
    waivers_path: str | None = None
    waivers_text: str | None = None
    lab_versions: dict[str, str] = field(default_factory=dict)
    git: dict | None = None  # {"commit", "dirty"} of the repo at cwd when the run started; None without git
    interrupted: str | None = None
    exitstatus: int | None = None
    verdict: str = REJECTED
    reasons: list[str] = field(default_factory=list)
    # scenarios of the suite this run did not run: deselected (-k, -m, --deselect) or never collected (only some
    # files named); each is (feature: title, why). Any of them makes the verdict PARTIAL at best.
    unselected: list[tuple[str, str]] = field(default_factory=list)
    selection: str = ""  # how the run chose (e.g. "-k dhcp"), for the PARTIAL reason

    @property
    def scenarios(self) -> list[ScenarioRecord]:
        return [r for r in self.records.values() if r.kind == "scenario"]

    @property
    def tests(self) -> list[ScenarioRecord]:
        return [r for r in self.records.values() if r.kind == "test"]

    @property
    def today(self) -> dt.date:
        return self.started.astimezone(dt.UTC).date()

    @property
    def active_waivers(self) -> list[Waiver]:
        return [w for w in self.waivers if not w.expired(self.today)]

    @property
    def expired_waivers(self) -> list[Waiver]:
        return [w for w in self.waivers if w.expired(self.today)]

    def counts(self, kind: str = "scenario") -> dict[str, int]:
        recs = [r for r in self.records.values() if r.kind == kind]
        c = {s: 0 for s in STATUSES}
        for r in recs:
            c[r.status] = c.get(r.status, 0) + 1
        c["total"] = len(recs)
        return c

    def lab_time(self) -> tuple[float, int, str | None]:
        """The lab time the run covered: (seconds, scenarios measured, clock: "virtual", "wall", "mixed" or None)."""
        measured = [r for r in self.records.values() if r.lab_time is not None]
        clocks = {r.lab_clock for r in measured}
        clock = None if not clocks else clocks.pop() if len(clocks) == 1 else "mixed"
        return sum(r.lab_time for r in measured), len(measured), clock

    def step_counts(self) -> dict[str, int]:
        c = {s: 0 for s in (PASSED, FAILED, SKIPPED, UNDEFINED, NOT_RUN)}
        for r in self.scenarios:
            for s in r.steps:
                c[s.status] = c.get(s.status, 0) + 1
        c["total"] = sum(c.values())
        return c


def find_waiver(run: Run, rec: ScenarioRecord) -> tuple[Waiver | None, list[Waiver]]:
    """The first valid waiver matching the record, and the expired ones that would have matched."""
    names = rec.names
    tags = set(rec.tags)
    valid = None
    expired = []
    for w in run.waivers:
        if w.matches(names, tags):
            if w.expired(run.today):
                expired.append(w)
            elif valid is None:
                valid = w
    return valid, expired


def judge(run: Run) -> None:
    """Give every record its status and the run its verdict (with the reasons for REJECTED)."""
    reasons: list[str] = []
    for rec in run.records.values():
        w, expired = find_waiver(run, rec)
        rec.waiver, rec.expired_waivers = w, expired
        if w is not None and rec.nodeid not in w.matched:
            w.matched.append(rec.nodeid)
        rec.deviation = None
        what = "scenario" if rec.kind == "scenario" else "test"
        if rec.outcome == FAILED:
            if w is not None:
                rec.status = WAIVED_FAILED
            else:
                rec.status = FAILED
                at = f" at step {rec.failure_step!r}" if rec.failure_step else (
                    f" in {rec.phase}" if rec.phase and rec.phase != "call" else "")
                reasons.append(f"{what} failed: {rec.full_title}{at}: {first_line(rec.failure_message)}")
        elif rec.outcome == SKIPPED:
            if w is not None:
                rec.status = WAIVED
            else:
                rec.status = SKIPPED
                dev = next(((t, run.deviations[t]) for t in rec.tags if t in run.deviations), None)
                if dev is not None:
                    rec.deviation = dev
                else:
                    reasons.append(f"unaccounted skip: {rec.full_title} ({rec.skip_reason or 'no reason given'})"
                                   " - declare a deviation for one of its tags or add a waiver")
        elif rec.outcome == PASSED:
            rec.status = PASSED
            bad = rec.failed_findings
            if bad and w is None:
                reasons.append(f"failed finding in {rec.full_title}: " +
                               "; ".join(f"{f.name}: {first_line(f.message)}" for f in bad))
        else:
            if w is not None:
                rec.status = WAIVED
            else:
                rec.status = NOT_RUN
                reasons.append(f"{what} did not run: {rec.full_title}")
    for path, msg in run.collection_errors:
        reasons.append(f"collection error in {path}: {first_line(msg)}")
    if run.interrupted:
        reasons.append(f"run interrupted: {run.interrupted}")
    scenarios = run.scenarios
    if not scenarios:
        reasons.insert(0, "nothing was checked: no scenarios were collected")
    elif not any(r.outcome in (PASSED, FAILED) for r in scenarios):
        reasons.insert(0, "nothing was checked: no scenario ran")
    run.reasons = reasons
    if reasons:
        run.verdict = REJECTED
    elif run.unselected:
        run.verdict = PARTIAL
        total = len(run.scenarios) + len(run.unselected)
        how = f" ({run.selection})" if run.selection else ""
        run.reasons = [f"partial run{how}: {len(run.unselected)} of {total} scenarios of the suite were not run "
                       "(listed under \"Not run in this run\"); only a run of every scenario can be ACCEPTED"]
    else:
        run.verdict = ACCEPTED


def first_line(text: str | None, limit: int = 300) -> str:
    if not text:
        return ""
    for line in text.strip().splitlines():
        if line.strip():
            line = line.strip()
            return line if len(line) <= limit else line[: limit - 1] + "…"
    return ""
