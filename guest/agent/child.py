"""The main process of a stage, forked ahead of time from the agent's interpreter.

`Prefork.create()` forks a child that does everything a stage needs that does
not depend on the request (new session, its own cgroup, std streams on pipes,
default signal handlers, modules reset to interpreter start-up) and then waits
on a control pipe. `Prefork.launch(req)` sends the request; the child drops to
the unprivileged user, applies rlimits, writes the files and then either runs
the Python entry the way `python3 -u main.py` would (the warm fast path) or
execs the stage's argv. With `warm`, the child instead starts the stage's
runtime ahead (see warm.py) and supervises it. Every stage is a new process.
"""
import binascii
import io
import json
import os
import resource
import signal
import sys

import ptys  # guest/agent/ptys.py: a TTY stage's terminal
import warm as warm_launchers  # guest/agent/warm.py: which runtimes start ahead, and how
from workspace import prune  # guest/agent/workspace.py: the workspace holds exactly the request's files

USER_UID = USER_GID = 1000
WORKSPACE = "/workspace"
PYTHON = "/usr/bin/python3"
# The environment of every stage; the agent adopts it at start (see agent.main)
# so a forked child inherits it with no work. Stages add their own (e.g. GOCACHE).
ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": WORKSPACE,
    "USER": "user",
    "LOGNAME": "user",
    "SHELL": "/bin/bash",
    "LANG": "C.UTF-8",
    "TMPDIR": "/tmp",
    "PYTHONUNBUFFERED": "1",
    # matplotlib: draw to files (no display), and find its font cache prebuilt (SPEC 5.3).
    "MPLBACKEND": "Agg",
    "MPLCONFIGDIR": "/var/cache/codecell/matplotlib",
}
# Modules the agent imports before it is ready and runs keep (SPEC 3.7).
PRELOAD = ("numpy", "pandas")


class Prefork:
    """A forked, waiting stage process and the host ends of its pipes."""

    def __init__(self, pid, ctl_w, pipes, cgroup, warm):
        self.limits = {}
        self.pid = pid
        self.ctl_w = ctl_w
        self.stdin_w, self.stdout_r, self.stderr_r = pipes
        self.cgroup = cgroup
        # The warm.warm_key of the runtime it started ahead, or None.
        self.warm = warm
        # The agent's entropy generation when this was forked (Agent.entropy_generation).
        self.generation = 0

    @classmethod
    def create(cls, cgroup, warm=None):
        """Forks the child; `warm` (a warm.warm_key) makes it start that runtime ahead too."""
        ctl_r, ctl_w = os.pipe2(os.O_CLOEXEC)
        in_r, in_w = os.pipe2(os.O_CLOEXEC)
        out_r, out_w = os.pipe2(os.O_CLOEXEC)
        err_r, err_w = os.pipe2(os.O_CLOEXEC)
        # A byte on fd 4 once it is ready to take the request: a warm runtime primed, a
        # forked interpreter prepared (the agent waits for those before a snapshot, 2.4).
        ready_r, ready_w = os.pipe2(os.O_CLOEXEC)
        pid = os.fork()
        if pid == 0:
            try:
                _prepare(cgroup, (in_r, out_w, err_w, ctl_r, ready_w))
                if warm is not None:
                    _supervise(warm)
                else:
                    # While it waits, not when the run asks (13 ms under TCG); again at launch if
                    # the VM was restored and reseeded since (the request says so).
                    _reseed_preloaded()
                    try:
                        os.write(4, b"r")
                    except OSError:
                        pass  # taken already: the agent closed its end
                    os.close(4)
                    _launch(_read_request(3))
            except BaseException as e:  # noqa: BLE001  set-up failed: say why on the stage's stderr
                try:
                    os.write(2, ("codecell: could not start the program: %s\n" % (e,)).encode())
                finally:
                    os._exit(126)
        for fd in (ctl_r, in_r, out_w, err_w, ready_w):
            os.close(fd)
        pre = cls(pid, ctl_w, (in_w, out_r, err_r), cgroup, warm)
        pre.ready_r = ready_r
        pre.ready = False
        return pre

    def launch(self, req):
        """Hands the request to the waiting child (it reads until EOF)."""
        data = json.dumps(req).encode()
        os.set_blocking(self.ctl_w, True)
        try:
            os.write(self.ctl_w, data)
        finally:
            os.close(self.ctl_w)


