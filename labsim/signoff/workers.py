"""The sign-off of a run spread over pytest-xdist workers: each worker keeps its scenarios' records as a
single-process run would, and ships them to the controller, which writes the one bundle.

- A scenario's record (steps, outcome, failure, attachments, findings, timelines, topology, lab time, the lab
  versions it reported) travels on the scenario's last report (teardown) as ``report.labsim_signoff``: pytest's
  report serialisation keeps extra attributes (``_pytest.reports._report_to_json`` copies ``__dict__``), and
  xdist rebuilds the report on the controller with them (``TestReport(**kwargs)``). It is redacted on the worker
  first: the worker knows the secrets its simulated labs planted, the controller does not.
- What the whole run knows from collection (every record, the ones that never ran too; the scenarios not
  selected; the deviations, "not in this lab" among them, which come from binding the features to the lab file;
  the secrets the worker redacted with) travels once, at the worker's end, in ``config.workeroutput``: xdist hands
  it to the controller only, where ``pytest_testnodedown`` reads it (never in a report, which other plugins may
  write to a file).
- The controller puts the records in collection order (the ids the workers collected), not in arrival order, so
  the bundle is the one a single process writes; a report without a record (a crashed worker's item) is applied
  to that item's record from collection, as in a single process.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from .model import Attachment, Finding, ScenarioRecord, StepRecord, Timeline
from .redact import Redactor

ATTR = "labsim_signoff"          # the report attribute, and the workeroutput key
_SCALARS = (str, int, float, bool, type(None))
# judged again on the controller (waivers and deviations are the run's); never shipped
_JUDGED = {"status", "waiver", "expired_waivers", "deviation"}


def is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def is_controller(config: pytest.Config) -> bool:
    """This process hands the scenarios to xdist workers and writes the bundle from what they ship."""
    return not is_worker(config) and config.pluginmanager.has_plugin("dsession")


def plain(o: Any, red: Redactor) -> Any:
    """A value execnet can carry, every string redacted; anything else becomes its str() (as the bundle's JSON
    would write it: ``json.dumps(default=str)``)."""
    if isinstance(o, str):
        return red.text(o)
    if isinstance(o, _SCALARS):
        return o
    if isinstance(o, dict):
        return {(plain(k, red) if isinstance(k, _SCALARS) else red.text(str(k))): plain(v, red) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return type(o)(plain(v, red) for v in o)
    return red.text(str(o))


def record_to_wire(rec: ScenarioRecord, red: Redactor, versions: dict[str, str] | None = None) -> dict:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(rec):
        if f.name in _JUDGED:
            continue
        value = getattr(rec, f.name)
        if f.name == "steps":
            value = [plain(dataclasses.asdict(s), red) for s in value]
        elif f.name == "attachments":
            value = [{"name": red.text(a.name), "path": a.path, "media_type": a.media_type, "step": plain(a.step, red),
                      "compressed": a.compressed,
                      "data": red.text(a.data.decode("utf-8", errors="replace")).encode("utf-8") if a.is_text
                      else red.data(a.data)} for a in value]
        elif f.name in ("findings", "timelines"):
            value = [plain(dataclasses.asdict(x), red) for x in value]
        else:
            value = plain(value, red)
        out[f.name] = value
    out["lab_versions"] = plain(dict(versions or {}), red)
    return out


def record_from_wire(d: dict) -> tuple[ScenarioRecord, dict[str, str]]:
    d = dict(d)
    versions = d.pop("lab_versions", {}) or {}
    d["steps"] = [StepRecord(**s) for s in d.get("steps", [])]
    d["attachments"] = [Attachment(**a) for a in d.get("attachments", [])]
    d["findings"] = [Finding(**x) for x in d.get("findings", [])]
    d["timelines"] = [Timeline(**x) for x in d.get("timelines", [])]
    d["tags"] = list(d.get("tags", []))
    d["feature_tags"] = list(d.get("feature_tags", []))
    return ScenarioRecord(**d), dict(versions)
