"""CodeCell guest agent: PID 1 inside the microVM (see guest/SPEC.md).

Speaks length-prefixed frames with the host over a virtio-serial port (QEMU)
or a vsock listener (Firecracker), and runs each program's stages as an
unprivileged user in /workspace, each in its own cgroup, streaming
stdout/stderr as produced.

Written in Python because Python is a runtime the image has anyway. Stages
start from processes forked from this pre-initialised interpreter (reset to a
clean state), because a fresh python3 costs ~90 ms under TCG and a fork ~15 ms;
a Python entry runs right in that fork.
"""
import sys

# Modules a plain `python3 main.py` would have loaded by now: a run keeps these
# and re-imports anything else fresh (so a user's random.py shadows the stdlib's).
STARTUP_MODULES = frozenset(sys.modules)

import base64  # noqa: E402
import ctypes  # noqa: E402
import fcntl  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import select  # noqa: E402
import selectors  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import struct  # noqa: E402
import time  # noqa: E402

import cgroups  # noqa: E402  (guest/agent/cgroups.py)
import warm  # noqa: E402  (guest/agent/warm.py)
from child import ENV as RUN_ENV  # noqa: E402  (guest/agent/child.py)
from child import PRELOAD  # noqa: E402
from frames import (  # noqa: E402  (guest/agent/frames.py)
    CHUNK,
    MAX_HOST_FRAME,
    PROTOCOL_VERSION,
    T_ERROR,
    T_EXEC,
    T_PING,
    T_PONG,
    T_PRIME,
    T_READY,
    T_RESEED,
    T_RESIZE,
    T_SIGNAL,
    T_STDIN,
    VSOCK_PORT,
)
from runner import Run, discard, prepare, python_fast_path, reap_children, wipe_scratch  # noqa: E402  (guest/agent/runner.py)

RNDADDENTROPY = 0x40085203
RNDRESEEDCRNG = 0x5207
# What the host asks for by default (sandbox DEFAULT_MEM_MB, RUN_PIDS_MAX): a
# prepared cgroup that already has them needs no cgroup writes at launch.
DEFAULT_MEMORY_BYTES = 128 << 20
DEFAULT_PIDS = 256
PREFORK_DEPTH = 2
# How long `prime` waits for the forked interpreters to finish preparing before it answers.
PREPARED_WAIT_S = 10
# Terminal sessions (a shell, a REPL: SPEC 3.11) a VM runs beside its one program at most.
MAX_TERMINALS = 4
# Writable caches over read-only seeds in the image (SPEC 5.3): name -> (seed, mount point).
CACHE_OVERLAYS = {
    "matplotlib": ("/usr/lib/codecell/seed/matplotlib", "/var/cache/codecell/matplotlib"),
    "go": ("/usr/lib/codecell/seed/go", "/var/cache/codecell/go"),
}
OVERLAY_WORK = "/run/codecell/overlay"
MNT_DETACH = 2
LIBC = ctypes.CDLL(None, use_errno=True)


def log(msg):
    try:
        os.write(2, ("agent: %s\n" % msg).encode())
    except OSError:
        pass


def preload():
    """Imports the packages every data run wants (SPEC 3.7) and freezes the heap for cheap forks.

    Done on the host's `prime` (a VM about to become a snapshot template), so
    every clone has them loaded and a cold boot stays short.
    """
    global PRELOADED
    before = set(sys.modules)
    for name in PRELOAD:
        try:
            __import__(name)
        except Exception as e:  # noqa: BLE001  an image without them still runs everything else
            log("preload of %s failed: %r" % (name, e))
    # Keep the packages themselves and their third-party dependencies; stdlib
    # modules they pulled in are forgotten in each run like every other.
    PRELOADED = frozenset(
        n
        for n in set(sys.modules) - before
        if n.split(".")[0] in PRELOAD or "/dist-packages/" in (getattr(sys.modules[n], "__file__", "") or "")
    )
    gc.collect()
    gc.freeze()


PRELOADED = frozenset()


def mount_overlay(name):
    seed, target = CACHE_OVERLAYS[name]
    upper = "%s/%s/upper" % (OVERLAY_WORK, name)
    work = "%s/%s/work" % (OVERLAY_WORK, name)
    shutil.rmtree("%s/%s" % (OVERLAY_WORK, name), ignore_errors=True)
    os.makedirs(upper)
    os.makedirs(work)
    os.chmod(upper, 0o777)
    opts = ("lowerdir=%s,upperdir=%s,workdir=%s" % (seed, upper, work)).encode()
    if LIBC.mount(b"codecell-cache", target.encode(), b"overlay", 0, opts) != 0:
        log("overlay %s: %s" % (name, os.strerror(ctypes.get_errno())))