def _prepare(cgroup, fds):
    in_r, out_w, err_w, ctl_r, ready_w = fds
    # Prepare at the lowest priority so a run in progress (or the agent
    # reporting its exit) is not slowed; the agent renices us at launch.
    os.setpriority(os.PRIO_PROCESS, 0, 19)
    os.setsid()
    with open(cgroup + "/cgroup.procs", "w") as f:
        f.write(str(os.getpid()))
    with open("/proc/self/oom_score_adj", "w") as f:  # the agent's -1000 is not inherited by programs
        f.write("0")
    os.dup2(in_r, 0)
    os.dup2(out_w, 1)
    os.dup2(err_w, 2)
    os.dup2(ctl_r, 3)
    os.dup2(ready_w, 4)
    os.closerange(5, 65536)
    # The agent is a plain CPython, so every disposition is already what
    # CPython sets at start-up, except the two the agent changed.
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    # Forget every module the agent imported beyond interpreter start-up, so the
    # program imports them fresh (and its own random.py shadows the stdlib's);
    # only the preloaded third-party packages stay (SPEC 3.7).
    main = sys.modules["__main__"]
    keep = main.STARTUP_MODULES | getattr(main, "PRELOADED", frozenset())
    for name in list(sys.modules):
        if name not in keep and name != "__main__":
            del sys.modules[name]
    sys.stdin = sys.__stdin__ = io.TextIOWrapper(
        io.BufferedReader(io.FileIO(0, "r", closefd=False)), encoding="utf-8", errors="strict"
    )
    sys.stdout = sys.__stdout__ = io.TextIOWrapper(
        io.FileIO(1, "w", closefd=False), encoding="utf-8", errors="strict", write_through=True
    )
    sys.stderr = sys.__stderr__ = io.TextIOWrapper(
        io.FileIO(2, "w", closefd=False), encoding="utf-8", errors="backslashreplace", write_through=True
    )


def _read_request(fd):
    chunks = []
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    if not chunks:  # the agent went away without a request
        os._exit(0)
    return json.loads(b"".join(chunks))


def become_user(limits):
    """Drops to the unprivileged user with the stage's rlimits, in /workspace."""
    os.setgroups([])
    os.setgid(USER_GID)
    os.setuid(USER_UID)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["fileSizeBytes"],) * 2)
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits["openFiles"],) * 2)
    resource.setrlimit(resource.RLIMIT_NPROC, (limits["pids"],) * 2)
    os.umask(0o022)
    os.chdir(WORKSPACE)


def write_files(files, build_dir=None):
    if build_dir:
        os.makedirs(build_dir, 0o755, exist_ok=True)
    for f in files:
        write_workspace_file(f["path"], binascii.a2b_base64(f["contentB64"]))


def _launch(req):
    if req.get("tty"):
        ptys.attach(req["tty"])  # the stage's controlling terminal and stdio (SPEC 3.10)
    become_user(req["limits"])
    if req.get("prune"):
        prune([f["path"] for f in req["files"]] + req.get("keep", []))
    write_files(req["files"], req.get("buildDir"))
    argv = req["argv"]
    if req.get("python"):
        os.environ.update(req["env"])  # what execve would have added (e.g. TERM on a terminal)
        if req.get("reseed"):
            _reseed_preloaded()
        at = req["python"]  # index of the entry in argv; what follows it is sys.argv[1:]
        _run_main(argv[at], argv[at + 1 :])
    env = dict(ENV)
    env.update(req["env"])
    try:
        os.execve(argv[0], argv, env)
    except OSError as e:
        os.write(2, ("codecell: cannot run %s: %s\n" % (argv[0], e.strerror)).encode())
        os._exit(127)


def _supervise(warm):
    """Starts the stage's runtime ahead as the user, then hands it the request (SPEC 3.6).

    The runtime is our child, with the stage's stdio and a pipe on fd 3 that
    carries the rest of its argv. We write the files, send that argv, give up
    our stdio and exit as the runtime does, so the agent sees one main process.
    """
    kind, prefix, env_items, rlimits, prime = warm
    # The ready pipe is the agent's (root's, mode 0600): a launcher that reopens it as
    # /proc/self/fd/4 (the JVM's has no other way to write an inherited fd) would be refused.
    os.fchown(4, USER_UID, USER_GID)
    become_user(dict(rlimits))
    env = dict(ENV)
    env.update(dict(env_items))
    req_r, req_w = os.pipe()
    argv = warm_launchers.launcher_argv(kind, list(prefix), prime)
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(req_r, 3)
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    os.close(req_r)
    os.close(4)  # the runtime holds the ready pipe now
    # Signals for the run are the runtime's to handle; we only mirror its end.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    req = _read_request(3)
    try:
        write_files(req["files"], req.get("buildDir"))
    except ValueError as e:
        os.write(2, ("codecell: %s\n" % e).encode())
        os.kill(pid, signal.SIGKILL)
        os._exit(126)
    data = "\0".join(req["argv"][len(prefix):]).encode()
    view = memoryview(data)
    while view:
        view = view[os.write(req_w, view):]
    os.close(req_w)
    null = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
    os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


