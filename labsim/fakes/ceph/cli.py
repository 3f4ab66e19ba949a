"""The `ceph` command of the Rook toolbox: argv in, (exit code, stdout, stderr) out, against one CephCluster.

    ceph status | -s        ceph health [detail]        ceph health mute CODE [TTL] [--sticky] | unmute CODE
    ceph osd tree | df | stat | pool ls     ceph pg stat     ceph df
    ceph osd set-nearfull-ratio | set-backfillfull-ratio | set-full-ratio RATIO
    ceph osd pool set POOL min_size N | set-quota POOL max_bytes|max_objects N | rename SRC DEST
    ceph crash ls | ls-new | info ID | archive ID | archive-all     ceph progress [json]
    ceph versions | version | --version     ceph mon stat    ceph quorum_status
with `-f/--format json|json-pretty|plain` and `--connect-timeout SECONDS`. Without a mon quorum every command
waits for the client's mount timeout (virtual time) and fails as the real client does. `sh -c "ceph ..."` and
`bash -c` run one ceph command line, the way engineers wrap it. JSON from the daemons' C++ formatter prints a
float with no fraction as an integer ("reweight": 1); the mgr's Python modules (crash, progress) answer with
their own `json.dumps` (indented, whatever the format asked).
"""
from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from labsim.fakes.ceph import crash as K
from labsim.fakes.ceph import report as R
from labsim.fakes.ceph import text as T
from labsim.fakes.ceph.catalog import CHECKS

if TYPE_CHECKING:
    from labsim.fakes.ceph.cluster import CephCluster

EINVAL, ENOENT, EEXIST = 22, 2, 17
COMMANDS = ["status", "health", "health detail", "health mute <code> [<ttl>] [--sticky]", "health unmute <code>",
            "osd tree", "osd df", "osd stat", "osd pool ls", "pg stat", "df", "crash ls", "crash ls-new",
            "crash info <id>", "crash archive <id>", "crash archive-all", "versions", "version", "mon stat",
            "quorum_status", "progress", "progress json",
            "config set <who> <name> <value> [--force]", "osd pool set <pool> min_size <val>",
            "osd pool set-quota <pool> max_objects|max_bytes <val>", "osd pool rename <srcpool> <destpool>"]
# The mons' command table (src/mon/MonCommands.h) for the ratio setters: signature and help.
RATIO_HELP = {"nearfull": "set usage ratio at which OSDs are marked near-full",
              "backfillfull": "set usage ratio at which OSDs are marked too full to backfill",
              "full": "set usage ratio at which OSDs are marked full"}
# `ceph config set` options the simulated cluster obeys: option -> (Tunables attribute, type)
CONFIG_OPTIONS = {"mon_osd_min_down_reporters": ("min_down_reporters", int),
                  "mon_clock_drift_allowed": ("clock_drift_allowed", float),
                  "mon_osd_down_out_interval": ("down_out_interval", float)}
TIMEOUT_TEXT = "[errno 110] RADOS timed out (error connecting to the cluster)\n"

Result = tuple[int, str, str]


def run(cluster: CephCluster, argv: list[str], sleep: Callable[[float], None] | None = None) -> Result:
    """Run one toolbox command line (`argv[0]` is the program)."""
    prog = argv[0].rsplit("/", 1)[-1] if argv else ""
    if prog in ("sh", "bash") and len(argv) >= 3 and argv[1] == "-c":
        return run(cluster, shlex.split(argv[2]), sleep)
    opts, words, err = _parse(argv[1:])
    if err:
        return EINVAL, "", err
    if opts.get("version"):
        return 0, cluster.release.line + "\n", ""
    if not words:
        return EINVAL, "", "no valid command found\nError EINVAL: invalid command\n"
    if not cluster.has_quorum():
        wait = float(opts.get("connect_timeout") or cluster.tun.client_timeout)
        (sleep or cluster.clock.sleep)(wait)
        if not cluster.has_quorum():
            stamp = cluster.clock.utcnow().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
            return 1, "", (f"{stamp}+0000 7f3a9c7fe640  0 monclient(hunting): authenticate timed out after "
                           f"{int(wait)}\n{TIMEOUT_TEXT}")
    with cluster.clock.lock:
        return _dispatch(cluster, words, opts)


