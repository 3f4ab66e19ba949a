"""The commands a simulated host answers over SSH: what testinfra's modules send, and a few an engineer
types to change things (systemctl stop, chmod).

Sources: pytest-testinfra 10.2 `modules/` (SystemInfo: `uname -s`, `cat /etc/os-release`; File:
`test -e`, `stat -Lc %U|%G|%a`, `grep -qs -- PAT FILE`, `cat -- FILE`; Service (systemd): `test -d
/run/systemd/system/`, `systemctl is-active|is-enabled|show`, `systemctl list-unit-files | grep -q "^NAME"`;
Socket: `command -v ss`, `ss --numeric --listening --tcp`; the backend's `sudo /bin/sh -c CMD`).
Output formats and exit codes follow the real tools (systemctl is-active: 0 active / 3 inactive;
is-enabled: 0 enabled / 1 disabled; curl: 7 when nothing listens). Anything else: 127, not found.
"""
from __future__ import annotations

import re
import shlex
from collections.abc import Callable

from labsim.fakes.hosts.machine import Machine

Result = tuple[int, str, str]


class Shell:
    def __init__(self, machine: Machine, user: str):
        self.m = machine
        self.user = user

    # --- entry ---------------------------------------------------------------------------------------
    def run(self, command: str) -> Result:
        with self.m.lock:
            self.m.commands += 1
            try:
                return self._sequence(command, self.user)
            except ValueError as exc:   # unbalanced quotes and the like
                return 2, "", f"sh: 1: Syntax error: {exc}\n"

    def _sequence(self, command: str, user: str) -> Result:
        lex = shlex.shlex(command, posix=True, punctuation_chars="|&;")
        lex.whitespace_split = True
        tokens = list(lex)
        out, err, rc = "", "", 0
        stage: list[list[str]] = [[]]
        op = None
        i = 0
        while i <= len(tokens):
            tok = tokens[i] if i < len(tokens) else None
            if tok in (None, ";", "&&", "||"):
                if op == "&&" and rc != 0 or op == "||" and rc == 0:
                    pass
                elif stage != [[]]:
                    rc, o, e = self._pipeline(stage, user)
                    out, err = out + o, err + e
                stage, op = [[]], tok
            elif tok == "|":
                stage.append([])
            else:
                stage[-1].append(tok)
            i += 1
        return rc, out, err

    def _pipeline(self, stages: list[list[str]], user: str) -> Result:
        data, err, rc = "", "", 0
        for argv in stages:
            rc, data, e = self._one(argv, user, data)
            err += e
        return rc, data, err

    def _one(self, argv: list[str], user: str, stdin: str) -> Result:
        if not argv:
            return 0, "", ""
        name = argv[0].rsplit("/", 1)[-1]
        if name == "sudo":
            return self._sudo(argv[1:], user, stdin)
        if name in ("sh", "bash") and len(argv) >= 3 and argv[1] == "-c":
            return self._sequence(argv[2], user)
        fn: Callable[..., Result] | None = getattr(self, "cmd_" + name.replace("-", "_"), None)
        if name == "command" and argv[1:2] == ["-v"]:
            return self.cmd_which(argv[1:], user, stdin)
        if fn is None or (name not in ("command", "test", "true", "false", "echo") and not self.m.which(name)):
            return 127, "", f"sh: 1: {argv[0]}: not found\n"
        return fn(argv[1:], user, stdin)

    def _sudo(self, argv: list[str], user: str, stdin: str) -> Result:
        target = "root"
        if argv[:1] == ["-u"]:
            target, argv = argv[1], argv[2:]
        uid, groups = self.m.users.get(user, (65534, ()))
        if uid != 0 and "sudo" not in groups:
            return 1, "", f"{user} is not in the sudoers file.\n"
        return self._one(argv, target, stdin)

    # --- files ---------------------------------------------------------------------------------------
    def _denied(self, tool: str, path: str) -> Result:
        return 2, "", f"{tool}: {path}: Permission denied\n"

    def cmd_cat(self, args: list[str], user: str, stdin: str) -> Result:
        paths = [a for a in args if a != "--"]
        if not paths:
            return 0, stdin, ""
        out = ""
        for p in paths:
            f = self.m.node(p)
            if f is None:
                return 1, out, f"cat: {p}: No such file or directory\n"
            if f.kind == "dir":
                return 1, out, f"cat: {p}: Is a directory\n"
            if not self.m.can_read(user, p):
                return 1, out, f"cat: {p}: Permission denied\n"
            out += f.data().decode("utf-8", "replace")
        return 0, out, ""

    def cmd_grep(self, args: list[str], user: str, stdin: str) -> Result:
        quiet = silent = False
        rest: list[str] = []
        it = iter(args)
        for a in it:
            if a == "--":
                rest.extend(it)
                break
            if a.startswith("-") and len(a) > 1 and not rest:
                quiet |= "q" in a
                silent |= "s" in a
            else:
                rest.append(a)
        if not rest:
            return 2, "", "Usage: grep [OPTION]... PATTERNS [FILE]...\n"
        pattern, files = rest[0], rest[1:]
        if files:
            f = self.m.node(files[0])
            if f is None or f.kind != "file":
                return 2, "", "" if silent else f"grep: {files[0]}: No such file or directory\n"
            if not self.m.can_read(user, files[0]):
                return 2, "", "" if silent else f"grep: {files[0]}: Permission denied\n"
            text = f.data().decode("utf-8", "replace")
        else:
            text = stdin
        hits = [line for line in text.splitlines() if re.search(pattern, line)]
        return (0 if hits else 1), ("" if quiet else "".join(h + "\n" for h in hits)), ""

    def cmd_test(self, args: list[str], user: str, stdin: str) -> Result:
        if len(args) != 2:
            return 2, "", "sh: test: unsupported expression\n"
        flag, path = args
        f = self.m.node(path)
        checks = {"-e": f is not None, "-f": f is not None and f.kind == "file", "-d": f is not None and f.kind == "dir",
                  "-x": f is not None and bool(f.mode & 0o111), "-r": f is not None and self.m.can_read(user, path),
                  "-L": False, "-S": False, "-p": False}
        if flag not in checks:
            return 2, "", f"sh: test: {flag}: unexpected operator\n"
        return (0 if checks[flag] else 1), "", ""

    def cmd_stat(self, args: list[str], user: str, stdin: str) -> Result:
        fmt, paths = None, []
        it = iter(args)
        for a in it:
            if a in ("-c", "-Lc", "--format"):
                fmt = next(it, "")
            elif not a.startswith("-"):
                paths.append(a)
        if fmt is None or not paths:
            return 1, "", "stat: only -c FORMAT is simulated\n"
        f = self.m.node(paths[0])
        if f is None:
            return 1, "", f"stat: cannot statx '{paths[0]}': No such file or directory\n"
        uid = self.m.users.get(f.user, (0, ()))[0]
        gid = 0 if f.group == "root" else 33 if f.group == "www-data" else 1000
        fields = {"U": f.user, "u": str(uid), "G": f.group, "g": str(gid), "a": format(f.mode, "o"),
                  "Y": str(f.mtime), "s": str(len(f.data()) if f.kind == "file" else 4096), "i": str(abs(hash(paths[0])) % 10**7),
                  "n": paths[0], "F": "regular file" if f.kind == "file" else "directory"}
        return 0, re.sub(r"%(.)", lambda mm: fields.get(mm.group(1), mm.group(0)), fmt) + "\n", ""

    def cmd_realpath(self, args: list[str], user: str, stdin: str) -> Result:
        path = [a for a in args if not a.startswith("-")][0]
        if self.m.node(path) is None:
            return 1, "", f"realpath: {path}: No such file or directory\n"
        return 0, path.rstrip("/") + "\n", ""

    cmd_readlink = cmd_realpath

    def cmd_find(self, args: list[str], user: str, stdin: str) -> Result:
        """Only what testinfra's SysV fallback asks (`find -L /etc/rc?.d/ -name S??UNIT`): no SysV links here."""
        return 0, "", ""

    def cmd_chmod(self, args: list[str], user: str, stdin: str) -> Result:
        mode, path = args[-2], args[-1]
        if self.m.node(path) is None:
            return 1, "", f"chmod: cannot access '{path}': No such file or directory\n"
        if not self.m.is_root(user) and self.m.node(path).user != user:
            return 1, "", f"chmod: changing permissions of '{path}': Operation not permitted\n"
        self.m.chmod(path, int(mode, 8))
        return 0, "", ""

    def cmd_chown(self, args: list[str], user: str, stdin: str) -> Result:
        owner, path = args[-2], args[-1]
        if not self.m.is_root(user):
            return 1, "", f"chown: changing ownership of '{path}': Operation not permitted\n"
        if self.m.node(path) is None:
            return 1, "", f"chown: cannot access '{path}': No such file or directory\n"
        u, _, g = owner.partition(":")
        self.m.chown(path, u, g or None)
        return 0, "", ""

    # --- programs and the system ----------------------------------------------------------------------
    def cmd_which(self, args: list[str], user: str, stdin: str) -> Result:
        name = [a for a in args if not a.startswith("-")]
        if not name:
            return 0, "", ""   # `command -v command`: the shell has `command -v`
        n = name[0]
        if n.startswith("/"):
            f = self.m.node(n)
            return (0, n + "\n", "") if f is not None and f.mode & 0o111 else (1, "", "")
        if n in ("command", "test", "echo", "true", "false"):
            return 0, n + "\n", ""
        path = self.m.which(n)
        return (0, path + "\n", "") if path else (1, "", "")

    def cmd_command(self, args: list[str], user: str, stdin: str) -> Result:
        return self.cmd_which(args, user, stdin)

    def cmd_true(self, args, user, stdin) -> Result:
        return 0, "", ""

    def cmd_false(self, args, user, stdin) -> Result:
        return 1, "", ""

    def cmd_echo(self, args, user, stdin) -> Result:
        return 0, " ".join(args) + "\n", ""

    def cmd_uname(self, args: list[str], user: str, stdin: str) -> Result:
        flag = args[0] if args else "-s"
        return 0, {"-s": "Linux", "-m": self.m.arch, "-n": self.m.name, "-r": "6.8.12-4-pve"}.get(flag, "Linux") + "\n", ""

    def cmd_hostname(self, args, user, stdin) -> Result:
        return 0, self.m.name + "\n", ""

    def cmd_id(self, args: list[str], user: str, stdin: str) -> Result:
        uid, groups = self.m.users.get(user, (65534, ()))
        return 0, (user if "-un" in args or "-nu" in args else f"uid={uid}({user})") + "\n", ""

    def cmd_ps(self, args: list[str], user: str, stdin: str) -> Result:
        want = args[args.index("-C") + 1] if "-C" in args else None
        procs = [p for p in self.m.processes() if want is None or p == want]
        return (0 if procs else 1), "".join(f"root {100 + i} 1 0 {p}\n" for i, p in enumerate(procs)), ""

    def cmd_ss(self, args: list[str], user: str, stdin: str) -> Result:
        flags = "".join(a.lstrip("-") for a in args if a.startswith("-") and not a.startswith("--"))
        listening = "--listening" in args or "l" in flags
        udp_only = ("--udp" in args or "u" in flags) and not ("--tcp" in args or "t" in flags)
        one_protocol = any(a in args for a in ("--tcp", "--udp")) or any(c in flags for c in "tu")
        netid = "" if one_protocol else "tcp   "   # without --tcp/--udp ss adds the Netid column
        lines = [("" if one_protocol else "Netid ") + "State  Recv-Q Send-Q Local Address:Port  Peer Address:Port Process"]
        if listening and not udp_only:
            lines += [f"{netid}LISTEN 0      4096               *:{p}              *:*" for p in self.m.listening()]
        return 0, "\n".join(lines) + "\n", ""

    def cmd_systemctl(self, args: list[str], user: str, stdin: str) -> Result:
        words = [a for a in args if not a.startswith("-")]
        if not words:
            return 1, "", "systemctl: only unit commands are simulated\n"
        verb, names = words[0], [n.removesuffix(".service") for n in words[1:]]
        if verb == "list-unit-files":
            rows = [f"{n}.service {'enabled' if u.enabled else 'disabled'} enabled" for n, u in sorted(self.m.units.items())]
            return 0, "UNIT FILE STATE PRESET\n" + "".join(r + "\n" for r in rows), ""
        unit = self.m.units.get(names[0]) if names else None
        if verb == "is-active":
            return (0, "active\n", "") if unit and unit.active else (3, "inactive\n", "")
        if verb == "is-enabled":
            if unit is None:
                return 1, "", f"Failed to get unit file state for {names[0]}.service: No such file or directory\n"
            return (0, "enabled\n", "") if unit.enabled else (1, "disabled\n", "")
        if verb in ("show", "status"):
            if unit is None:
                return (4, "", f"Unit {names[0]}.service could not be found.\n") if verb == "status" else (0, "", "")
            state = "active" if unit.active else "inactive"
            return (0 if unit.active or verb == "show" else 3,
                    f"Id={names[0]}.service\nActiveState={state}\nUnitFileState={'enabled' if unit.enabled else 'disabled'}\n", "")
        changes = {"start": {"active": True}, "stop": {"active": False}, "restart": {"active": True},
                   "enable": {"enabled": True}, "disable": {"enabled": False}}
        if verb in changes:
            if unit is None:
                return 5, "", f"Failed to {verb} {names[0]}.service: Unit {names[0]}.service not found.\n"
            if not self.m.is_root(user):
                return 1, "", f"Failed to {verb} {names[0]}.service: Interactive authentication required.\n"
            self.m.set_unit(names[0], **changes[verb])
            return 0, "", ""
        return 1, "", f"systemctl: {verb} is not simulated\n"

    def cmd_curl(self, args: list[str], user: str, stdin: str) -> Result:
        """curl against the host's own listeners (https://localhost:PORT/PATH): -s -k -f -o FILE -w FORMAT."""
        out_null, fmt, fail, url = False, None, False, None
        it = iter(args)
        for a in it:
            if a == "-o":
                out_null = next(it, "") == "/dev/null"
            elif a == "-w":
                fmt = next(it, "")
            elif a.startswith("-"):
                fail |= "f" in a.lstrip("-") and not a.startswith("--")
            else:
                url = a
        m = re.match(r"https?://(localhost|127\.0\.0\.1)(?::(\d+))?(/[^?]*)?", url or "")
        if not m:
            return 6, "000" if fmt else "", "curl: (6) Could not resolve host (only localhost is simulated)\n"
        port, path = int(m.group(2) or 443), m.group(3) or "/"
        if port not in self.m.listening():
            code = "000"
            return 7, (fmt.replace("%{http_code}", code) if fmt else ""), \
                f"curl: (7) Failed to connect to localhost port {port}: Connection refused\n"
        ans = next((h for h in self.m.http if h.port == port and h.path == path), None)
        status, body = (ans.status, ans.body.decode()) if ans else (404, "404 page not found\n")
        text = "" if out_null else body
        if fmt:
            text += fmt.replace("%{http_code}", str(status))
        if fail and status >= 400:
            return 22, "", f"curl: (22) The requested URL returned error: {status}\n"
        return 0, text, ""
