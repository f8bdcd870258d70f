"""One run of a user program inside the guest: its stages (compile, then run),
each a process in its own cgroup, with pipes, limits and an exit report
(guest/SPEC.md section 3)."""
import base64
import os
import selectors
import signal
import shutil
import struct
import time

import buildcache
import cgroups
import ptys
from child import Prefork
from frames import CHUNK, DRAIN_AFTER_EXIT_S, T_EXIT, T_STAGE, T_STDERR, T_STDOUT
from workspace import OutputReporter

MAX_PENDING_STDIN = 16 * 1024 * 1024
SIGNALS = {"SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM, "SIGKILL": signal.SIGKILL}
SCRATCH_DIRS = ("/tmp", "/dev/shm", "/var/tmp")
PYTHON_PREFIX = ["/usr/bin/python3", "-u"]


def wipe_scratch():
    """Empties /tmp, /dev/shm and /var/tmp (SPEC 3.4); the agent calls it when nothing runs any more."""
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


def reap_children(runs, on_other_exit):
    """Reaps every exited child (PID 1 adopts orphans); hands a run's own exit to it."""
    while True:
        try:
            pid, status, rusage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        run = next((r for r in runs if r.stage_pid == pid), None)
        if run is not None:
            run.on_main_exit(status, rusage)
        else:
            on_other_exit(pid)


def prepare(seq, memory_bytes, pids, warm=None):
    """Creates the cgroup for a future stage and forks its waiting process into it."""
    cg = cgroups.create_cgroup("job%d" % seq)
    pre = Prefork.create(cg, warm)
    set_limits(pre, {"memoryBytes": memory_bytes, "pids": pids})
    return pre


def set_limits(pre, limits):
    """Writes the cgroup limits that differ from what the prepared cgroup has."""
    for key, name in (("memoryBytes", "memory.max"), ("pids", "pids.max")):
        if pre.limits.get(key) != limits[key]:
            cgroups.write_file(pre.cgroup + "/" + name, str(limits[key]))
            pre.limits[key] = limits[key]


def discard(pre):
    """Ends a prepared process that will never run (agent shutdown, eviction or failure)."""
    os.close(pre.ctl_w)
    for fd in (pre.stdin_w, pre.stdout_r, pre.stderr_r):
        os.close(fd)
    if pre.ready_r is not None:  # a forked interpreter's (a warm runtime's is the agent's to close)
        os.close(pre.ready_r)
        pre.ready_r = None
    cgroups.remove_cgroup(pre.cgroup)


def python_fast_path(stage):
    """The index of the entry in argv when the stage is `python3 -u <entry> [args...]`, which a
    forked warm interpreter runs (SPEC 3.1); else 0 (no fast path)."""
    warm = stage.get("warm")
    argv = stage["argv"]
    fast = bool(warm) and warm["kind"] == "python" and argv[: warm["prefix"]] == PYTHON_PREFIX and len(argv) > len(PYTHON_PREFIX)
    return len(PYTHON_PREFIX) if fast else 0


class Run:
    """The stages of one exec frame, run one after another; a failing stage ends the run."""

    def __init__(self, req, agent, sel):
        self.run_id = req["runId"]
        self.agent = agent
        self.sel = sel
        self.stages = req["stages"]
        self.limits = req["limits"]
        self.files = req["files"]
        self.build_dir = req.get("buildDir")
        # The first stage that actually starts writes the files (a cached compile does not start).
        self.files_pending = True
        self.cache_key = None
        self.compile_output = []
        self.compile_output_bytes = 0
        self.finished = False
        self.deadline = None
        self.index = -1
        self.output_left = self.limits["outputBytes"]
        self.output_limited = False
        self.compile_report = None
        self.stdin_buf = bytearray(base64.b64decode(req.get("stdinB64") or ""))
        self.stdin_eof = not req.get("stdinOpen", False)
        # TTY runs (SPEC 3.10): the last stage runs on a pty of this size; its stdin
        # is typed at the terminal, and end of file is the terminal's Ctrl+D.
        self.tty = ptys.check_size(req["tty"]) if req.get("tty") else None
        self.terminal = bool(req.get("terminal"))
        self.master = None
        self.tty_slave = None
        if self.tty is not None and self.stdin_eof:
            self.stdin_buf += ptys.EOF_CHAR
            self.stdin_eof = False
        self.stdin_fd = None
        self.stdin_registered = False
        self.pipes = {}
        self.stage_pid = None
        self.killed = False
        self.prune = bool(req.get("prune"))
        caps = req.get("outputFiles")
        self.outputs = OutputReporter(self.run_id, caps, self.files, agent) if caps else None
        self._next_stage()

    # stages --------------------------------------------------------------
    def _cached_compile(self, stage):
        """Replays a cached compile of the same sources (SPEC 3.8); True when it did."""
        if stage["name"] != "compile" or self.last_stage or not self.build_dir:
            return False
        self.cache_key = buildcache.key_of(stage, self.files, self.build_dir)
        hit = buildcache.lookup(self.cache_key)
        if hit is None:
            return False
        output, report = hit
        try:
            buildcache.restore(self.cache_key, self.build_dir)
        except OSError:
            return False
        self.agent.send_json(T_STAGE, {"runId": self.run_id, "name": stage["name"], "warm": False, "cached": True})
        for ftype, data in output:
            self._emit(ftype, data)
        self.compile_report = report
        self.cache_key = None
        return True

    def _next_stage(self):
        self.index += 1
        stage = self.stages[self.index]
        if self.index == 0 and self._cached_compile(stage):
            self.index += 1
            stage = self.stages[self.index]
        on_tty = self.tty is not None and self.last_stage
        pre, warm = self.agent.take_process(stage, self.limits, on_tty)
        self.cg = pre.cgroup
        set_limits(pre, {"memoryBytes": stage["memoryBytes"], "pids": self.limits["pids"]})
        self.stage_pid = pre.pid
        self.exit_status = None
        self.rusage = None
        self.deadline = None
        self.agent.send_json(T_STAGE, {"runId": self.run_id, "name": stage["name"], "warm": warm, "cached": False})
        self.started = time.monotonic()
        cgroups.write_file(self.cg + "/cpu.weight", str(cgroups.RUN_CPU_WEIGHT))
        for pid in cgroups.pids_of(self.cg):  # the child and any runtime it started ahead
            try:
                os.setpriority(os.PRIO_PROCESS, pid, 0)
            except OSError:
                pass
        first = self.files_pending
        self.files_pending = False
        tty_path = None
        if on_tty:
            self.master, self.tty_slave, tty_path = ptys.open_pty(*self.tty)
        pre.launch(
            {
                "files": self.files if first else [],
                "prune": self.prune and first,
                "keep": self.agent.held_files() if self.prune and first else [],
                "buildDir": self.build_dir if first else None,
                "argv": stage["argv"],
                "env": stage["env"],
                "limits": self.limits,
                "python": python_fast_path(stage),
                "reseed": pre.generation != self.agent.entropy_generation,
                "tty": tty_path,
            }
        )
        if on_tty:
            # The terminal is the program's stdin, stdout and stderr: one output stream.
            for fd in (pre.stdin_w, pre.stdout_r, pre.stderr_r):
                os.close(fd)
            streams = ((self.master, T_STDOUT),)
            self.stdin_fd = os.dup(self.master)
        else:
            streams = ((pre.stdout_r, T_STDOUT), (pre.stderr_r, T_STDERR))
            self.stdin_fd = pre.stdin_w
        for fd, ftype in streams:
            os.set_blocking(fd, False)
            self.pipes[fd] = ftype
            self.sel.register(fd, selectors.EVENT_READ, ("run", (self, ftype)))
        os.set_blocking(self.stdin_fd, False)
        if self.index < len(self.stages) - 1:
            self._close_stdin()  # only the last stage reads the run's stdin
        else:
            self._pump_stdin()

    @property
    def last_stage(self):
        return self.index == len(self.stages) - 1

    # stdin ---------------------------------------------------------------
    def feed_stdin(self, data):
        if not data and self.tty is not None:
            data = ptys.EOF_CHAR  # end of file at a terminal is a typed Ctrl+D
        if data:
            # A program that never reads its stdin must not make the agent
            # buffer without bound: past the cap, input is dropped.
            room = MAX_PENDING_STDIN - len(self.stdin_buf)
            self.stdin_buf += data[: max(0, room)]
        else:
            self.stdin_eof = True
        if self.last_stage:
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
            self.sel.register(fd, selectors.EVENT_WRITE, ("run", (self, "stdin")))
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
    def on_io(self, fd, what):
        if what == "stdin":
            self._pump_stdin()
        else:
            self._read_pipe(fd)

    def resize(self, cols, rows):
        """A new terminal size: now if the pty exists, else for the run stage when it starts."""
        if self.tty is None:
            raise ValueError("run %d has no terminal (it was not started with tty)" % self.run_id)
        self.tty = ptys.check_size({"cols": cols, "rows": rows})
        if self.master is not None:
            ptys.resize(self.master, *self.tty)

    def _read_pipe(self, fd):
        try:
            data = os.read(fd, CHUNK)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._close_output(fd)
            return
        self._emit(self.pipes[fd], data)

    def _emit(self, ftype, data):
        """Forwards output within the run's budget; keeps a compile's for the build cache."""
        if self.output_limited:
            return
        if len(data) > self.output_left:
            data = data[: self.output_left]
            self.output_limited = True
        self.output_left -= len(data)
        if data:
            self.agent.send(ftype, struct.pack(">I", self.run_id) + data)
            if self.stages[self.index]["name"] == "compile" and self.compile_output_bytes < buildcache.MAX_OUTPUT_BYTES:
                self.compile_output.append((ftype, data))
                self.compile_output_bytes += len(data)
        if self.output_limited:
            cgroups.kill_cgroup(self.cg)

    def _close_output(self, fd):
        self.sel.unregister(fd)
        os.close(fd)
        del self.pipes[fd]
        if fd == self.master:
            self.master = None

    def _close_tty_slave(self):
        if self.tty_slave is not None:
            os.close(self.tty_slave)
            self.tty_slave = None

    def signal(self, name):
        sig = SIGNALS.get(name, signal.SIGKILL)
        if sig == signal.SIGKILL:
            cgroups.kill_cgroup(self.cg)
            self.killed = True
            return
        cgroups.signal_cgroup(self.cg, sig)

    # exit ----------------------------------------------------------------
    def on_main_exit(self, status, rusage):
        self.exit_status = status
        self.rusage = rusage
        self.wall_ms = (time.monotonic() - self.started) * 1000
        # The master reads EIO (our end of output) once nothing else holds the terminal.
        self._close_tty_slave()
        # Give background writers a moment to flush, then the rest of the group dies.
        self.deadline = time.monotonic() + DRAIN_AFTER_EXIT_S

    def tick(self):
        if self.outputs is not None and not self.finished:
            self.outputs.poll()
        if self.exit_status is None or self.finished:
            return
        if self.pipes and time.monotonic() < self.deadline:
            return
        self._end_stage()

    def _end_stage(self):
        cgroups.kill_cgroup(self.cg)
        end = time.monotonic() + 0.5
        while self.pipes and time.monotonic() < end:
            for fd in list(self.pipes):
                self._read_pipe(fd)
            if self.pipes:
                time.sleep(0.001)
        for fd in list(self.pipes):
            self._close_output(fd)
        self._close_tty_slave()
        report = self._stage_report()
        cgroups.remove_cgroup(self.cg)
        ok = report["code"] == 0 and not self.output_limited and not self.killed
        if ok and not self.last_stage:
            self.compile_report = report
            if self.compile_output_bytes < buildcache.MAX_OUTPUT_BYTES:
                buildcache.save(self.cache_key, self.build_dir, self.compile_output, report)
            self.stage_pid = None
            self._next_stage()
            return
        self._close_stdin()
        if self.outputs is not None:
            self.outputs.finish()  # every file frame comes before the exit (SPEC 3.9)
        exit_frame = dict(report, runId=self.run_id, stage=self.stages[self.index]["name"], outputLimited=self.output_limited)
        if self.compile_report is not None:
            exit_frame["compile"] = self.compile_report
        self.agent.send_json(T_EXIT, exit_frame)
        self.finished = True

    def _stage_report(self):
        code = os.waitstatus_to_exitcode(self.exit_status)
        cpu_ms, max_rss_kb, oom = cgroups.stats(self.cg, self.rusage)
        return {
            "code": code if code >= 0 else None,
            "signal": signal.Signals(-code).name if code < 0 else None,
            "cpuMs": cpu_ms,
            "wallMs": round(self.wall_ms, 3),
            "maxRssKb": max_rss_kb,
            "oomKilled": oom,
        }
