"""The short failure timeline both clusters go through, and what it records of each (JSON-able, so a real run can
be kept as a file and the simulator compared with it later).

  setup   100 objects of 1 MiB in `rbd`, HEALTH_OK
  A       kill -9 osd.1: OSD_DOWN, stale/peering/undersized PGs, PG_DEGRADED; 50 objects written while it is down;
          "pgs undersized" once stuck 60 s; marked out after the down-out interval: capacity shrinks
  B       osd.1 starts: marked in, recovery with progress events, HEALTH_OK
  D       the nearfull ratio below the OSDs' use: OSD_NEARFULL seconds later, then cleared; bad ratios refused;
          ratios out of order
  C       kill -9 osd.0 and osd.2 (more than a minute after the last activation): PG_AVAILABILITY, then both start
  E       SIGSEGV to osd.0: nothing in `crash ls` until ceph-crash scans (RECENT_CRASH after its scan), osd.0
          starts, `crash archive-all`

Each poll reads `ceph status -f json` and `ceph health detail -f json`, as an engineer's watch would.
"""
from __future__ import annotations

import json
from typing import Any

POLL = 1.0


def _j(driver, *args: str) -> Any:
    rc, out, err = driver.ceph(*args, "-f", "json")
    if rc != 0:
        raise RuntimeError(f"{driver.name}: ceph {' '.join(args)}: exit {rc}: {err.strip()[-300:]}")
    return json.loads(out)


def _t(driver, *args: str) -> str:
    rc, out, err = driver.ceph(*args)
    if rc != 0:
        raise RuntimeError(f"{driver.name}: ceph {' '.join(args)}: exit {rc}: {err.strip()[-300:]}")
    return out


def checks(health: dict) -> dict[str, dict]:
    return {code: {"severity": c["severity"], "summary": c["summary"]["message"],
                   "detail": [d["message"] for d in c.get("detail") or []]}
            for code, c in (health.get("checks") or {}).items()}


def states(status: dict) -> dict[str, int]:
    return {s["state_name"]: s["count"] for s in status["pgmap"]["pgs_by_state"]}


