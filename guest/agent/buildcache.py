"""Compiled output kept between runs of one VM (guest/SPEC.md 3.8).

After a compile stage succeeds, the agent copies the build directory and what
the compiler printed into a root-only cache, keyed by everything the compile
read: its argv and environment, the request's files and every other file
already in /workspace. A later run with the same key replays the compiler's
output and restores a fresh copy of the build (owned by the user, as a real
compile would leave it) instead of compiling again. The run's user can change
its copy, never the cached one.
"""
import hashlib
import json
import os
import shutil
import stat

CACHE_DIR = "/run/codecell/builds"
MAX_ENTRIES = 4
# Workspaces bigger than this are not hashed: such runs always compile.
MAX_HASHED_BYTES = 16 << 20
MAX_OUTPUT_BYTES = 256 * 1024
WORKSPACE = "/workspace"
USER_UID = USER_GID = 1000


def _workspace_entries(skip):
    """(path, digest) of every file and symlink in /workspace except `skip`; None when too big."""
    out = []
    total = 0
    for dirpath, dirnames, filenames in os.walk(WORKSPACE, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]):
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, WORKSPACE)
            if rel in skip:
                continue
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                out.append((rel, "link:" + os.readlink(path)))
            elif stat.S_ISREG(st.st_mode):
                total += st.st_size
                if total > MAX_HASHED_BYTES:
                    return None
                fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
                try:
                    h = hashlib.sha256()
                    while True:
                        chunk = os.read(fd, 1 << 20)
                        if not chunk:
                            break
                        h.update(chunk)
                finally:
                    os.close(fd)
                out.append((rel, h.hexdigest()))
    return out


def key_of(stage, files, build_dir):
    """The cache key of a compile, or None when it cannot be cached."""
    request = {f["path"]: f["contentB64"] for f in files}
    try:
        existing = _workspace_entries(set(request))
    except OSError:
        return None
    if existing is None:
        return None
    h = hashlib.sha256()
    h.update(json.dumps([stage["argv"], sorted(stage["env"].items()), build_dir, stage["memoryBytes"]]).encode())
    for path in sorted(request):
        h.update(("R%s\0%s\0" % (path, request[path])).encode())
    for path, digest in existing:
        h.update(("W%s\0%s\0" % (path, digest)).encode())
    return h.hexdigest()


def _entry(key):
    return os.path.join(CACHE_DIR, key)


def lookup(key):
    """(output frames, compile report) of a cached compile, or None."""
    if key is None:
        return None
    try:
        with open(os.path.join(_entry(key), "meta.json")) as f:
            meta = json.load(f)
        os.utime(_entry(key))  # most recently used
    except (OSError, ValueError):
        return None
    return [(ftype, bytes.fromhex(data)) for ftype, data in meta["output"]], meta["report"]


def restore(key, build_dir):
    """A fresh, user-owned copy of the cached build at `build_dir`."""
    if os.path.lexists(build_dir):
        if os.path.isdir(build_dir) and not os.path.islink(build_dir):
            shutil.rmtree(build_dir)
        else:
            os.unlink(build_dir)
    shutil.copytree(os.path.join(_entry(key), "build"), build_dir, symlinks=True)
    for dirpath, dirnames, filenames in os.walk(build_dir):
        os.lchown(dirpath, USER_UID, USER_GID)
        for name in dirnames + filenames:
            os.lchown(os.path.join(dirpath, name), USER_UID, USER_GID)


def save(key, build_dir, output, report):
    """Keeps a successful compile (the compiler's processes are gone by now)."""
    if key is None or not os.path.isdir(build_dir) or os.path.islink(build_dir):
        return
    os.makedirs(CACHE_DIR, 0o700, exist_ok=True)
    entry = _entry(key)
    tmp = entry + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        os.mkdir(tmp, 0o700)
        shutil.copytree(build_dir, os.path.join(tmp, "build"), symlinks=True)
        with open(os.path.join(tmp, "meta.json"), "w") as f:
            json.dump({"output": [(t, d.hex()) for t, d in output], "report": report}, f)
        shutil.rmtree(entry, ignore_errors=True)
        os.rename(tmp, entry)
    except OSError:  # e.g. the cache's tmpfs is full: just do not cache this one
        shutil.rmtree(tmp, ignore_errors=True)
        return
    _evict()


def _evict():
    entries = []
    for name in os.listdir(CACHE_DIR):
        p = os.path.join(CACHE_DIR, name)
        if not name.endswith(".tmp"):
            entries.append((os.stat(p).st_mtime, p))
    entries.sort(reverse=True)
    for _mtime, p in entries[MAX_ENTRIES:]:
        shutil.rmtree(p, ignore_errors=True)
