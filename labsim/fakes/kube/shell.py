"""What `kubectl exec` runs in a simulated container: a small, documented command interpreter over the
container's image (labsim/fakes/kube/images.py).

- A program the image lacks fails in the runtime, before anything runs (containerd/runc's text:
  `exec: "bash": executable file not found in $PATH`); an image without a shell (http-echo, distroless) has
  only its own binaries.
- `sh -c SCRIPT` (and `bash -c`, `ash -c` where the image has that shell) runs commands separated by `;`,
  `&&`, `||` and newlines, with `$VAR`, `${VAR}` and `$?` expanded outside single quotes. Pipes and
  redirections are not simulated (the shell says so on stderr, exit 2).
- Commands: `echo [-n]`, `cat [FILE...]` (the image's files, or stdin), `hostname`, `id [-u|-g|-n|-un|-gn]`,
  `whoami`, `env`, `printenv [VAR]`, `ls [-1aA] [PATH...]`, `pwd`, `cd`, `uname [-a|-s|-r|-m|-n]`,
  `sleep N[smhd]...` (N seconds of the lab's clock pass: virtual time in CI, real time in a served lab; what the
  script wrote before is sent first), `true`, `false`, `exit [N]`, plus the programs the world
  registered for the container (`ceph` in the Rook toolbox). Exit codes and stderr are those of the image's
  userland: busybox (Alpine, busybox), GNU coreutils with dash (Debian) or bash (Ubuntu, CentOS).
- An unknown command is the shell's: busybox `sh: foo: not found`, dash `sh: 1: foo: not found`, bash
  `bash: line 1: foo: command not found`, all with exit code 127.
"""
from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from labsim.fakes.kube.images import Image, container_env, expand

SHELLS = {"sh", "ash", "bash", "dash"}
COMMANDS = {"echo", "cat", "hostname", "id", "whoami", "env", "printenv", "ls", "pwd", "cd", "uname", "sleep",
            "true", "false", "exit"}
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
STD_DIRS = ("/bin", "/dev", "/etc", "/home", "/proc", "/root", "/sys", "/tmp", "/usr", "/var")


@dataclass
class Result:
    stdout: bytes = b""
    stderr: bytes = b""
    exit_code: int = 0


@dataclass
class Context:
    pod: dict[str, Any]
    container: str
    image: Image
    env: dict[str, str]
    programs: dict[str, Callable[..., Any]] = field(default_factory=dict)
    stdin: bytes = b""
    cwd: str = "/"
    shell: str = "sh"
    line: int = 1
    request: Any = None
    pause: Callable[[float], None] | None = None     # lets lab time pass (`sleep`); None: none passes
    flush: Callable[[bytes, bytes], None] | None = None   # sends what was written so far (before a sleep)

    @property
    def gnu(self) -> bool:
        return self.image.shell in ("dash", "bash")


class RuntimeError_(Exception):
    """The container runtime cannot start the process (a missing executable)."""


def environment(pod: dict[str, Any], container: dict[str, Any], image: Image, cluster_ip: str = "") -> dict:
    """The process environment: the image's, HOSTNAME, the container's env, the kubernetes service's."""
    env = dict(image.env)
    env["HOSTNAME"] = (pod.get("spec") or {}).get("hostname") or pod["metadata"]["name"]
    if cluster_ip:
        env.update({"KUBERNETES_SERVICE_HOST": cluster_ip, "KUBERNETES_SERVICE_PORT": "443",
                    "KUBERNETES_SERVICE_PORT_HTTPS": "443", "KUBERNETES_PORT": f"tcp://{cluster_ip}:443",
                    "KUBERNETES_PORT_443_TCP": f"tcp://{cluster_ip}:443", "KUBERNETES_PORT_443_TCP_PROTO": "tcp",
                    "KUBERNETES_PORT_443_TCP_PORT": "443", "KUBERNETES_PORT_443_TCP_ADDR": cluster_ip})
    own = container_env(container, pod)
    env.update({k: expand(v, env) for k, v in own.items()})
    env.setdefault("HOME", "/root" if image.uid == 0 else "/")
    return env


