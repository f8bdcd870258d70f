"""/workspace between the host and a program (guest/SPEC.md section 3.9).

Before a run that asks for it, every file the request does not bring is
deleted (prune, done by the run's process as the unprivileged user), so a
session's workspace holds exactly the room's files. During and after the run,
files created or changed are sent to the host as `file` frames followed by
their content in `content` frames, within the run's caps.

The agent reads those files as root while the program may still be running,
so it never follows a symbolic link: every directory is opened with
O_NOFOLLOW relative to its parent, the file itself with O_NOFOLLOW, and only
regular files owned by the run's user are read.
"""
import base64
import os
import stat
import struct
import time

from frames import CHUNK, T_FILE, T_CONTENT

WORKSPACE = "/workspace"
# The host's WORKSPACE_IGNORED_DIRS: tool state in $HOME (= /workspace), never reported nor pruned.
IGNORED_DIRS = frozenset(("__pycache__", ".cache", ".config", ".local", "node_modules"))
USER_UID = 1000
# While a run goes on, files are looked at this often; one unchanged since the last look is sent.
POLL_INTERVAL_S = 1.0
# A pruning run keeps a file a terminal session wrote that its reports may not
# have brought into the room yet: one still unsent, or sent this recently.
HOLD_S = 5.0
# Entries one scan looks at, at most (a program making millions of files must not stall the agent).
MAX_SCAN_ENTRIES = 20000
MAX_DEPTH = 32
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _entries(dirfd):
    try:
        return os.listdir(dirfd)
    except OSError:
        return []


def scan():
    """{relative path: (size, mtime_ns, inode)} of the regular files under /workspace, outside ignored folders."""
    out = {}
    budget = [MAX_SCAN_ENTRIES]

    def visit(dirfd, prefix, depth):
        for name in sorted(_entries(dirfd)):
            budget[0] -= 1
            if budget[0] < 0:
                return
            try:
                st = os.stat(name, dir_fd=dirfd, follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode):
                out[prefix + name] = (st.st_size, st.st_mtime_ns, st.st_ino)
            elif stat.S_ISDIR(st.st_mode) and name not in IGNORED_DIRS and depth < MAX_DEPTH:
                try:
                    fd = os.open(name, DIR_FLAGS, dir_fd=dirfd)
                except OSError:
                    continue
                try:
                    visit(fd, prefix + name + "/", depth + 1)
                finally:
                    os.close(fd)

    root = os.open(WORKSPACE, DIR_FLAGS)
    try:
        visit(root, "", 0)
    finally:
        os.close(root)
    return out


def read_file(path, limit):
    """(size, bytes or None past `limit`) of a regular file of the run's user, or None; never follows a link."""
    parts = path.split("/")
    dirfd = os.open(WORKSPACE, DIR_FLAGS)
    try:
        for part in parts[:-1]:
            nxt = os.open(part, DIR_FLAGS, dir_fd=dirfd)
            os.close(dirfd)
            dirfd = nxt
        fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dirfd)
    except OSError:
        return None
    finally:
        os.close(dirfd)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != USER_UID:
            return None
        if st.st_size > limit:
            return st.st_size, None
        chunks = []
        left = limit + 1
        while left > 0:
            data = os.read(fd, min(left, 1 << 20))
            if not data:
                break
            chunks.append(data)
            left -= len(data)
        data = b"".join(chunks)
        return (len(data), None) if len(data) > limit else (len(data), data)
    finally:
        os.close(fd)


def prune(keep):
    """Deletes everything under /workspace but the paths in `keep` and ignored folders (as the run's user)."""
    keep = set(keep)
    dirs = {"/".join(p.split("/")[:i]) for p in keep for i in range(1, p.count("/") + 1)}

    def visit(dirfd, prefix, depth):
        for name in _entries(dirfd):
            rel = prefix + name
            try:
                st = os.stat(name, dir_fd=dirfd, follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(st.st_mode):
                if name in IGNORED_DIRS or depth >= MAX_DEPTH:
                    continue
                try:
                    fd = os.open(name, DIR_FLAGS, dir_fd=dirfd)
                except OSError:
                    continue
                try:
                    visit(fd, rel + "/", depth + 1)
                finally:
                    os.close(fd)
                if rel not in dirs:
                    try:
                        os.rmdir(name, dir_fd=dirfd)
                    except OSError:
                        pass  # not empty: it holds ignored tool state
            elif rel not in keep or not stat.S_ISREG(st.st_mode):
                try:
                    os.unlink(name, dir_fd=dirfd)
                except OSError:
                    pass

    root = os.open(WORKSPACE, DIR_FLAGS)
    try:
        visit(root, "", 0)
    finally:
        os.close(root)


class OutputReporter:
    """Sends the files one run creates or changes, within its caps (maxFileBytes, maxRunBytes, maxFiles)."""

    def __init__(self, run_id, caps, request_files, agent):
        self.run_id = run_id
        self.caps = caps
        self.agent = agent
        # Taken before the first stage writes the request's files.
        self.before = scan()
        self.request = {f["path"]: f["contentB64"] for f in request_files}
        self.sent = {}
        # path -> time.monotonic() of its last report
        self.sent_at = {}
        self.last_seen = {}
        self.count = 0
        self.bytes = 0
        self.next_poll = time.monotonic() + POLL_INTERVAL_S

    def _changed(self, path, stamp):
        if self.sent.get(path) == stamp:
            return False
        if path in self.request:
            wanted = base64.b64decode(self.request[path])
            if stamp[0] == len(wanted):
                got = read_file(path, len(wanted))
                if got is not None and got[1] == wanted:
                    self.sent[path] = stamp  # what the request wrote, untouched
                    return False
            return True
        return self.before.get(path) != stamp

    def _send_file(self, path, stamp):
        if self.count >= self.caps["maxFiles"]:
            return
        limit = min(self.caps["maxFileBytes"], max(0, self.caps["maxRunBytes"] - self.bytes))
        got = read_file(path, limit)
        if got is None:
            return
        size, data = got
        self.count += 1
        self.sent[path] = stamp
        self.sent_at[path] = time.monotonic()
        self.agent.send_json(T_FILE, {"runId": self.run_id, "path": path, "size": size, "truncated": data is None})
        if data:
            self.bytes += len(data)
            prefix = struct.pack(">I", self.run_id)
            for i in range(0, len(data), CHUNK):
                self.agent.send(T_CONTENT, prefix + data[i : i + CHUNK])

    def poll(self):
        """While the run goes on: sends files that changed and then stayed the same for a poll interval."""
        now = time.monotonic()
        if now < self.next_poll:
            return
        self.next_poll = now + POLL_INTERVAL_S
        seen = scan()
        for path, stamp in seen.items():
            if self.last_seen.get(path) == stamp and self._changed(path, stamp):
                self._send_file(path, stamp)
        self.last_seen = seen

    def held(self):
        """Paths a pruning run must not delete (a terminal session's, SPEC 3.9): changed and not yet
        reported, or reported in the last HOLD_S, so the room may not have them yet."""
        now = time.monotonic()
        keep = {p for p, t in self.sent_at.items() if now - t < HOLD_S}
        keep.update(p for p, stamp in scan().items() if self._changed(p, stamp))
        return keep

    def finish(self):
        """After the last stage (nothing of the run is left alive): sends every file still unsent."""
        for path, stamp in scan().items():
            if self._changed(path, stamp):
                self._send_file(path, stamp)