class Timeline:
    def __init__(self, driver, log=print):
        self.d = driver
        self.log = log
        self.obs: dict[str, Any] = {"driver": driver.name, "hostname": driver.hostname()}
        self.polls: dict[str, list] = {}

    # --- helpers ---------------------------------------------------------------------------------------------
    def poll(self, phase: str, t0: float) -> dict:
        st = _j(self.d, "status")
        h = _j(self.d, "health", "detail")
        rec = {"t": round(self.d.now() - t0, 2), "up": st["osdmap"]["num_up_osds"], "in": st["osdmap"]["num_in_osds"],
               "checks": checks(h), "status": h["status"], "states": states(st),
               "bytes_total": st["pgmap"]["bytes_total"], "progress": st.get("progress_events") or {}}
        self.polls.setdefault(phase, []).append(rec)
        return rec

    def until(self, phase: str, t0: float, pred, timeout: float, what: str) -> dict:
        end = self.d.now() + timeout
        while True:
            rec = self.poll(phase, t0)
            if pred(rec):
                return rec
            if self.d.now() > end:
                raise TimeoutError(f"{self.d.name}: {what} not seen within {timeout:g} s (last: {rec['status']} "
                                   f"{sorted(rec['checks'])} {rec['states']})")
            self.d.sleep(POLL)

    def first(self, phase: str, pred) -> float | None:
        return next((r["t"] for r in self.polls.get(phase, []) if pred(r)), None)

    def snapshot(self, name: str) -> None:
        d = self.d
        raw = {k: d.ceph(*k.split(), "-f", "json")[1] for k in ("osd df", "df")}
        snap = {"raw": raw, "status": _j(d, "status"), "health": _j(d, "health", "detail"), "df": _j(d, "df"),
                "pg_stat": _j(d, "pg", "stat"), "osd_df": _j(d, "osd", "df"), "osd_tree": _j(d, "osd", "tree"),
                "osd_stat": _j(d, "osd", "stat"),
                "text": {k: _t(d, *k.split()) for k in ("status", "df", "osd df", "osd tree", "osd stat", "pg stat",
                                                          "health detail")}}
        self.obs[name] = snap

    # --- the timeline ----------------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        d = self.d
        self.log(f"{d.name}: starting the cluster")
        d.start()
        t0 = d.now()
        d.write(0, 100)
        self.until("setup", t0, lambda r: r["status"] == "HEALTH_OK" and set(r["states"]) == {"active+clean"}
                   and r["bytes_total"] > 0, 120, "HEALTH_OK after the first writes")
        d.sleep(6)
        self.snapshot("ok")
        self.obs["crash_ls_empty"] = _t(d, "crash", "ls")
        self.obs["version"] = _t(d, "--version")
        errors = {}
        for name, phase in (("A", self.phase_a), ("B", self.phase_b), ("D", self.phase_d), ("C", self.phase_c),
                            ("E", self.phase_e)):
            try:
                phase()
            except (TimeoutError, RuntimeError, KeyError, ValueError) as exc:   # recorded: the facts name it
                errors[name] = str(exc)
                self.log(f"{d.name}: phase {name} did not complete: {exc}")
        self.obs["errors"] = errors
        self.obs["polls"] = self.polls
        return self.obs

    def phase_a(self) -> None:
        d = self.d
        self.log(f"{d.name}: A. kill -9 osd.1")
        t0 = d.now()
        d.kill(1)
        self.until("A", t0, lambda r: "OSD_DOWN" in r["checks"], 30, "OSD_DOWN")
        self.until("A", t0, lambda r: r["states"] == {"active+undersized+degraded": PG_NUM_DATA,
                                                      "active+undersized": 1}, 40, "every PG undersized")
        d.write(100, 50)
        d.sleep(7)
        self.snapshot("down")
        self.until("A", t0, lambda r: "pgs undersized" in r["checks"].get("PG_DEGRADED", {}).get("summary", ""),
                   120, "pgs undersized")
        self.until("A", t0, lambda r: r["in"] == 2, 120, "osd.1 marked out")
        self.until("A", t0, lambda r: r["bytes_total"] < 25 * 1024 ** 3, 30, "capacity without osd.1")
        d.sleep(2)
        self.snapshot("out")
        self.obs["A_t0"] = 0.0

    def phase_b(self) -> None:
        d = self.d
        self.log(f"{d.name}: B. osd.1 starts")
        t0 = d.now()
        d.start_osd(1)
        self.obs["B_started"] = t0
        seen_text = None

        def done(r):
            nonlocal seen_text
            if seen_text is None and any(e["add_to_ceph_s"] for e in r["progress"].values()):
                seen_text = _t(d, "status")
            return r["status"] == "HEALTH_OK" and set(r["states"]) == {"active+clean"} and not r["progress"]
        self.until("B", t0, done, 180, "HEALTH_OK with no progress event left")
        self.obs["B_status_text_with_progress"] = seen_text
        self.obs["B_progress_json"] = _t(d, "progress", "json")
        self.obs["B_t_end"] = round(d.now() - t0, 2)

    def phase_d(self) -> None:
        d = self.d
        self.log(f"{d.name}: D. nearfull ratio")
        df = _j(d, "osd", "df")
        lowest = min(n["utilization"] for n in df["nodes"] if n["kb"]) / 100
        ratio = round(lowest * 0.8, 4)
        self.obs["D_ratio_use"] = lowest
        out = {}
        for args in (("osd", "set-full-ratio", "1.5"), ("osd", "set-backfillfull-ratio", "abc")):
            rc, o, e = d.ceph(*args)
            out[" ".join(args)] = {"rc": rc, "out": o, "err": e}
        t0 = d.now()
        rc, o, e = d.ceph("osd", "set-nearfull-ratio", str(ratio))
        out["set-nearfull-ratio"] = {"rc": rc, "out": o, "err": e.replace(str(ratio), "R")}
        self.obs["D_commands"] = out
        self.until("D", t0, lambda r: r["checks"].get("OSD_NEARFULL", {}).get("summary") == "3 nearfull osd(s)",
                   30, "3 nearfull OSDs")
        self.obs["D_nearfull_checks"] = self.polls["D"][-1]["checks"]
        t1 = d.now()
        d.ceph("osd", "set-nearfull-ratio", "0.85")
        self.until("D2", t1, lambda r: "OSD_NEARFULL" not in r["checks"], 30, "nearfull cleared")
        d.ceph("osd", "set-nearfull-ratio", "0.96")
        self.until("D3", t1, lambda r: "OSD_OUT_OF_ORDER_FULL" in r["checks"], 30, "ratios out of order")
        self.obs["D_out_of_order"] = self.polls["D3"][-1]["checks"]["OSD_OUT_OF_ORDER_FULL"]
        self.obs["D_out_of_order_status"] = self.polls["D3"][-1]["status"]
        d.ceph("osd", "set-nearfull-ratio", "0.85")
        self.until("D3", t1, lambda r: r["status"] == "HEALTH_OK", 30, "HEALTH_OK")

    def phase_c(self) -> None:
        d = self.d
        # The PGs' last activation was when osd.1 came back: wait until it is more than a minute old, so a new
        # primary's last_active is stale at once (PGMap's stuck inactive), as in a cluster that was idle
        wait = self.obs["B_started"] + 70 - d.now()
        d.sleep(wait)
        self.log(f"{d.name}: C. kill -9 osd.0 and osd.2")
        t0 = d.now()
        d.kill(0)
        d.kill(2)
        self.until("C", t0, lambda r: "PG_AVAILABILITY" in r["checks"] and r["checks"].get("OSD_DOWN", {}).get(
            "summary") == "2 osds down", 40, "PG_AVAILABILITY with 2 osds down")
        self.until("C", t0, lambda r: set(r["states"]) <= {"undersized+degraded+peered", "undersized+peered"}, 30,
                   "every PG peered")
        self.obs["C_checks"] = self.polls["C"][-1]["checks"]
        t1 = d.now()
        d.start_osd(0)
        d.start_osd(2)
        self.until("C2", t1, lambda r: r["status"] == "HEALTH_OK" and set(r["states"]) == {"active+clean"}, 120,
                   "HEALTH_OK after both start")

    def phase_e(self) -> None:
        d = self.d
        self.log(f"{d.name}: E. osd.0 crashes")
        t0 = d.now()
        d.crash(0)
        self.until("E", t0, lambda r: "OSD_DOWN" in r["checks"], 30, "OSD_DOWN")
        d.sleep(max(0.0, t0 + 4 - d.now()))
        self.obs["E_before_scan"] = {"RECENT_CRASH": "RECENT_CRASH" in self.poll("E", t0)["checks"],
                                     "crash ls": _t(d, "crash", "ls")}
        t1 = d.now()
        d.scan_crashes()                    # ceph-crash's scan: it posts the dump with `ceph crash post`
        self.until("E1", t1, lambda r: "RECENT_CRASH" in r["checks"], 60, "RECENT_CRASH")
        self.obs["E_crash_ls"] = _j(d, "crash", "ls")
        self.obs["E_crash_ls_text"] = _t(d, "crash", "ls")
        self.obs["E_crash_check"] = self.polls["E1"][-1]["checks"]["RECENT_CRASH"]
        d.start_osd(0)
        self.until("E", t0, lambda r: "OSD_DOWN" not in r["checks"], 60, "osd.0 back up")
        t1 = d.now()
        rc, o, e = d.ceph("crash", "archive-all")
        self.obs["E_archive"] = {"rc": rc, "out": o, "err": e}
        self.until("E2", t1, lambda r: "RECENT_CRASH" not in r["checks"], 90, "RECENT_CRASH cleared")
        self.obs["E_crash_ls_archived"] = _j(d, "crash", "ls")
        self.obs["E_crash_ls_archived_text"] = _t(d, "crash", "ls")
        self.obs["E_crash_ls_new"] = _t(d, "crash", "ls-new")


PG_NUM_DATA = 32