def runtime_error(argv0: str) -> str:
    return (f'exec: "{argv0}": executable file not found in $PATH')


def has(ctx: Context, prog: str) -> bool:
    base = prog.rsplit("/", 1)[-1]
    if base in ctx.programs:
        return True
    if any(b.rsplit("/", 1)[-1] == base for b in ctx.image.binaries):
        return True
    if ctx.image.shell == "none":
        return False
    if base in SHELLS:
        return base in ("sh", ctx.image.shell) or (ctx.image.shell == "busybox" and base == "ash") or \
            (ctx.image.shell == "bash" and base in ("sh", "bash")) or (ctx.image.shell == "dash" and base == "dash")
    return base in COMMANDS - {"exit", "cd"}


def run(ctx: Context, argv: list[str]) -> Result:
    """Run an exec's argv (no shell in between, as the runtime does). Raises RuntimeError_ when the program
    is not in the image."""
    if not argv:
        raise RuntimeError_(runtime_error(""))
    prog = argv[0].rsplit("/", 1)[-1]
    if not has(ctx, argv[0]):
        raise RuntimeError_(runtime_error(argv[0]))
    if prog in SHELLS and prog not in ctx.programs:
        ctx.shell = prog
        if len(argv) >= 3 and argv[1] == "-c":
            return script(ctx, argv[2])
        if len(argv) == 1:          # `sh` with stdin as the script
            return script(ctx, ctx.stdin.decode(errors="replace"))
        return Result(stderr=f"{prog}: {argv[1]}: No such file or directory\n".encode(), exit_code=127)
    return command(ctx, argv)


# --- the shell ------------------------------------------------------------------------------------------------
_VARREF = re.compile(r"\$(\{[A-Za-z_][A-Za-z0-9_]*\}|[A-Za-z_][A-Za-z0-9_]*|\?)")


def _expand_vars(text: str, env: dict[str, str], status: int) -> str:
    out, i, quote = [], 0, False
    while i < len(text):
        ch = text[i]
        if ch == "'":
            quote = not quote
        if ch == "$" and not quote:
            m = _VARREF.match(text, i)
            if m:
                name = m.group(1).strip("{}")
                out.append(str(status) if name == "?" else env.get(name, ""))
                i = m.end()
                continue
        out.append(ch)
        i += 1
    return "".join(out)


def _split(text: str) -> list[list[str] | str]:
    """Tokens grouped into commands and the operators between them (`;`, `&&`, `||`)."""
    lex = shlex.shlex(text.replace("\n", " ; "), posix=True, punctuation_chars=";&|<>")
    lex.whitespace_split = True
    lex.commenters = "#"
    out: list[list[str] | str] = []
    cur: list[str] = []
    for tok in lex:
        if tok in (";", "&&", "||", "|", "&", ">", ">>", "<", ";;"):
            if cur:
                out.append(cur)
            cur = []
            out.append(tok)
        else:
            cur.append(tok)
    if cur:
        out.append(cur)
    return out