def reset_caches():
    """A run that wrote into a cache overlay leaves nothing for the next: remount it fresh."""
    for name, (_seed, target) in CACHE_OVERLAYS.items():
        upper = "%s/%s/upper" % (OVERLAY_WORK, name)
        try:
            dirty = bool(os.listdir(upper))
        except OSError:
            dirty = True
        if dirty:
            LIBC.umount2(target.encode(), MNT_DETACH)
            mount_overlay(name)


class Channel:
    """Frames over one byte-stream fd. Writes block (with poll) so output has backpressure."""

    def __init__(self, fd):
        self.fd = fd
        self.buf = bytearray()
        os.set_blocking(fd, False)

    def send(self, ftype, body):
        data = struct.pack(">IB", len(body) + 1, ftype) + body
        view = memoryview(data)
        while view:
            try:
                n = os.write(self.fd, view)
                view = view[n:]
            except BlockingIOError:
                sel = selectors.DefaultSelector()
                sel.register(self.fd, selectors.EVENT_WRITE)
                sel.select(1.0)
                sel.close()

    def read_frames(self):
        """Returns decoded frames, [] if none complete yet, or None when the host is gone."""
        try:
            data = os.read(self.fd, CHUNK)
        except BlockingIOError:
            return []
        if not data:
            return None
        self.buf += data
        frames = []
        while len(self.buf) >= 5:
            (length,) = struct.unpack_from(">I", self.buf, 0)
            if length < 1 or length > MAX_HOST_FRAME:
                raise ValueError("bad frame length %d" % length)
            if len(self.buf) < 4 + length:
                break
            frames.append((self.buf[4], bytes(self.buf[5 : 4 + length])))
            del self.buf[: 4 + length]
        return frames


def open_channel(mode):
    """Virtio-serial port named 'agent' if present, else a vsock listener (Firecracker)."""
    if mode != "vsock":
        for _ in range(200):
            ports = sorted(os.listdir("/sys/class/virtio-ports")) if os.path.isdir("/sys/class/virtio-ports") else []
            for port in ports:
                if cgroups.read_file("/sys/class/virtio-ports/%s/name" % port).strip() == "agent":
                    return "serial", os.open("/dev/" + port, os.O_RDWR | os.O_CLOEXEC), None
            if mode == "serial":
                time.sleep(0.01)
            else:
                break
    lsock = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    lsock.bind((socket.VMADDR_CID_ANY, VSOCK_PORT))
    lsock.listen(4)
    return "vsock", None, lsock