def write_workspace_file(path, data):
    """Writes `path` under /workspace without ever following a symlink out of it."""
    parts = path.split("/")
    if path.startswith("/") or any(p in ("", ".", "..") or "\0" in p for p in parts):
        raise ValueError("invalid path %r" % path)
    dirfd = os.open(WORKSPACE, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        for part in parts[:-1]:
            try:
                os.mkdir(part, 0o755, dir_fd=dirfd)
            except FileExistsError:
                pass
            try:
                nxt = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dirfd)
            except OSError as e:
                raise ValueError("cannot write %r: %r is not a plain directory (%s)" % (path, part, e.strerror))
            os.close(dirfd)
            dirfd = nxt
        try:
            fd = os.open(parts[-1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644, dir_fd=dirfd)
        except OSError as e:
            raise ValueError("cannot write %r: %s" % (path, e.strerror))
        with open(fd, "wb") as out:
            out.write(data)
    finally:
        os.close(dirfd)


def _reseed_preloaded():
    """numpy's global RandomState was seeded when the agent imported it (in the snapshot
    template, SPEC 3.7): reseed it from the VM's entropy, as a fresh `import numpy` would be,
    so no two runs or clones draw the same numbers. Done by every forked process as it starts
    waiting, and once more at launch by one forked before the VM's last reseed (a clone's first)."""
    nprandom = sys.modules.get("numpy.random")
    if nprandom is not None:
        nprandom.seed()


def _forget_shadowed_preloads():
    """A workspace module named like a preloaded package must win, as it would in a fresh python3."""
    try:
        names = set(os.listdir(WORKSPACE))
    except OSError:
        return
    for top in PRELOAD:
        if top in names or top + ".py" in names:
            for name in [n for n in sys.modules if n == top or n.startswith(top + ".")]:
                del sys.modules[name]


def _run_main(entry, args):
    """Runs the entry file as __main__ the way CPython runs a script (no runpy: it is slow to import)."""
    _forget_shadowed_preloads()
    path = os.path.join(WORKSPACE, entry)
    sys.argv = [entry] + [str(a) for a in args]
    sys.path[0] = os.path.dirname(path)
    main = type(sys)("__main__")
    main.__dict__.update({"__file__": path, "__cached__": None, "__builtins__": __builtins__})
    sys.modules["__main__"] = main
    code = 0
    interrupted = False
    try:
        with open(path, "rb") as f:
            source = f.read()
        exec(compile(source, path, "exec", dont_inherit=True), main.__dict__)
    except SystemExit as e:
        code = _exit_code(e)
    except BaseException as e:  # noqa: BLE001  printed by the C excepthook, minus our own frame
        tb = e.__traceback__
        if tb is not None and tb.tb_frame.f_code is _run_main.__code__:
            tb = tb.tb_next
        e.__traceback__ = tb
        sys.excepthook(type(e), e, tb)
        code = 1
        interrupted = isinstance(e, KeyboardInterrupt)
    code = _shutdown(code)
    if interrupted:  # CPython exits by re-raising SIGINT after KeyboardInterrupt
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    os._exit(code)


def _exit_code(e):
    c = e.code
    if c is None:
        return 0
    if isinstance(c, int):
        return c & 0xFF
    try:
        print(c, file=sys.stderr)
    except Exception:  # noqa: BLE001
        pass
    return 1


def _shutdown(code):
    """Joins non-daemon threads, runs atexit handlers and flushes, like interpreter exit."""
    threading = sys.modules.get("threading")
    if threading is not None:
        try:
            threading._shutdown()
        except BaseException:  # noqa: BLE001
            pass
    import atexit

    try:
        atexit._run_exitfuncs()
    except BaseException:  # noqa: BLE001
        pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001
            code = code or 120
    return code