def script(ctx: Context, text: str) -> Result:
    res = Result()
    status = 0
    try:
        parts = _split(text)
    except ValueError as exc:    # an unterminated quote
        msg = "Syntax error: Unterminated quoted string" if not ctx.gnu or ctx.image.shell == "dash" else \
            f"unexpected EOF while looking for matching quote ({exc})"
        return Result(stderr=_shell_prefix(ctx, msg).encode(), exit_code=2)
    skip = False
    for part in parts:
        if isinstance(part, str):
            if part in ("|", "&", ">", ">>", "<", ";;"):
                return Result(res.stdout, res.stderr + _shell_prefix(
                    ctx, f"labsim: '{part}' (pipes, redirections, background jobs) is not simulated").encode(), 2)
            if part == "&&":
                skip = status != 0
            elif part == "||":
                skip = status == 0
            else:
                skip = False
            continue
        if skip:
            continue
        argv = [_expand_vars(a, ctx.env, status) if "$" in a else a for a in part]
        if not argv:
            continue
        if argv[0] == "exit":
            code = int(argv[1]) if len(argv) > 1 and argv[1].lstrip("-").isdigit() else status
            res.exit_code = code & 0xFF
            return res
        if argv[0] == "cd":
            target = argv[1] if len(argv) > 1 else ctx.env.get("HOME", "/")
            path = posixpath.normpath(posixpath.join(ctx.cwd, target))
            if not _is_dir(ctx, path):
                res.stderr += _shell_prefix(ctx, f"cd: {target}: No such file or directory"
                                            if ctx.image.shell == "bash" else f"cd: can't cd to {target}").encode()
                status = 1 if ctx.image.shell != "dash" else 2
                continue
            ctx.cwd, status = path, 0
            continue
        prog = argv[0].rsplit("/", 1)[-1]
        if not has(ctx, argv[0]) or prog in SHELLS and prog not in ctx.programs and len(argv) > 1 \
                and argv[1] != "-c":
            res.stderr += _not_found(ctx, argv[0]).encode()
            status = 127
            continue
        if prog == "sleep" and ctx.flush is not None and (res.stdout or res.stderr):
            ctx.flush(res.stdout, res.stderr)       # a real shell's output is out before it sleeps
            res.stdout, res.stderr = b"", b""
        try:
            r = run(ctx, argv) if prog in SHELLS else command(ctx, argv)
        except RuntimeError_:
            res.stderr += _not_found(ctx, argv[0]).encode()
            status = 127
            continue
        res.stdout += r.stdout
        res.stderr += r.stderr
        status = r.exit_code
    res.exit_code = status
    return res


def _shell_prefix(ctx: Context, msg: str) -> str:
    if ctx.image.shell == "busybox":
        return f"{ctx.shell}: {msg}\n"
    if ctx.image.shell == "dash":
        return f"{ctx.shell}: {ctx.line}: {msg}\n"
    return f"{ctx.shell}: line {ctx.line}: {msg}\n"


def _not_found(ctx: Context, name: str) -> str:
    if ctx.image.shell == "bash":
        return _shell_prefix(ctx, f"{name}: command not found")
    return _shell_prefix(ctx, f"{name}: not found")