class Agent:
    def __init__(self, channel_mode):
        self.sel = selectors.DefaultSelector()
        # runId -> Run: at most one program (SPEC 3.1) and MAX_TERMINALS terminal sessions.
        self.runs = {}
        self.prepared = []
        # Counts reseeds (T_RESEED, after a restore): a process forked before the last one
        # carries the template's random state and must reseed at launch.
        self.entropy_generation = 0
        self.seq = 0
        self.channel = None
        self.serial_fd = None
        self.reopen_at = None
        self.warm = warm.WarmPool(self._create_warm, self._discard_warm)
        self.kind, fd, self.listener = open_channel(channel_mode)
        rfd, wfd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(wfd)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        self.sel.register(rfd, selectors.EVENT_READ, ("signal", None))
        self.prepare_next()
        if fd is not None:
            self.attach(fd)
        else:
            self.sel.register(self.listener, selectors.EVENT_READ, ("accept", None))

    def attach(self, fd):
        self.channel = Channel(fd)
        self.sel.register(fd, selectors.EVENT_READ, ("channel", None))
        self.send_ready(T_READY)

    def detach(self):
        fd = self.channel.fd
        self.sel.unregister(fd)
        self.channel = None
        if self.kind == "vsock":
            os.close(fd)
        else:
            # virtio-serial: the host side is not connected (e.g. between snapshot
            # and restore). Poll until it is back instead of spinning on EOF.
            self.reopen_at = time.monotonic() + 0.02
            self.serial_fd = fd

    def send(self, ftype, body):
        """Sends a frame if the host is connected; output of a run whose host left is dropped."""
        if self.channel is not None:
            self.channel.send(ftype, body)

    def send_json(self, ftype, obj):
        self.send(ftype, json.dumps(obj, separators=(",", ":")).encode())

    def send_ready(self, ftype, extra=None):
        info = {
            "version": PROTOCOL_VERSION,
            "python": sys.version.split()[0],
            "uptimeMs": time.monotonic() * 1000,
            "warm": [{"kind": key[0], "ready": pre.ready} for key, pre in self.warm.ready.items()],
        }
        if extra:
            info.update(extra)
        self.send_json(ftype, info)

    def handle_frame(self, ftype, body):
        if ftype == T_PING:
            self.send_ready(T_PONG, json.loads(body or b"{}"))
        elif ftype == T_EXEC:
            req = json.loads(body)
            refusal = self.exec_refusal(req)
            if refusal is not None:
                self.send_json(T_ERROR, {"runId": req.get("runId"), "message": refusal})
                return
            try:
                run = Run(req, self, self.sel)
                self.runs[run.run_id] = run
            except Exception as e:
                self.send_json(T_ERROR, {"runId": req.get("runId"), "message": "could not start the run: %r" % (e,)})
                self.prepare_next()
        elif ftype == T_STDIN:
            (run_id,) = struct.unpack_from(">I", body, 0)
            run = self.runs.get(run_id)
            if run is not None:
                run.feed_stdin(body[4:])
        elif ftype == T_SIGNAL:
            req = json.loads(body)
            run = self.runs.get(req.get("runId"))
            if run is not None:
                run.signal(req.get("signal", "SIGKILL"))
        elif ftype == T_RESIZE:
            req = json.loads(body)
            run = self.runs.get(req.get("runId"))
            if run is not None:
                try:
                    run.resize(req["cols"], req["rows"])
                except (KeyError, TypeError, ValueError, OSError) as e:  # a bad size must not end the run
                    log("resize of run %r refused: %s" % (req.get("runId"), e))
        elif ftype == T_RESEED:
            req = json.loads(body)
            self.reseed(req)
            self.send_ready(T_READY, {"seq": req.get("seq")})
        elif ftype == T_PRIME:
            req = json.loads(body or b"{}")
            if not PRELOADED:
                preload()
                # Processes forked before the preload lack it: fork them again.
                for pre in self.prepared:
                    discard(pre)
                self.prepared = []
                self.prepare_next()
            # A snapshot taken now holds them ready: reseeded and waiting (3.7).
            self.wait_prepared(PREPARED_WAIT_S)
            self.send_ready(T_READY, {"seq": req.get("seq")})
        else:
            self.send_json(T_ERROR, {"runId": None, "message": "unknown frame type %d" % ftype})

    def exec_refusal(self, req):
        """Why an exec cannot start now, or None: one program at a time, beside a few terminals."""
        if req.get("runId") in self.runs:
            return "run %r is already active" % req.get("runId")
        if req.get("terminal"):
            if sum(1 for r in self.runs.values() if r.terminal) >= MAX_TERMINALS:
                return "%d terminal sessions are open already" % MAX_TERMINALS
        elif any(not r.terminal for r in self.runs.values()):
            return "a run is already active"
        return None

    # processes for stages ---------------------------------------------------
    def prepare_next(self):
        """Keeps PREFORK_DEPTH stage processes forked ahead of time (see child.py).

        Two, so a compiled run gets one for each stage, and a run that follows
        another at once gets a process whose preparation finished long ago.
        """
        while len(self.prepared) < PREFORK_DEPTH:
            self.seq += 1
            pre = prepare(self.seq, DEFAULT_MEMORY_BYTES, DEFAULT_PIDS)
            pre.generation = self.entropy_generation
            self.prepared.append(pre)

    def take_process(self, stage, limits, tty=False):
        """The process a stage starts in: a warm runtime that fits it, else a forked interpreter.

        A TTY stage never takes a warm runtime: its stdio are pipes already.
        """
        pre = None if tty else self.warm.take(warm.warm_key(stage, limits))
        if pre is not None:
            self._close_ready_pipe(pre)
            return pre, True
        if not self.prepared:
            self.prepare_next()
        pre = self.prepared.pop(0)
        if pre.ready_r is not None:  # never registered: only wait_prepared reads it
            os.close(pre.ready_r)
            pre.ready_r = None
        return pre, python_fast_path(stage) > 0

    def wait_prepared(self, timeout_s):
        """Waits (at most `timeout_s`) until every forked interpreter finished preparing."""
        end = time.monotonic() + timeout_s
        for pre in self.prepared:
            while not pre.ready and pre.ready_r is not None:
                left = end - time.monotonic()
                if left <= 0:
                    log("prepared process %d not ready after %.0f s" % (pre.pid, timeout_s))
                    return
                r, _, _ = select.select([pre.ready_r], [], [], left)
                if r:
                    pre.ready = True  # a byte, or EOF: it died, and the reaper replaces it
                    os.close(pre.ready_r)
                    pre.ready_r = None

    def _create_warm(self, key, memory_bytes):
        self.seq += 1
        pre = prepare(self.seq, memory_bytes, DEFAULT_PIDS, key)
        os.set_blocking(pre.ready_r, False)
        self.sel.register(pre.ready_r, selectors.EVENT_READ, ("warm-ready", pre))
        return pre

    def _close_ready_pipe(self, pre):
        if pre.ready_r is not None:
            self.sel.unregister(pre.ready_r)
            os.close(pre.ready_r)
            pre.ready_r = None

    def _discard_warm(self, pre):
        self._close_ready_pipe(pre)
        discard(pre)

    def held_files(self):
        """What the open terminal sessions wrote that their rooms may not have yet (a pruning run keeps it)."""
        keep = set()
        for r in self.runs.values():
            if r.terminal and r.outputs is not None:
                keep |= r.outputs.held()
        return sorted(keep)

    def after_run(self, run):
        self.prepare_next()
        if not run.terminal:
            for stage in run.stages:
                self.warm.prepare(warm.warm_key(stage, run.limits), stage["memoryBytes"])
        # Scratch space and caches are the session's own while a shell or REPL is open (SPEC 3.11).
        if not self.runs:
            reset_caches()
            wipe_scratch()

    def on_other_exit(self, pid):
        for pre in list(self.prepared):
            if pre.pid == pid:  # should not happen; recover
                log("prepared process %d died" % pid)
                discard(pre)
                self.prepared.remove(pre)
        self.warm.forget_pid(pid)
        self.prepare_next()

    def reseed(self, req):
        self.entropy_generation += 1
        entropy = base64.b64decode(req.get("entropyB64", ""))
        try:
            fd = os.open("/dev/urandom", os.O_WRONLY)
            try:
                fcntl.ioctl(fd, RNDADDENTROPY, struct.pack("ii", len(entropy) * 8, len(entropy)) + entropy)
                fcntl.ioctl(fd, RNDRESEEDCRNG)
            finally:
                os.close(fd)
        except OSError as e:
            log("reseed failed: %s" % e)
        now = req.get("nowMs")
        if isinstance(now, (int, float)):
            try:
                time.clock_settime(time.CLOCK_REALTIME, now / 1000.0)
            except OSError as e:
                log("clock_settime failed: %s" % e)

    # loop --------------------------------------------------------------------
    def loop(self):
        while True:
            timeout = None
            if self.reopen_at is not None:
                timeout = max(0.0, self.reopen_at - time.monotonic())
            for run in self.runs.values():
                if run.deadline is not None:
                    t = max(0.0, run.deadline - time.monotonic())
                    timeout = t if timeout is None else min(timeout, t)
                if run.outputs is not None:
                    # Files a long run writes are sent as they appear (SPEC 3.9).
                    t = max(0.0, run.outputs.next_poll - time.monotonic())
                    timeout = t if timeout is None else min(timeout, t)
            for key, _ in self.sel.select(timeout):
                self.dispatch(key)
            for run in list(self.runs.values()):
                run.tick()
                if run.finished:
                    del self.runs[run.run_id]
                    self.after_run(run)
            if self.reopen_at is not None and time.monotonic() >= self.reopen_at:
                self.reopen_at = None
                fd, self.serial_fd = self.serial_fd, None
                self.channel = Channel(fd)
                self.sel.register(fd, selectors.EVENT_READ, ("channel", None))

    def dispatch(self, key):
        kind, _obj = key.data
        if kind == "signal":
            try:
                os.read(key.fd, 4096)
            except BlockingIOError:
                pass
            reap_children(self.runs.values(), self.on_other_exit)
        elif kind == "accept":
            conn, _addr = self.listener.accept()
            if self.channel is not None:
                self.detach()
            self.attach(os.dup(conn.fileno()))
            conn.close()
        elif kind == "channel" and self.channel is not None:
            frames = self.channel.read_frames()
            if frames is None:
                self.detach()
                return
            for ftype, body in frames:
                try:
                    self.handle_frame(ftype, body)
                except Exception as e:  # a bad frame must never take the agent down
                    self.send_json(T_ERROR, {"runId": None, "message": "bad frame: %r" % (e,)})
        elif kind == "run":
            run, what = _obj
            if self.runs.get(run.run_id) is run:
                run.on_io(key.fd, what)
        elif kind == "warm-ready":
            # A byte: primed and waiting. EOF: it died; the reaper removes it.
            try:
                got = os.read(key.fd, 16)
            except BlockingIOError:
                return
            _kind, pre = key.data
            pre.ready = bool(got)
            self._close_ready_pipe(pre)


def main():
    # The OOM killer must pick the program, never the agent.
    cgroups.write_file("/proc/self/oom_score_adj", "-1000")
    cgroups.setup_cgroups()
    for name in CACHE_OVERLAYS:
        mount_overlay(name)
    # Unknown kernel arguments reach PID 1 as environment: `ccchannel` picks the channel.
    channel_mode = os.environ.get("ccchannel", "auto")
    # Runs are forked from us: give them their environment once, here.
    os.environ.clear()
    os.environ.update(RUN_ENV)
    try:
        Agent(channel_mode).loop()
    except BaseException as e:  # PID 1 must not exit: that panics the guest
        log("fatal: %r" % (e,))
        import traceback

        traceback.print_exc()
        os.execv(sys.executable, [sys.executable] + sys.argv)


if __name__ == "__main__":
    main()
