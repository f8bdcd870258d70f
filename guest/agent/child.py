"""The main process of a run, forked ahead of time from the agent's interpreter.

`Prefork.create()` forks a child that does everything a run needs that does
not depend on the request (new session, its own cgroup, std streams on pipes,
default signal handlers, modules reset to interpreter start-up) and then waits
on a control pipe. `Prefork.launch(req)` sends the request; the child drops to
the unprivileged user, applies rlimits, writes the files and runs the program
the way `python3 -u main.py` would. Every run is a new process; none is reused.
"""
import binascii
import io
import json
import os
import resource
import signal
import sys

USER_UID = USER_GID = 1000
WORKSPACE = "/workspace"
# The environment of every run; the agent adopts it at start (see agent.main)
# so a forked run inherits it with no work.
ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": WORKSPACE,
    "USER": "user",
    "LOGNAME": "user",
    "SHELL": "/bin/sh",
    "LANG": "C.UTF-8",
    "TMPDIR": "/tmp",
    "PYTHONUNBUFFERED": "1",
}


class Prefork:
    """A forked, waiting run process and the host ends of its pipes."""

    def __init__(self, pid, ctl_w, stdin_w, stdout_r, stderr_r, cgroup):
        self.limits = {}
        self.pid = pid
        self.ctl_w = ctl_w
        self.stdin_w = stdin_w
        self.stdout_r = stdout_r
        self.stderr_r = stderr_r
        self.cgroup = cgroup

    @classmethod
    def create(cls, cgroup):
        ctl_r, ctl_w = os.pipe2(os.O_CLOEXEC)
        in_r, in_w = os.pipe2(os.O_CLOEXEC)
        out_r, out_w = os.pipe2(os.O_CLOEXEC)
        err_r, err_w = os.pipe2(os.O_CLOEXEC)
        pid = os.fork()
        if pid == 0:
            try:
                _prepare(cgroup, in_r, out_w, err_w, ctl_r)
                req = _read_request(3)
                _launch(req)
            except BaseException as e:  # noqa: BLE001  set-up failed: say why on the run's stderr
                try:
                    os.write(2, ("codecell: could not start the program: %s\n" % (e,)).encode())
                finally:
                    os._exit(126)
        for fd in (ctl_r, in_r, out_w, err_w):
            os.close(fd)
        return cls(pid, ctl_w, in_w, out_r, err_r, cgroup)

    def launch(self, req):
        """Hands the request to the waiting child (it reads until EOF)."""
        data = json.dumps({"entry": req["entry"], "files": req["files"], "limits": req["limits"]}).encode()
        os.setpriority(os.PRIO_PROCESS, self.pid, 0)
        os.set_blocking(self.ctl_w, True)
        try:
            os.write(self.ctl_w, data)
        finally:
            os.close(self.ctl_w)


def _prepare(cgroup, in_r, out_w, err_w, ctl_r):
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
    os.closerange(4, 65536)
    # The agent is a plain CPython, so every disposition is already what
    # CPython sets at start-up, except the two the agent changed.
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    # Forget every module the agent imported beyond interpreter start-up, so the
    # program imports them fresh (and its own random.py shadows the stdlib's).
    keep = sys.modules["__main__"].STARTUP_MODULES
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


def _launch(req):
    limits = req["limits"]
    os.setgroups([])
    os.setgid(USER_GID)
    os.setuid(USER_UID)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["fileSizeBytes"],) * 2)
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits["openFiles"],) * 2)
    resource.setrlimit(resource.RLIMIT_NPROC, (limits["pids"],) * 2)
    os.umask(0o022)
    os.chdir(WORKSPACE)
    for f in req["files"]:
        write_workspace_file(f["path"], binascii.a2b_base64(f["contentB64"]))
    _run_main(req["entry"])


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


def _run_main(entry):
    """Runs the entry file as __main__ the way CPython runs a script (no runpy: it is slow to import)."""
    path = os.path.join(WORKSPACE, entry)
    sys.argv = [entry]
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