def _parse(args: list[str]) -> tuple[dict[str, Any], list[str], str]:
    opts: dict[str, Any] = {"format": "plain"}
    words: list[str] = []
    it = iter(args)
    for a in it:
        if a in ("-f", "--format"):
            opts["format"] = next(it, "plain")
        elif a.startswith("--format="):
            opts["format"] = a.split("=", 1)[1]
        elif a == "--connect-timeout":
            opts["connect_timeout"] = next(it, "0")
        elif a.startswith("--connect-timeout="):
            opts["connect_timeout"] = a.split("=", 1)[1]
        elif a in ("-c", "--conf", "-k", "--keyring", "--cluster", "-n", "--name", "--id"):
            next(it, None)
        elif a == "--sticky":
            opts["sticky"] = True
        elif a == "-s":
            words.append("status")
        elif a in ("-v", "--version"):
            opts["version"] = True
        elif a.startswith("-") and len(a) > 1 and not re.fullmatch(r"-?\d+", a):
            return opts, words, f"unrecognized option '{a}'\n"
        else:
            words.append(a)
    if opts["format"] not in ("plain", "json", "json-pretty", "xml", "xml-pretty"):
        return opts, words, f"Error EINVAL: unknown format '{opts['format']}'\n"
    return opts, words, ""