# --- commands -------------------------------------------------------------------------------------------------
def _files(ctx: Context) -> dict[str, str]:
    files = dict(ctx.image.files)
    files.setdefault("/etc/hostname", ctx.env.get("HOSTNAME", "") + "\n")
    files.setdefault("/etc/hosts", f"127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                                   f"{(ctx.pod.get('status') or {}).get('podIP', '')}\t{ctx.env.get('HOSTNAME', '')}\n")
    files.setdefault("/etc/resolv.conf", f"search {ctx.pod['metadata'].get('namespace', 'default')}.svc.cluster.local "
                                         "svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n")
    for b in ctx.image.binaries:
        files.setdefault(b, "")
    return files


def _is_dir(ctx: Context, path: str) -> bool:
    if path == "/" or path in STD_DIRS:
        return True
    prefix = path.rstrip("/") + "/"
    return any(f.startswith(prefix) for f in _files(ctx))


def _listing(ctx: Context, path: str) -> list[str]:
    prefix = "/" if path == "/" else path.rstrip("/") + "/"
    names = {f[len(prefix):].split("/", 1)[0] for f in _files(ctx) if f.startswith(prefix)}
    if path == "/":
        names |= {d[1:] for d in STD_DIRS}
    return sorted(n for n in names if n)


def command(ctx: Context, argv: list[str]) -> Result:
    prog = argv[0].rsplit("/", 1)[-1]
    args = argv[1:]
    if prog in ctx.programs:
        from labsim.fakes.kube_exec import ExecRequest
        req = ctx.request or ExecRequest(ctx.pod["metadata"].get("namespace", ""), ctx.pod, ctx.container, argv,
                                         ctx.stdin)
        if ctx.request is not None:
            req = ExecRequest(req.namespace, req.pod, req.container, argv, req.stdin, req.tty)
        r = ctx.programs[prog](req)
        return Result(r.stdout, r.stderr, r.exit_code)
    if prog == "echo":
        newline = True
        if args and args[0] == "-n":
            newline, args = False, args[1:]
        return Result((" ".join(args) + ("\n" if newline else "")).encode())
    if prog == "true":
        return Result()
    if prog == "false":
        return Result(exit_code=1)
    if prog == "sleep":
        bad = next((a for a in args if not re.fullmatch(r"([0-9]+\.?[0-9]*|\.[0-9]+)[smhd]?", a)), None)
        if not args or bad is not None:
            more = "Try 'sleep --help' for more information.\n" if ctx.gnu else ""
            text = (f"sleep: invalid time interval '{bad}'\n" if ctx.gnu else f"sleep: invalid number '{bad}'\n") \
                if args else "sleep: missing operand\n"
            return Result(stderr=(text + more).encode(), exit_code=1)
        seconds = sum(float(a.rstrip("smhd")) * _UNITS[a[-1] if a[-1] in _UNITS else "s"] for a in args)
        if ctx.pause is not None:
            ctx.pause(seconds)
        return Result()
    if prog == "hostname":
        return Result((ctx.env.get("HOSTNAME", "") + "\n").encode())
    if prog == "pwd":
        return Result((ctx.cwd + "\n").encode())
    if prog in ("id", "whoami"):
        img = ctx.image
        flags = "".join(a.lstrip("-") for a in args) if prog == "id" else "un"
        if "u" in flags:
            return Result(((img.user if "n" in flags else str(img.uid)) + "\n").encode())
        if "g" in flags:
            return Result(((img.group if "n" in flags else str(img.gid)) + "\n").encode())
        return Result(f"uid={img.uid}({img.user}) gid={img.gid}({img.group}) groups={img.gid}({img.group})\n".encode())
    if prog in ("env", "printenv"):
        if prog == "printenv" and args:
            vals = [ctx.env[a] for a in args if a in ctx.env]
            return Result("".join(v + "\n" for v in vals).encode(), exit_code=0 if len(vals) == len(args) else 1)
        return Result("".join(f"{k}={v}\n" for k, v in ctx.env.items()).encode())
    if prog == "uname":
        parts = {"s": "Linux", "n": ctx.env.get("HOSTNAME", ""), "r": "6.12.6-talos", "m": "x86_64"}
        if not args:
            return Result(b"Linux\n")
        if "-a" in args:
            return Result(f"Linux {parts['n']} {parts['r']} #1 SMP x86_64 GNU/Linux\n".encode())
        return Result((" ".join(parts[a.lstrip("-")] for a in args if a.lstrip("-") in parts) + "\n").encode())
    if prog == "cat":
        files = _files(ctx)
        if not args:
            return Result(ctx.stdin)
        out, err, code = b"", b"", 0
        for a in args:
            path = posixpath.normpath(posixpath.join(ctx.cwd, a))
            if path in files:
                out += files[path].encode()
            elif _is_dir(ctx, path):
                err += (f"cat: {a}: Is a directory\n" if ctx.gnu else "cat: read error: Is a directory\n").encode()
                code = 1
            else:
                err += (f"cat: {a}: No such file or directory\n" if ctx.gnu
                        else f"cat: can't open '{a}': No such file or directory\n").encode()
                code = 1
        return Result(out, err, code)
    if prog == "ls":
        opts = "".join(a[1:] for a in args if a.startswith("-"))
        paths = [a for a in args if not a.startswith("-")] or [ctx.cwd]
        files = _files(ctx)
        out, err, code = [], b"", 0
        for a in paths:
            path = posixpath.normpath(posixpath.join(ctx.cwd, a))
            if _is_dir(ctx, path):
                names = _listing(ctx, path)
                if "a" in opts:
                    names = [".", ".."] + names
                out.append((f"{a}:\n" if len(paths) > 1 else "") + "".join(n + "\n" for n in names))
            elif path in files:
                out.append(a + "\n")
            else:
                err += (f"ls: cannot access '{a}': No such file or directory\n" if ctx.gnu
                        else f"ls: {a}: No such file or directory\n").encode()
                code = 2 if ctx.gnu else 1
        return Result("\n".join(out).encode(), err, code)
    raise RuntimeError_(runtime_error(argv[0]))
