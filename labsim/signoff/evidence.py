"""The ``evidence`` fixture's object: what a step hands to the sign-off bundle."""

from __future__ import annotations

import json
import mimetypes
import re
from typing import TYPE_CHECKING

from .model import Attachment, Finding, ScenarioRecord, Timeline, slugify

if TYPE_CHECKING:
    from .plugin import Collector

EXT_BY_TYPE = {
    "text/plain": "txt",
    "application/json": "json",
    "text/html": "html",
    "text/csv": "csv",
    "text/markdown": "md",
    "application/xml": "xml",
    "text/xml": "xml",
    "application/yaml": "yaml",
    "application/x-yaml": "yaml",
    "text/yaml": "yaml",
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/svg+xml": "svg",
    "application/pdf": "pdf",
    "application/octet-stream": "bin",
}
TYPE_BY_EXT = {v: k for k, v in EXT_BY_TYPE.items()}
TYPE_BY_EXT.update({"txt": "text/plain", "log": "text/plain", "yaml": "application/yaml", "yml": "application/yaml",
                    "xml": "application/xml", "jpeg": "image/jpeg", "pem": "text/plain"})


# Text evidence above this size, and every transcript, is stored gzip-compressed and linked from the report,
# never inlined (a scenario's API transcript runs to hundreds of KB).
INLINE_LIMIT = 32 * 1024


def _compress(name: str, raw: bytes, is_text: bool) -> bool:
    return is_text and (len(raw) > INLINE_LIMIT or "transcript" in name.lower())


def _split_name(name: str) -> tuple[str, str | None]:
    m = re.match(r"^(.*?)\.([A-Za-z0-9]{1,5})$", name)
    if m and m.group(2).lower() in TYPE_BY_EXT:
        return m.group(1), m.group(2).lower()
    return name, None


class Evidence:
    """Attach evidence to the running scenario (or plain test).

    - ``attach(name, data, media_type=None)``: ``str``, ``bytes``, or ``dict``/``list`` (stored as JSON); returns
      the bundle path ``evidence/<scenario-slug>/<n>-<name>.<ext>``.
    - ``finding(name, passed, message, details=None)``: a named check with its result. A failed finding rejects
      the run (unless the scenario is waived), even when the step itself did not fail.
    - ``timeline(name, points, kind="failover"|"health"|...)``: time series drawn as a chart in the report.
    - ``lab_version(component, version)``: a version the lab reported, recorded in the manifest.
    - ``lab_time(seconds, clock)``: the lab time the scenario covered, read from the lab's clock ("virtual" in a
      simulator, "wall" on a real lab); summed in summary.md, the manifest and the console's last lines.
    """

    def __init__(self, collector: Collector, record: ScenarioRecord) -> None:
        self._collector = collector
        self._record = record

    @property
    def scenario(self) -> str:
        return self._record.full_name

    def _next_path(self, name: str, ext: str) -> str:
        rec = self._record
        n = len(rec.attachments) + sum(1 for t in rec.timelines if t.path) + (1 if rec.topology_path else 0) + 1
        return f"evidence/{rec.slug}/{n}-{slugify(name, 60)}.{ext}"

    def attach(self, name: str, data: str | bytes | dict | list, media_type: str | None = None) -> str:
        red = self._collector.redactor
        stem, name_ext = _split_name(str(name))
        if isinstance(data, (dict, list)):
            payload = json.dumps(red.obj(data), indent=2, sort_keys=False, default=str, ensure_ascii=False)
            raw = (payload + "\n").encode("utf-8")
            media_type = media_type or "application/json"
        elif isinstance(data, str):
            media_type = media_type or (TYPE_BY_EXT.get(name_ext) if name_ext else None) or "text/plain"
            raw = red.text(data).encode("utf-8")
        elif isinstance(data, (bytes, bytearray, memoryview)):
            media_type = media_type or (TYPE_BY_EXT.get(name_ext) if name_ext else None) or "application/octet-stream"
            raw = bytes(data)
            if media_type.startswith("text/") or media_type in ("application/json", "application/yaml"):
                raw = red.text(raw.decode("utf-8", errors="replace")).encode("utf-8")
            else:
                raw = red.data(raw)
        else:
            raise TypeError(f"evidence.attach: data must be str, bytes, dict or list, not {type(data).__name__}")
        ext = EXT_BY_TYPE.get(media_type.split(";")[0].strip()) or name_ext
        if ext is None:
            guess = mimetypes.guess_extension(media_type.split(";")[0].strip()) or ".bin"
            ext = guess.lstrip(".")
        path = self._next_path(stem, ext)
        att = Attachment(name=str(name), path=path, media_type=media_type, data=raw,
                         step=self._collector.current_step(self._record))
        if _compress(str(name), raw, att.is_text):
            att.path, att.compressed = path + ".gz", True
        self._record.attachments.append(att)
        return att.path

    def finding(self, name: str, passed: bool, message: str, details: dict | None = None) -> None:
        red = self._collector.redactor
        self._record.findings.append(
            Finding(name=red.text(str(name)), passed=bool(passed), message=red.text(str(message)),
                    details=red.obj(details) if details is not None else None,
                    step=self._collector.current_step(self._record))
        )

    def timeline(self, name: str, points: list[dict], kind: str = "timeline") -> str:
        red = self._collector.redactor
        pts = [red.obj(dict(p)) for p in points]
        path = self._next_path(name, "json")
        tl = Timeline(name=str(name), kind=str(kind), points=pts, path=path,
                      step=self._collector.current_step(self._record))
        self._record.timelines.append(tl)
        return path

    def topology(self, data: dict) -> str:
        """The fabric as observed (format labsim-topology/1: nodes, links with VLANs per end, intended vs observed,
        breaks): the report draws it first after the verdict. The latest one of a scenario counts."""
        red = self._collector.redactor
        self._record.topology = red.obj(dict(data))
        path = self._record.topology_path or self._next_path("topology", "json")
        self._record.topology_path = path
        return path

    def lab_time(self, seconds: float, clock: str = "virtual") -> None:
        if clock not in ("virtual", "wall"):
            raise ValueError(f"evidence.lab_time: clock must be 'virtual' or 'wall', not {clock!r}")
        self._record.lab_time, self._record.lab_clock = max(float(seconds), 0.0), clock

    def lab_version(self, component: str, version: str) -> None:
        self._collector.lab_version(self._record, str(component), str(version))