def integral(doc: Any) -> Any:
    """Ceph's JSONFormatter: a float with no fraction prints as an integer (1.0 -> 1, 0.0 -> 0)."""
    if isinstance(doc, float) and doc.is_integer():
        return int(doc)
    if isinstance(doc, dict):
        return {k: integral(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [integral(v) for v in doc]
    return doc


def _out(doc: Any, opts: dict[str, Any], plain: Callable[[], str]) -> Result:
    fmt = opts["format"]
    if fmt == "json":
        return 0, json.dumps(integral(doc), separators=(",", ":")) + "\n", ""
    if fmt == "json-pretty":
        return 0, json.dumps(integral(doc), indent=4) + "\n", ""
    return 0, plain(), ""


def _module(doc: Any, opts: dict[str, Any], plain: Callable[[], str]) -> Result:
    """A mgr Python module's answer: json.dumps(indent=4, sort_keys=True) for either JSON format."""
    if opts["format"] in ("json", "json-pretty"):
        return 0, json.dumps(doc, indent=4, sort_keys=True) + "\n", ""
    return 0, plain(), ""


def _dispatch(c: CephCluster, w: list[str], opts: dict[str, Any]) -> Result:
    cmd = " ".join(w[:2])
    if w == ["status"]:
        return _out(R.status_doc(c), opts, lambda: T.status(c))
    if w[0] == "health":
        return _health(c, w[1:], opts)
    if w == ["osd", "tree"]:
        return _out(R.osd_tree_doc(c), opts, lambda: T.osd_tree(c))
    if w == ["osd", "df"]:
        return _out(R.osd_df_doc(c), opts, lambda: T.osd_df(c))
    if w == ["osd", "stat"]:
        return _out(R.status_doc(c)["osdmap"], opts, lambda: T.osd_stat(c))
    if len(w) in (2, 3) and w[0] == "osd" and w[1] in ("set-nearfull-ratio", "set-backfillfull-ratio",
                                                          "set-full-ratio"):
        return _set_ratio(c, w)
    if w[:3] == ["osd", "pool", "ls"]:
        names = [p.name for p in c.pools.values()]
        return _out(names, opts, lambda: "".join(n + "\n" for n in names))
    if w == ["pg", "stat"]:
        return _out(R.pg_stat_doc(c), opts, lambda: T.pg_stat(c))
    if w == ["df"]:
        return _out(R.df_doc(c), opts, lambda: T.df(c))
    if cmd in ("crash ls", "crash ls-new") and len(w) == 2:
        new = w[1] == "ls-new"
        doc = K.ls_doc([x for x in c.crashes if not (new and x.archived)])
        return _module(doc, opts, lambda: T.crash_ls(c, new))
    if cmd in ("crash info", "crash archive") and len(w) == 3:
        found = next((x for x in c.crashes if x.crash_id == w[2]), None)
        if found is None:
            return EINVAL, "", f"Error EINVAL: crash {w[1]}: {w[2]} not found\n"
        if w[1] == "archive":
            c.archive_crashes([found])
            return 0, "", ""
        return 0, json.dumps(K.ls_doc([found])[0], indent=4, sort_keys=True) + "\n", ""
    if w == ["crash", "archive-all"]:
        c.archive_crashes()
        return 0, "", ""
    if w == ["progress"]:
        out, err = c.progress.ls_text()
        return 0, out, err
    if w == ["progress", "json"]:
        return 0, json.dumps(c.progress.json_doc(), indent=4, sort_keys=True) + "\n", ""
    if w == ["versions"]:
        doc = R.versions_doc(c)
        return 0, json.dumps(doc, indent=4) + "\n" if opts["format"] != "json" else json.dumps(doc) + "\n", ""
    if w == ["version"]:
        return _out({"version": c.release.line}, opts, lambda: c.release.line + "\n")
    if w == ["mon", "stat"]:
        return _mon_stat(c, opts)
    if w[:2] == ["config", "set"] and len(w) == 5:
        return _config_set(c, *w[2:])
    if w[:3] == ["osd", "pool", "set"] and len(w) == 6:
        return _pool_set(c, *w[3:])
    if w[:3] == ["osd", "pool", "set-quota"] and len(w) == 6:
        return _pool_set_quota(c, *w[3:])
    if w[:3] == ["osd", "pool", "rename"] and len(w) == 5:
        return _pool_rename(c, *w[3:])
    if w == ["quorum_status"]:
        q = c.quorum()
        doc = {"election_epoch": c.epochs["election"], "quorum": [m.rank for m in q],
               "quorum_names": [m.name for m in q], "quorum_leader_name": q[0].name if q else "",
               "quorum_age": int(c.clock.now() - c.quorum_since),
               "monmap": {"epoch": c.epochs["monmap"], "fsid": c.fsid,
                          "mons": [{"rank": m.rank, "name": m.name, "public_addr": m.addr}
                                   for m in sorted(c.mons.values(), key=lambda m: m.rank)]}}
        return 0, json.dumps(doc) + "\n", ""
    return _invalid(w)


def _config_set(c: CephCluster, who: str, name: str, value: str) -> Result:
    """`ceph config set WHO NAME VALUE`: silent on success; an option Ceph does not know is EINVAL."""
    if name not in CONFIG_OPTIONS:
        return EINVAL, "", f"Error EINVAL: unrecognized config option '{name}'\n"
    attr, kind = CONFIG_OPTIONS[name]
    setattr(c.tun, attr, kind(value))
    return 0, "", ""


def _pool_set(c: CephCluster, name: str, var: str, value: str) -> Result:
    """`ceph osd pool set POOL min_size N` (the one variable the simulated cluster models); the mon's answer
    ("set pool 1 min_size to 1", OSDMonitor::prepare_command_pool_set) goes to stderr."""
    pool = next((p for p in c.pools.values() if p.name == name), None)
    if pool is None:
        return ENOENT, "", f"Error ENOENT: unrecognized pool '{name}'\n"
    if var != "min_size":
        return _invalid(["osd", "pool", "set", name, var, value])
    if not value.isdigit():
        return EINVAL, "", f"Error EINVAL: error parsing integer value '{value}'\n"
    n = int(value)
    if not 1 <= n <= pool.size:
        return EINVAL, "", f"Error EINVAL: pool min_size must be between 1 and size, which is set to {pool.size}\n"
    pool.min_size = n
    return 0, "", f"set pool {pool.id} min_size to {n}\n"


def _pool_set_quota(c: CephCluster, name: str, field: str, value: str) -> Result:
    """`ceph osd pool set-quota POOL max_bytes|max_objects VAL` (OSDMonitor::prepare_command_impl, "osd pool
    set-quota"): max_bytes takes IEC units (strict_iecstrtoll), max_objects SI ones; 0 removes the quota."""
    pool = next((p for p in c.pools.values() if p.name == name), None)
    if pool is None:
        return ENOENT, "", f"Error ENOENT: unrecognized pool '{name}'\n"
    if field not in ("max_objects", "max_bytes"):
        return EINVAL, "", f"Error EINVAL: unrecognized field '{field}'; should be 'max_bytes' or 'max_objects'\n"
    n, err = _units(value, 1024 if field == "max_bytes" else 1000)
    if err:
        return EINVAL, "", f"Error EINVAL: error parsing value '{value}': {err}\n"
    setattr(pool, f"quota_{field}", n)
    return 0, "", f"set-quota {field} = {n} for pool {name}\n"


def _units(text: str, base: int) -> tuple[int, str]:
    """strict_iecstrtoll / strict_si_cast (src/common/strtol.cc): digits, then an optional unit prefix."""
    fn = "strict_iecstrtoll" if base == 1024 else "strict_sistrtoll"
    if not text:
        return 0, f"{fn}: value not specified"
    m = re.fullmatch(r"(-?\d*)([A-Za-z]*)", text)
    digits, unit = (m.group(1), m.group(2)) if m else (text, "")
    unit = unit[:-1] if base == 1024 and unit.endswith("B") and len(unit) > 1 else unit
    if base == 1024 and unit.endswith("i"):
        unit = unit[:-1]
    powers = {"": 0, "B": 0, "K": 1, "M": 2, "G": 3, "T": 4, "P": 5, "E": 6}
    if unit not in powers:
        return 0, f"{fn}: unit prefix not recognized"
    if not digits or not re.fullmatch(r"-?\d+", digits):
        return 0, f"strict_strtoll: expected integer, got: '{digits}'"
    return int(digits) * base ** powers[unit], ""


def _pool_rename(c: CephCluster, src: str, dest: str) -> Result:
    """`ceph osd pool rename SRC DEST` (OSDMonitor::prepare_command_impl, "osd pool rename"): the mon's answer on
    stderr, an existing destination refused, a repeated rename answered as done."""
    pool = next((p for p in c.pools.values() if p.name == src), None)
    taken = any(p.name == dest for p in c.pools.values())
    if dest.startswith("."):
        return 0, "", "pool names beginning with . are not allowed\n"
    if pool is None:
        if taken:
            return 0, "", f"pool '{src}' does not exist; pool '{dest}' does -- assuming successful rename\n"
        return ENOENT, "", f"Error ENOENT: unrecognized pool '{src}'\n"
    if taken:
        return EEXIST, "", f"Error EEXIST: pool '{dest}' already exists\n"
    pool.name = dest
    c.epochs["osdmap"] += 1
    return 0, "", f"pool '{src}' renamed to '{dest}'\n"


def _invalid(words: list[str]) -> Result:
    """Ceph's answer to an unknown command: the closest known signatures, then EINVAL."""
    first = words[0] if words else ""
    near = [c for c in COMMANDS if c.split()[0] == first] or COMMANDS
    return EINVAL, "", ("no valid command found; 10 closest matches:\n" + "".join(n + "\n" for n in near[:10])
                        + "Error EINVAL: invalid command\n")


def _health(c: CephCluster, w: list[str], opts: dict[str, Any]) -> Result:
    if not w or w == ["detail"]:
        detail = bool(w)
        doc = R.health_doc(c, detail=detail)
        return _out(doc, opts, lambda: T.health(doc, detail))
    if w[0] == "mute" and len(w) in (2, 3):
        code = w[1]
        ttl = parse_ttl(w[2]) if len(w) == 3 else None
        if len(w) == 3 and ttl is None:
            return EINVAL, "", f"Error EINVAL: invalid duration '{w[2]}'\n"
        doc = R.health_doc(c)
        chk = doc["checks"].get(code)
        count = chk["summary"]["count"] if chk else 0
        summary = chk["summary"]["message"] if chk else CHECKS[code].summary if code in CHECKS else ""
        c.mute(code, ttl, bool(opts.get("sticky")), count, summary)
        return 0, "", ""
    if w[0] == "unmute" and len(w) == 2:
        c.unmute(w[1])
        return 0, "", ""
    return _invalid(["health", *w])


def _set_ratio(c: CephCluster, w: list[str]) -> Result:
    """`ceph osd set-<kind>-ratio R`: the mons' argument check (a float in [0.0, 1.0]) and reply."""
    kind = w[1][len("set-"):-len("-ratio")]
    usage = f"osd {w[1]} <ratio:float> :  {RATIO_HELP[kind]}\nError EINVAL: invalid command\n"
    if len(w) < 3:
        return EINVAL, "", f"Invalid command: missing required parameter ratio(<float>)\n{usage}"
    try:
        value = float(w[2])
    except ValueError:
        return EINVAL, "", f"Invalid command: {w[2]} doesn't represent a float\n{usage}"
    if not 0.0 <= value <= 1.0:
        return EINVAL, "", f"Invalid command: {w[2]} not in range [0.0, 1.0]\n{usage}"
    c.set_ratio(kind, value)
    return 0, "", f"osd {w[1]} {value:g}\n"


def parse_ttl(text: str) -> float | None:
    """Ceph's parse_timespan: `300`, `30s`, `10m`, `1h`, `2d`, `1w` (also the long unit names)."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([a-z]*)", text.strip())
    if not m:
        return None
    units = {"": 1, "s": 1, "sec": 1, "second": 1, "seconds": 1, "m": 60, "min": 60, "minute": 60, "minutes": 60,
             "h": 3600, "hr": 3600, "hour": 3600, "hours": 3600, "d": 86400, "day": 86400, "days": 86400,
             "w": 604800, "wk": 604800, "week": 604800, "weeks": 604800}
    if m.group(2) not in units:
        return None
    return float(m.group(1)) * units[m.group(2)]


def _mon_stat(c: CephCluster, opts: dict[str, Any]) -> Result:
    q = c.quorum()
    mons = sorted(c.mons.values(), key=lambda m: m.rank)
    leader = q[0] if q else None
    doc = {"epoch": c.epochs["monmap"], "min_mon_release_name": c.release.name, "num_mons": len(mons),
           "leader": leader.name if leader else "", "quorum": [{"rank": m.rank, "name": m.name} for m in q]}
    plain = (f"e{c.epochs['monmap']}: {len(mons)} mons at {{" + ",".join(f"{m.name}={m.addr}" for m in mons)
             + f"}} removed_ranks: {{}} disallowed_leaders: {{}}, election epoch {c.epochs['election']}, leader "
             f"{leader.rank if leader else -1} {leader.name if leader else ''}, quorum "
             f"{','.join(str(m.rank) for m in q)} {','.join(m.name for m in q)}\n")
    return _out(doc, opts, lambda: plain)
