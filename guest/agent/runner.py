"""One run of a user program inside the guest: cgroup, fork, pipes, limits, exit report."""
import base64
import json
import os
import selectors
import shutil
import signal
import struct
import time

from child import Prefork

T_STDOUT, T_STDERR, T_EXIT, T_ERROR = 5, 6, 7, 9
CGROUP_ROOT = "/sys/fs/cgroup"
CHUNK = 64 * 1024
DRAIN_AFTER_EXIT_S = 0.25
MAX_PENDING_STDIN = 16 * 1024 * 1024
SIGNALS = {"SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM, "SIGKILL": signal.SIGKILL}
SCRATCH_DIRS = ("/tmp", "/dev/shm", "/var/tmp")


def _write(path, data):
    try:
        with open(path, "w") as f:
            f.write(data)
        return True
    except OSError:
        return False


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def setup_cgroups():
    """Delegates memory, pids and cpu to child cgroups (one per run)."""
    _write(CGROUP_ROOT + "/cgroup.subtree_control", "+memory +pids +cpu")


def _kv(text):
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            out[parts[0]] = int(parts[1])
    return out


def _kill_cgroup(cg):
    if not _write(cg + "/cgroup.kill", "1"):
        for pid in _read(cg + "/cgroup.procs").split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (OSError, ValueError):
                pass


def _remove_cgroup(cg):
    for _ in range(50):
        try:
            os.rmdir(cg)
            return
        except FileNotFoundError:
            return
        except OSError:
            _kill_cgroup(cg)
            time.sleep(0.002)


def _wipe_scratch():
    for d in SCRATCH_DIRS:
        try:
            names = os.listdir(d)
        except OSError:
            continue
        for name in names:
            p = os.path.join(d, name)
            try:
                if os.path.isdir(p) and not os.path.islink(p):
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    os.unlink(p)
            except OSError:
                pass


def reap_children(run, on_other_exit):
    """Reaps every exited child (PID 1 adopts orphans); hands the run's own exit to it."""
    while True:
        try:
            pid, status, rusage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if run is not None and pid == run.pid:
            run.on_main_exit(status, rusage)
        else:
            on_other_exit(pid)


def prepare(seq, defaults):
    """Creates the cgroup for the next run and forks its waiting process into it."""
    cg = "%s/job%d" % (CGROUP_ROOT, seq)
    _remove_cgroup(cg)
    os.mkdir(cg)
    _write(cg + "/memory.swap.max", "0")
    _write(cg + "/memory.oom.group", "1")
    pre = Prefork.create(cg)
    _set_limits(pre, defaults)
    return pre


def _set_limits(pre, limits):
    """Writes the cgroup limits that differ from what the prepared cgroup has."""
    for key, name in (("memoryBytes", "memory.max"), ("pids", "pids.max")):
        if pre.limits.get(key) != limits[key]:
            _write(pre.cgroup + "/" + name, str(limits[key]))
            pre.limits[key] = limits[key]


def discard(pre):
    """Ends a prepared process that will never run (agent shutdown or failure)."""
    os.close(pre.ctl_w)
    for fd in (pre.stdin_w, pre.stdout_r, pre.stderr_r):
        os.close(fd)
    _remove_cgroup(pre.cgroup)


class Run:
    def __init__(self, req, agent, sel, pre):
        self.run_id = req["runId"]
        self.agent = agent
        self.sel = sel
        self.finished = False
        self.deadline = None
        self.exit_status = None
        self.rusage = None
        limits = req["limits"]
        self.output_left = limits["outputBytes"]
        self.output_limited = False
        self.cg = pre.cgroup
        _set_limits(pre, limits)
        self.pid = pre.pid
        self.started = time.monotonic()
        pre.launch(req)
        in_w, out_r, err_r = pre.stdin_w, pre.stdout_r, pre.stderr_r
        self.stdin_fd = in_w
        self.stdin_buf = bytearray(base64.b64decode(req.get("stdinB64") or ""))
        self.stdin_eof = not req.get("stdinOpen", False)
        self.stdin_registered = False
        self.pipes = {}
        for fd, ftype in ((out_r, T_STDOUT), (err_r, T_STDERR)):
            os.set_blocking(fd, False)
            self.pipes[fd] = ftype
            sel.register(fd, selectors.EVENT_READ, ("run", ftype))
        os.set_blocking(in_w, False)
        self._pump_stdin()

    # stdin ---------------------------------------------------------------
    def feed_stdin(self, data):
        if self.stdin_fd is None:
            return
        if data:
            # A program that never reads its stdin must not make the agent
            # buffer without bound: past the cap, input is dropped.
            room = MAX_PENDING_STDIN - len(self.stdin_buf)
            self.stdin_buf += data[: max(0, room)]
        else:
            self.stdin_eof = True
        self._pump_stdin()

    def _pump_stdin(self):
        fd = self.stdin_fd
        if fd is None:
            return
        while self.stdin_buf:
            try:
                n = os.write(fd, self.stdin_buf[:CHUNK])
                del self.stdin_buf[:n]
            except BlockingIOError:
                break
            except OSError:  # the program closed its stdin: nothing more to deliver
                self.stdin_buf.clear()
                self.stdin_eof = True
                break
        want_write = bool(self.stdin_buf)
        if want_write and not self.stdin_registered:
            self.sel.register(fd, selectors.EVENT_WRITE, ("run", "stdin"))
            self.stdin_registered = True
        elif not want_write and self.stdin_registered:
            self.sel.unregister(fd)
            self.stdin_registered = False
        if not self.stdin_buf and self.stdin_eof:
            self._close_stdin()

    def _close_stdin(self):
        if self.stdin_fd is not None:
            if self.stdin_registered:
                self.sel.unregister(self.stdin_fd)
                self.stdin_registered = False
            os.close(self.stdin_fd)
            self.stdin_fd = None

    # output --------------------------------------------------------------
    def on_io(self, key):
        if key.data[1] == "stdin":
            self._pump_stdin()
        else:
            self._read_pipe(key.fd)

    def _read_pipe(self, fd):
        try:
            data = os.read(fd, CHUNK)
        except BlockingIOError:
            return True
        except OSError:
            data = b""
        if not data:
            self.sel.unregister(fd)
            os.close(fd)
            del self.pipes[fd]
            return False
        if self.output_limited:
            return True
        if len(data) > self.output_left:
            data = data[: self.output_left]
            self.output_limited = True
        self.output_left -= len(data)
        if data:
            self.agent.send(self.pipes[fd], struct.pack(">I", self.run_id) + data)
        if self.output_limited:
            _kill_cgroup(self.cg)
        return True

    def signal(self, name):
        sig = SIGNALS.get(name, signal.SIGKILL)
        if sig == signal.SIGKILL:
            _kill_cgroup(self.cg)
            return
        for pid in _read(self.cg + "/cgroup.procs").split():
            try:
                os.kill(int(pid), sig)
            except (OSError, ValueError):
                pass

    # exit ----------------------------------------------------------------
    def on_main_exit(self, status, rusage):
        self.exit_status = status
        self.rusage = rusage
        self.wall_ms = (time.monotonic() - self.started) * 1000
        # Give background writers a moment to flush, then the rest of the group dies.
        self.deadline = time.monotonic() + DRAIN_AFTER_EXIT_S

    def tick(self):
        if self.exit_status is None or self.finished:
            return
        if self.pipes and time.monotonic() < self.deadline:
            return
        self._finish()

    def _finish(self):
        _kill_cgroup(self.cg)
        self._close_stdin()
        end = time.monotonic() + 0.5
        while self.pipes and time.monotonic() < end:
            for fd in list(self.pipes):
                self._read_pipe(fd)
            if self.pipes:
                time.sleep(0.001)
        for fd in list(self.pipes):
            self.sel.unregister(fd)
            os.close(fd)
        self.pipes.clear()
        self.agent.send_json(T_EXIT, self._exit_report())
        self.finished = True
        _remove_cgroup(self.cg)
        _wipe_scratch()

    def _exit_report(self):
        status = self.exit_status
        code = os.waitstatus_to_exitcode(status)
        events = _kv(_read(self.cg + "/memory.events"))
        cpu = _kv(_read(self.cg + "/cpu.stat"))
        peak = _read(self.cg + "/memory.peak").strip()
        ru = self.rusage
        cpu_ms = cpu["usage_usec"] / 1000 if "usage_usec" in cpu else (ru.ru_utime + ru.ru_stime) * 1000
        max_rss_kb = int(peak) // 1024 if peak.isdigit() else ru.ru_maxrss
        return {
            "runId": self.run_id,
            "code": code if code >= 0 else None,
            "signal": signal.Signals(-code).name if code < 0 else None,
            "cpuMs": round(cpu_ms, 3),
            "wallMs": round(self.wall_ms, 3),
            "maxRssKb": max_rss_kb,
            "oomKilled": events.get("oom_kill", 0) > 0 or events.get("oom_group_kill", 0) > 0,
            "outputLimited": self.output_limited,
        }
